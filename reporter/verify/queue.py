"""The moderator's queue and the actions on a report. The server hands out envelopes only to
staff whose role and provinces cover the report; the browser decrypts them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response as FlaskResponse
from flask import abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from reporter.crypto import envelope
from reporter.domain import gazetteer, policy
from reporter.domain.enums import Direction, ReportStatus
from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES
from reporter.models import audit, db
from reporter.models.private import (
    FINAL_STATUSES,
    REPORT_STATUSES,
    Attachment,
    Message,
    Receipt,
    Report,
)
from reporter.models.staff import Staff
from reporter.services.keys import KeyMissing, load_keyring
from reporter.verify import bp
from reporter.verify.forms import DuplicateForm, PublishForm, ReasonForm
from reporter.web.auth import allow, current_staff, may_see_province
from reporter.web.json import json_body, json_error

CASEWORK = policy.CASEWORK
SORTS = {"received": Report.received_on, "province": Report.province, "status": Report.status}

# What staff read instead of the stored codes (staff pages are English).
STATUS_LABELS = {
    "new": "New",
    "in_review": "In review",
    "needs_info": "Needs information",
    "verified": "Verified",
    "rejected": "Rejected",
    "duplicate": "Duplicate",
}
CHANNEL_LABELS = {
    "web-js": "Web, sealed in her browser",
    "web-nojs": "Web, no JavaScript",
    "sms": "SMS",
    "ussd": "USSD (sealed on arrival)",
    "helpline": "Helpline / call-back request",
}
# Message.direction values: the reporter's inbox lists only INBOX_DIRECTIONS; a staff-only
# note (a reason for needs-info or reject) is STAFF_NOTE and never reaches her.
TO_REPORTER, FROM_REPORTER, STAFF_NOTE = (
    Direction.TO_REPORTER,
    Direction.FROM_REPORTER,
    Direction.STAFF_NOTE,
)
SHORT_REF = 6


def short_ref(report_id: str) -> str:
    """The first characters of the id, enough to tell a week's reports apart."""
    return report_id[:SHORT_REF]


def _labels() -> dict[str, dict[str, str]]:
    """The label of every code the decrypted payload may hold (rendered by staff.js)."""
    return {
        "categories": {t.value: str(t.label) for t in CATEGORIES},
        "perpetrators": {t.value: str(t.label) for t in PERPETRATORS},
        "provinces": dict(PROVINCES),
        "statuses": STATUS_LABELS,
        "channels": CHANNEL_LABELS,
    }


def _visible(query: Any) -> Any:
    staff = current_staff()
    assert staff is not None
    visible = policy.visible_provinces(staff.roles, staff.provinces)
    return query if visible is None else query.where(Report.province.in_(visible))


def _report_or_403(report_id: str) -> Report:
    if len(report_id) > 40:
        abort(404)
    report = db.session().get(Report, report_id)
    if report is None:
        abort(404)
    staff = current_staff()
    assert staff is not None
    if not may_see_province(staff, report.province):
        abort(403)
    return report


