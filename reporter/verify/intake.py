"""Reports taken by staff for someone else (issue 15, part 3): a helpline call, outreach, a
meeting or a walk-in. The moderator's or coordinator's browser seals the report to the
province's case key, the national key and the recovery key (as the reporter's own JS path
does); the server checks the envelope and stores it through the same accept() as the public
form, with the source as its channel, and hands back the receipt once, for her to read out or
write on a card. The audit log records that an intake happened, never what it said."""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask import Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import generate_csrf

from reporter.config import Settings
from reporter.crypto import receipts
from reporter.domain import gazetteer
from reporter.domain.enums import Channel, Role
from reporter.domain.payload import STAFF_SOURCES
from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES
from reporter.models import audit, db
from reporter.models.private import IntakeToken

# The public intake's storage and single-use form ids: one accept() for every channel
# (the USSD gateway uses it too). They move below both blueprints with issue 14's services.
from reporter.services.intake import SubmissionRefused, accept, check_sealed
from reporter.services.keys import KeyMissing, load_keyring
from reporter.services.tokens import AlreadyAccepted, FormTokenInvalid, FormTokens, Shown, tidy
from reporter.verify import bp
from reporter.web.auth import allow, current_staff, may_see_province
from reporter.web.extensions import limiter
from reporter.web.i18n import LANGUAGE_NAMES
from reporter.web.json import json_error

TAKERS = (Role.MODERATOR, Role.COORDINATOR)
SOURCE_LABELS = {
    Channel.HELPLINE: "Helpline call",
    Channel.OUTREACH: "Outreach",
    Channel.MEETING: "Meeting",
    Channel.WALK_IN: "Walk-in at an office",
}
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MIN_TOWN_POPULATION = 20_000  # as the public form lists them; smaller places are typed


def _settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def _tokens() -> FormTokens:
    return FormTokens(_settings().secret_key)


def _my_provinces() -> dict[str, str]:
    staff = current_staff()
    assert staff is not None
    return {code: name for code, name in PROVINCES.items() if may_see_province(staff, code)}


@bp.get("/intake")
@allow(*TAKERS)
def intake_page() -> str:
    """The public form's fields, plus where the report came from and what she agreed to."""
    provinces = _my_provinces()
    towns = {
        code: [t for t in gazetteer.towns_in(code) if t.population >= MIN_TOWN_POPULATION]
        for code in provinces
    }
    today = dt.date.today()
    return render_template(
        "verify/intake.html",
        categories=CATEGORIES,
        perpetrators=PERPETRATORS,
        provinces=provinces,
        towns=towns,
        months=MONTHS,
        years=range(today.year, today.year - 6, -1),
        sources=SOURCE_LABELS,
        languages={
            c: LANGUAGE_NAMES.get(c, c) for c in ("en", "zu", "xh", "af", "st", "tn", "nso")
        },
        form_id=_tokens().issue(),
        max_files=_settings().max_attachments,
    )


def _answer(shown: Shown | None) -> tuple[Response, int]:
    """The receipt (16 digits, grouped) and a fresh form id for the next report."""
    fresh = {"form_id": _tokens().issue(), "csrf_token": generate_csrf()}
    if shown is None:  # sent before and its receipt no longer kept: never a second report
        return jsonify(
            error="This report was already filed; its receipt is no longer shown.", **fresh
        ), 409
    return jsonify(
        receipt=receipts.grouped(shown.receipt), channel=shown.channel, files=shown.files, **fresh
    ), 200


@bp.post("/intake")
@allow(*TAKERS)
@limiter.limit("60 per hour")
def intake_submit() -> tuple[Response, int]:
    """Store a report sealed in this browser; the answer carries its receipt, shown once."""
    staff = current_staff()
    assert staff is not None
    form = request.form
    tokens = _tokens()
    try:
        token = tokens.check(form.get("form_id", ""))
    except FormTokenInvalid:
        return json_error("This form is too old. Nothing was saved. Send it again.")
    earlier = db.session().get(IntakeToken, tokens.lookup(token))
    if earlier is not None:  # a double click or a resend: the same report, the same receipt
        return _answer(tokens.open_row(token, earlier))
    source, province = form.get("source", ""), form.get("province", "")
    if source not in STAFF_SOURCES:
        return json_error("Choose where the report came from.")
    if province not in PROVINCES:
        return json_error("Choose the province where it happened.")
    if not may_see_province(staff, province):
        return json_error("You take reports for your own provinces only.", 403)
    try:
        keyring = load_keyring(db.session())
    except KeyMissing:
        return json_error("The platform's keys are not set up.", 503)
    try:
        checked = check_sealed(
            keyring,
            province,
            form.get("envelope", ""),
            form.get("attachment_headers", ""),
            request.files.getlist("attachment"),
            _settings(),
        )
    except SubmissionRefused as exc:
        return json_error(str(exc))
    submission = dataclasses.replace(checked, channel=source)
    # in the report's own transaction: who took a report and from which door, never its content
    audit.record(db.session(), staff.id, "intake", f"{source}:{province}")
    try:
        receipt = accept(db.session(), submission, _settings(), once=(tokens, token))
    except AlreadyAccepted as exc:
        return _answer(exc.shown)
    tidy(db.session())
    db.session().commit()
    return _answer(Shown(receipt, source, len(submission.files)))
