"""Report intake views: the form, the receipt, the reporter's inbox."""

from __future__ import annotations

import logging
import secrets

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from reporter import db, receipts
from reporter.config import Settings
from reporter.extensions import PER_SESSION_KEY, global_key, limiter
from reporter.forms import bp, inbox, intake
from reporter.forms.forms import ReceiptForm, ReplyForm, ReportForm
from reporter.keys import KeyMissing, load_keyring
from reporter.vocabulary import PROVINCES

log = logging.getLogger(__name__)
FORM_NONCE = "form_id"


def settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def ensure_rate_token() -> None:
    """A random per-session token that keys the per-session limits (never the address)."""
    if PER_SESSION_KEY not in session:
        session[PER_SESSION_KEY] = secrets.token_urlsafe(12)


def _keyring_or_503():  # type: ignore[no-untyped-def]
    try:
        return load_keyring(db.session())
    except KeyMissing:
        log.warning("report refused: the platform's keys are not set up")
        abort(503)


def _render_form(form: ReportForm, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    ensure_rate_token()
    session[FORM_NONCE] = secrets.token_urlsafe(16)
    keyring = _keyring_or_503()
    return render_template("forms/report.html", form=form, keys=keyring.as_json(),
                           form_id=session[FORM_NONCE], error=error), status


@bp.get("/report")
def report() -> tuple[str, int]:
    """The report form (works with JavaScript off)."""
    return _render_form(ReportForm())


@bp.get("/keys.json")
def keys_json() -> Response:
    """The public halves of the case keys, for browsers that seal reports."""
    return jsonify(_keyring_or_503().as_json())


@bp.post("/report")
@limiter.limit(lambda: settings().extra.get("X_REPORT_LIMIT", "5 per 10 minutes;30 per day"))
@limiter.limit(lambda: settings().extra.get("X_REPORT_GLOBAL_LIMIT", "300 per minute"),
               key_func=global_key, scope="report-global")
def submit() -> tuple[str, int]:
    """Accept a report: sealed in the browser (JS) or sealed here on arrival (no JS)."""
    expected = session.pop(FORM_NONCE, None)
    # compared as bytes: compare_digest raises TypeError on non-ASCII str (a forged form_id)
    if not expected or not secrets.compare_digest(str(expected).encode(),
                                                  request.form.get(FORM_NONCE, "").encode()):
        form = ReportForm()
        return _render_form(form, 400, _("This form was already sent, or it is too old. "
                                         "Nothing new was saved. Check your words and send "
                                         "again."))
    cfg = settings()
    keyring = _keyring_or_503()
    if request.form.get("sealed") == "1":
        province = request.form.get("province", "")
        if province not in PROVINCES:
            return _render_form(ReportForm(), 400, _("Choose the province where it happened."))
        try:
            submission = intake.check_sealed(
                keyring, province, request.form.get("envelope", ""),
                request.form.get("attachment_headers", ""),
                request.files.getlist("attachment"), cfg)
        except intake.SubmissionRefused as exc:
            return _render_form(ReportForm(), 400, str(exc))
    else:
        form = ReportForm()
        if not form.validate():
            problem = (form.website.errors[0] if form.website.errors
                       else _("Please check the marked answers."))
            return _render_form(form, 400, str(problem))
        recipients = keyring.recipients(form.province.data)
        try:
            files, described = intake.seal_uploads(form.attachments.data or [], recipients, cfg)
        except intake.SubmissionRefused as exc:
            return _render_form(form, 400, str(exc))
        payload = intake.build_payload(form, described, str(get_locale() or "en"))
        from reporter import envelope

        sealed = envelope.seal(payload, recipients)
        del payload
        submission = intake.Submission(form.province.data, "web-nojs", sealed, files)
    receipt = intake.accept(db.session(), submission, cfg)
    return render_template("forms/receipt.html", receipt=receipts.grouped(receipt),
                           channel=submission.channel,
                           files=len(submission.files)), 200


@bp.get("/followup")
def followup() -> str:
    """Receipt log-in, or the inbox when the session still holds a short-lived reference."""
    ensure_rate_token()
    opened = inbox.resume(session, db.session(), settings().secret_key)
    if opened is None:
        return render_template("forms/followup.html", form=ReceiptForm())
    return _inbox_page(opened)


def _inbox_page(opened: inbox.Opened, reply_form: ReplyForm | None = None) -> str:
    return render_template("forms/inbox.html", report=opened.report,
                           messages=inbox.messages(opened), form=reply_form or ReplyForm())


@bp.post("/followup")
@limiter.limit(lambda: settings().extra.get("X_RECEIPT_LIMIT", "10 per 10 minutes"))
@limiter.limit(lambda: settings().extra.get("X_RECEIPT_GLOBAL_LIMIT", "60 per minute"),
               key_func=global_key, scope="receipt-global")
def followup_login() -> tuple[str, int]:
    """Log in with the receipt (each try costs one Argon2id, so guessing is capped)."""
    form = ReceiptForm()
    if not form.validate():
        return render_template("forms/followup.html", form=form), 400
    try:
        opened = inbox.login(db.session(), form.receipt.data, intake.hashing(settings()))
    except receipts.ReceiptMalformed:
        form.receipt.errors = [_("A receipt is 16 digits.")]
        return render_template("forms/followup.html", form=form), 400
    except receipts.ReceiptUnknown:
        form.receipt.errors = [_("We could not find this receipt. Check the digits. Receipts "
                                 "stop working after a year.")]
        return render_template("forms/followup.html", form=form), 404
    session.clear()
    ensure_rate_token()
    inbox.remember(session, opened, settings().secret_key)
    return _inbox_page(opened), 200


@bp.post("/followup/reply")
@limiter.limit("20 per hour")
def followup_reply() -> Response | tuple[str, int]:
    """Send an answer to the moderators (sealed to the case keys)."""
    opened = inbox.resume(session, db.session(), settings().secret_key)
    if opened is None:
        return redirect(url_for("forms.followup"), code=303)
    form = ReplyForm()
    if not form.validate():
        return _inbox_page(opened, form), 400
    inbox.reply(db.session(), opened, _keyring_or_503(), form.message.data)
    return redirect(url_for("forms.followup", sent=1), code=303)


@bp.post("/followup/logout")
def followup_logout() -> Response:
    """Forget the inbox reference (and the whole session)."""
    session.clear()
    return redirect(url_for("forms.followup"), code=303)


@bp.get("/api/v1/towns")
def towns() -> Response | tuple[Response, int]:
    """Towns of one province from the offline gazetteer (for the optional map pin)."""
    from reporter import gazetteer

    province = request.args.get("province", "")
    if province not in PROVINCES:
        return jsonify(error="province must be one of " + ", ".join(PROVINCES)), 400
    resp = jsonify([{"id": t.id, "name": t.name, "lat": t.lat, "lon": t.lon}
                    for t in gazetteer.towns_in(province)])
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