@bp.get("/queue")
@allow(*CASEWORK)
def queue() -> tuple[str, int] | str:
    """Reports of my provinces: metadata only (the server has nothing else)."""
    sort = request.args.get("sort", "received")
    status = request.args.get("status", "")
    if sort not in SORTS or (status and status not in REPORT_STATUSES):
        abort(400)
    sess = db.session()
    files = (
        select(func.count(Attachment.id))
        .where(Attachment.report_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )
    assignee = (
        select(Staff.login)
        .where(Staff.id == Report.assigned_to)
        .correlate(Report)
        .scalar_subquery()
    )
    q = _visible(select(Report, files.label("files"), assignee.label("assignee")))
    if status:
        q = q.where(Report.status == status)
    order = SORTS[sort]
    rows = sess.execute(
        q.order_by(
            order.desc() if sort == "received" else order, Report.received_on.desc(), Report.id
        ).limit(500)
    ).all()
    counts = dict(
        sess.execute(_visible(select(Report.status, func.count()).group_by(Report.status)))
        .tuples()
        .all()
    )
    return render_template(
        "verify/queue.html",
        rows=rows,
        counts=counts,
        sort=sort,
        status=status,
        statuses=REPORT_STATUSES,
        provinces=PROVINCES,
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        short_ref=short_ref,
    )


def _town_options(province: str) -> list[tuple[int, str]]:
    """The province's towns by name, for the publish form's list; a name that occurs twice
    gets its size beside it."""
    towns = gazetteer.towns_in(province)
    names = [t.name for t in towns]
    return [
        (t.id, t.name if names.count(t.name) == 1 else f"{t.name} (about {t.population:,} people)")
        for t in towns
    ]


def _page(
    report: Report,
    error: str | None = None,
    status: int = 200,
    *,
    publish: PublishForm | None = None,
    reason: ReasonForm | None = None,
    duplicate: DuplicateForm | None = None,
) -> tuple[str, int]:
    """The report page; after a refused action, with what to fix and the forms as she left
    them (the publish form is then not prefilled again from the report)."""
    province = publish.province.data if publish is not None else report.province
    if province not in PROVINCES:
        province = report.province
    assignee = db.session().get(Staff, report.assigned_to) if report.assigned_to else None
    return render_template(
        "verify/report.html",
        report=report,
        provinces=PROVINCES,
        error=error,
        publish=publish or PublishForm(province=report.province),
        kept=publish is not None,
        reason=reason or ReasonForm(),
        duplicate=duplicate or DuplicateForm(),
        towns=_town_options(province),
        labels=_labels(),
        short_ref=short_ref,
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        assignee=assignee.login if assignee else None,
    ), status


@bp.get("/reports/<report_id>")
@allow(*CASEWORK)
def report_page(report_id: str) -> tuple[str, int]:
    """One report: the browser fetches its envelopes and opens them with my keys."""
    return _page(_report_or_403(report_id))


@bp.get("/reports/<report_id>/data")
@allow(*CASEWORK)
def report_data(report_id: str) -> Response:
    """The report's envelopes (audited as an 'open'). Opening a new report moves it to in
    review, assigned to her if nobody has it yet, so the reporter's inbox shows it is read."""
    report = _report_or_403(report_id)
    sess = db.session()
    receipt = sess.scalars(select(Receipt).where(Receipt.report_id == report.id)).first()
    try:
        ring = load_keyring(sess)
    except KeyMissing:
        abort(503)
    staff = current_staff()
    assert staff is not None
    audit.record(sess, staff.id, "open", report.id)
    if report.status == ReportStatus.NEW:
        if report.assigned_to is None:
            report.assigned_to = staff.id
            audit.record(sess, staff.id, "assign", report.id)
        _set_status(report, ReportStatus.IN_REVIEW)
        audit.record(sess, staff.id, "status", f"{report.id}:in_review")
    sess.commit()
    assignee = sess.get(Staff, report.assigned_to) if report.assigned_to else None
    return jsonify(
        id=report.id,
        province=report.province,
        status=report.status,
        assigned_to=assignee.login if assignee else None,
        channel=report.channel,
        received_on=report.received_on.isoformat(),
        envelope=report.envelope,
        purged=report.purged,
        attachments=[
            {"id": a.id, "header": a.header, "size": len(a.body)} for a in report.attachments
        ],
        messages=[
            {
                "id": m.id,
                "direction": m.direction,
                "sent_on": m.sent_on.isoformat(),
                "envelope": m.envelope,
            }
            for m in report.messages
        ],
        reply_key=receipt.reply_public_key if receipt else None,
        recipients={
            "national": ring.national.as_json(),
            "recovery": ring.recovery.as_json(),
            "province": ring.provinces[report.province].as_json(),
        },
    )


@bp.get("/reports/<report_id>/attachments/<attachment_id>")
@allow(*CASEWORK)
def attachment(report_id: str, attachment_id: str) -> Response:
    """A sealed attachment body (ciphertext; opened in the browser)."""
    report = _report_or_403(report_id)
    att = db.session().get(Attachment, attachment_id[:40])
    if att is None or att.report_id != report.id:
        abort(404)
    staff = current_staff()
    assert staff is not None
    audit.record(db.session(), staff.id, "open_attachment", f"{report.id}/{att.id}")
    db.session().commit()
    return FlaskResponse(att.body, mimetype="application/octet-stream")


def _set_status(report: Report, status: str) -> None:
    report.status = status
    report.final_on = dt.date.today() if status in FINAL_STATUSES else None


def _done(report: Report, message: str) -> Response:
    return redirect(url_for("verify.report_page", report_id=report.id, done=message), code=303)


@bp.post("/reports/<report_id>/assign")
@allow(*CASEWORK)
def assign(report_id: str) -> Response:
    """Assign the report to me (and mark it in review)."""
    report = _report_or_403(report_id)
    staff = current_staff()
    assert staff is not None
    report.assigned_to = staff.id
    if report.status == ReportStatus.NEW:
        _set_status(report, ReportStatus.IN_REVIEW)
    audit.record(db.session(), staff.id, "assign", report.id)
    db.session().commit()
    return _done(report, "assigned")


NOTE_MAX = 64 * 1024


def _sealed_note(report: Report, raw: str) -> dict[str, Any]:
    """A staff-only note (the reason she typed) sealed in her browser (staff.js) to exactly the
    report's case keys: its province's, the national and the recovery key, never the reporter's
    reply key (the reporter must never read it). Raises EnvelopeError with what is wrong."""
    import json

    if len(raw) > NOTE_MAX:
        raise envelope.EnvelopeInvalid("The note is too long.")
    try:
        env = json.loads(raw)
    except ValueError:
        raise envelope.EnvelopeInvalid("The note is not an envelope.") from None
    required = load_keyring(db.session()).required_kids(report.province)
    envelope.validate(env, required)
    if {k["kid"] for k in env["keys"]} != required:
        raise envelope.EnvelopeInvalid("The note must be sealed to this report's case keys only.")
    return env


def _form_problem(form: Any) -> str:
    """What to fix, in words: the expired-form case, else each field's label and message."""
    if "csrf_token" in form.errors:
        return "The form expired (or was sent twice). Your entries are kept: send it again."
    parts = [
        f"{getattr(form, name).label.text}: {' '.join(map(str, errs))}"
        for name, errs in form.errors.items()
    ]
    return "Please correct: " + "; ".join(parts) if parts else "Please correct the form."


@bp.post("/reports/<report_id>/status")
@allow(*CASEWORK)
def set_status(report_id: str) -> Response | tuple[str, int]:
    """Needs more information, or reject with a reason."""
    report = _report_or_403(report_id)
    form = ReasonForm()
    status = request.form.get("status", "")
    if status not in (ReportStatus.NEEDS_INFO, ReportStatus.REJECTED, ReportStatus.IN_REVIEW):
        return _page(
            report, "Choose an action: needs more information, or reject.", 400, reason=form
        )
    if not form.validate():
        return _page(report, _form_problem(form), 400, reason=ReasonForm(formdata=None))
    if (form.reason.data or "").strip():
        # staff pages need JavaScript (WebCrypto) anyway: a note is sealed in her browser, and
        # one that arrives in clear is refused, not sealed here (finding 13, notes)
        return _page(
            report,
            "The reason arrived unsealed and was not kept. Reload the page "
            "with JavaScript on, unlock your key and write it again.",
            400,
            reason=ReasonForm(formdata=None),
        )
    raw = request.form.get("reason_envelope", "").strip()
    if status == ReportStatus.REJECTED and not raw:
        return _page(
            report,
            "To reject a report, write the reason in the box (only staff "
            "read it), then press Reject again.",
            400,
            reason=form,
        )
    staff = current_staff()
    assert staff is not None
    if raw:
        try:
            note = _sealed_note(report, raw)
        except (envelope.EnvelopeError, KeyMissing) as exc:
            return _page(
                report, f"The reason was refused: {exc}", 400, reason=ReasonForm(formdata=None)
            )
        db.session().add(Message(report_id=report.id, direction=STAFF_NOTE, envelope=note))
    _set_status(report, status)
    audit.record(db.session(), staff.id, "status", f"{report.id}:{status}")
    db.session().commit()
    return _done(report, status)


@bp.post("/reports/<report_id>/duplicate")
@allow(*CASEWORK)
def mark_duplicate(report_id: str) -> Response | tuple[str, int]:
    """Mark as a duplicate of another report I may see."""
    report = _report_or_403(report_id)
    form = DuplicateForm()
    if not form.validate():
        return _page(report, _form_problem(form), 400, duplicate=form)
    ref = (form.of.data or "").strip().lower()
    matches = (
        db.session()
        .scalars(
            _visible(
                select(Report).where(
                    Report.id.startswith(ref, autoescape=True), Report.id != report.id
                )
            ).limit(2)
        )
        .all()
    )
    if len(matches) != 1:
        problem = (
            f"No other report in your provinces has the reference {ref}. Copy the "
            f"reference from the queue."
            if not matches
            else f"More than one report starts with {ref}. Type more of its id."
        )
        return _page(report, problem, 400, duplicate=form)
    other = matches[0]
    staff = current_staff()
    assert staff is not None
    report.duplicate_of = other.id
    _set_status(report, ReportStatus.DUPLICATE)
    audit.record(db.session(), staff.id, "duplicate", f"{report.id}->{other.id}")
    db.session().commit()
    return _done(report, "duplicate")


@bp.post("/reports/<report_id>/message")
@allow(*CASEWORK)
def message(report_id: str) -> tuple[Response, int] | Response:
    """A message to the reporter, sealed in my browser to her reply key and the case keys."""
    report = _report_or_403(report_id)
    data = json_body()
    sess = db.session()
    receipt = sess.scalars(select(Receipt).where(Receipt.report_id == report.id)).first()
    if receipt is None:
        return json_error("This report has no live receipt: the reporter cannot be reached.", 409)
    try:
        ring = load_keyring(sess)
        required = ring.required_kids(report.province) | {
            envelope.kid(envelope.b64d(receipt.reply_public_key, 32))
        }
        env = envelope.validate(data.get("envelope"), required)
    except envelope.EnvelopeError as exc:
        return json_error(f"The message was refused: {exc}")
    staff = current_staff()
    assert staff is not None
    sess.add(Message(report_id=report.id, direction=TO_REPORTER, envelope=env))
    audit.record(sess, staff.id, "message", report.id)
    sess.commit()
    return jsonify(ok=True)


@bp.post("/reports/<report_id>/publish")
@allow(*CASEWORK)
def publish(report_id: str) -> Response | tuple[str, int]:
    """Verify and publish: only the coarse values she chose reach the server."""
    from reporter.maps.publish import PublishInvalid, publish_incident
    from reporter.verify import publication

    report = _report_or_403(report_id)
    form = PublishForm()
    error = None
    lat = lon = None
    if form.validate():
        if form.town.data:
            town = gazetteer.lookup(form.town.data)
            if town is None or town.province != form.province.data:
                error = "Choose a town from the list for the province you publish in."
            else:
                lat, lon = town.lat, town.lon
        else:
            try:
                lat, lon = float(form.lat.data or ""), float(form.lon.data or "")
            except ValueError:
                error = (
                    "Choose a town from the list, or give an approximate latitude and longitude."
                )
    else:
        error = _form_problem(form)
    staff = current_staff()
    assert staff is not None
    if error is None and not may_see_province(staff, form.province.data):
        error = "You can publish only in your provinces."
    if error is None:
        error = publication.already_published(db.session(), report)
    if error is None:
        assert form.people_affected.data is not None  # DataRequired has passed
        try:
            incident = publish_incident(
                db.session(),
                categories=form.categories.data or [],
                perpetrators=form.perpetrators.data or [],
                month=form.month_date(),
                province=form.province.data,
                lat=float(lat),  # type: ignore[arg-type]
                lon=float(lon),  # type: ignore[arg-type]
                people_affected=form.people_affected.data,
                verification_level=form.verification_level.data,
                source_type=form.source_type.data,
            )
        except (PublishInvalid, ValueError) as exc:
            error = str(exc)
        else:
            publication.link(db.session(), report, incident, staff.id)
            _set_status(report, ReportStatus.VERIFIED)
            audit.record(db.session(), staff.id, "publish", f"{report.id}->{incident.public_id}")
            db.session().commit()
            return _done(report, "published")
    db.session().rollback()
    return _page(_report_or_403(report_id), error, 400, publish=form)
