"""The moderator's queue and the actions on a report. The server hands out envelopes only to
staff whose role and provinces cover the report; the browser decrypts them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from reporter import audit, db, envelope, gazetteer
from reporter.auth import allow, current_staff, may_see_province
from reporter.keys import KeyMissing, load_keyring
from reporter.models import FINAL_STATUSES, REPORT_STATUSES, Attachment, Message, Receipt, Report
from reporter.verify import bp
from reporter.verify.account import json_body, json_error
from reporter.verify.forms import DuplicateForm, PublishForm, ReasonForm
from reporter.vocabulary import PROVINCES

CASEWORK = ("moderator", "coordinator", "admin")
SORTS = {"received": Report.received_on, "province": Report.province, "status": Report.status}


def _visible(query: Any) -> Any:
    staff = current_staff()
    assert staff is not None
    if {"coordinator", "admin"} & set(staff.roles):
        return query
    return query.where(Report.province.in_(staff.provinces or []))


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
    q = _visible(select(Report))
    if status:
        q = q.where(Report.status == status)
    order = SORTS[sort]
    rows = sess.scalars(q.order_by(order.desc() if sort == "received" else order,
                                   Report.received_on.desc()).limit(500)).all()
    counts = dict(sess.execute(_visible(select(Report.status, func.count()).group_by(
        Report.status))).all())
    return render_template("verify/queue.html", reports=rows, counts=counts, sort=sort,
                           status=status, statuses=REPORT_STATUSES, provinces=PROVINCES)


@bp.get("/reports/<report_id>")
@allow(*CASEWORK)
def report_page(report_id: str) -> str:
    """One report: the browser fetches its envelopes and opens them with my keys."""
    report = _report_or_403(report_id)
    return render_template("verify/report.html", report=report, provinces=PROVINCES,
                           publish=PublishForm(province=report.province),
                           reason=ReasonForm(), duplicate=DuplicateForm())


@bp.get("/reports/<report_id>/data")
@allow(*CASEWORK)
def report_data(report_id: str) -> Response:
    """The report's envelopes (audited as an 'open')."""
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
    sess.commit()
    return jsonify(
        id=report.id, province=report.province, status=report.status,
        channel=report.channel, received_on=report.received_on.isoformat(),
        envelope=report.envelope, purged=report.purged,
        attachments=[{"id": a.id, "header": a.header, "size": len(a.body)}
                     for a in report.attachments],
        messages=[{"id": m.id, "direction": m.direction, "sent_on": m.sent_on.isoformat(),
                   "envelope": m.envelope} for m in report.messages],
        reply_key=receipt.reply_public_key if receipt else None,
        recipients={"national": ring.national.as_json(), "recovery": ring.recovery.as_json(),
                    "province": ring.provinces[report.province].as_json()},
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
    return Response(att.body, mimetype="application/octet-stream")


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
    if report.status == "new":
        _set_status(report, "in_review")
    audit.record(db.session(), staff.id, "assign", report.id)
    db.session().commit()
    return _done(report, "assigned")


def _note(report: Report, reason: str) -> None:
    """A staff-only note (the reason she typed), sealed on arrival to the case keys: it passes
    through this request's memory once and is never stored in clear (README, honest limits)."""
    ring = load_keyring(db.session())
    env = envelope.seal({"v": 1, "from": "staff", "text": reason},
                        ring.recipients(report.province))
    db.session().add(Message(report_id=report.id, direction="staff_note", envelope=env))


@bp.post("/reports/<report_id>/status")
@allow(*CASEWORK)
def set_status(report_id: str) -> Response | tuple[str, int]:
    """Needs more information, or reject with a reason."""
    report = _report_or_403(report_id)
    form = ReasonForm()
    status = request.form.get("status", "")
    if status not in ("needs_info", "rejected", "in_review") or not form.validate():
        abort(400)
    if status == "rejected" and not (form.reason.data or "").strip():
        abort(400)
    staff = current_staff()
    assert staff is not None
    if form.reason.data:
        _note(report, form.reason.data)
    _set_status(report, status)
    audit.record(db.session(), staff.id, "status", f"{report.id}:{status}")
    db.session().commit()
    return _done(report, status)


@bp.post("/reports/<report_id>/duplicate")
@allow(*CASEWORK)
def mark_duplicate(report_id: str) -> Response:
    """Mark as a duplicate of another report I may see."""
    report = _report_or_403(report_id)
    form = DuplicateForm()
    if not form.validate() or form.of.data == report.id:
        abort(400)
    other = _report_or_403(form.of.data)
    staff = current_staff()
    assert staff is not None
    report.duplicate_of = other.id
    _set_status(report, "duplicate")
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
        return json_error("This report has no live receipt: the reporter cannot be reached.",
                          409)
    try:
        ring = load_keyring(sess)
        required = ring.required_kids(report.province) | {
            envelope.kid(envelope.b64d(receipt.reply_public_key, 32))}
        env = envelope.validate(data.get("envelope"), required)
    except envelope.EnvelopeError as exc:
        return json_error(f"The message was refused: {exc}")
    staff = current_staff()
    assert staff is not None
    sess.add(Message(report_id=report.id, direction="to_reporter", envelope=env))
    audit.record(sess, staff.id, "message", report.id)
    sess.commit()
    return jsonify(ok=True)


@bp.post("/reports/<report_id>/publish")
@allow(*CASEWORK)
def publish(report_id: str) -> Response | tuple[str, int]:
    """Verify and publish: only the coarse values she chose reach the server."""
    from reporter.maps.publish import PublishInvalid, publish_incident

    report = _report_or_403(report_id)
    form = PublishForm()
    error = None
    lat = lon = None
    if form.validate():
        if form.town.data:
            town = gazetteer.lookup(form.town.data)
            if town is None or town.province != form.province.data:
                error = "Choose a town in the report's province."
            else:
                lat, lon = town.lat, town.lon
        else:
            try:
                lat, lon = float(form.lat.data or ""), float(form.lon.data or "")
            except ValueError:
                error = "Pick a place on the map or choose a town."
    else:
        error = "Please correct the marked fields."
    staff = current_staff()
    assert staff is not None
    if error is None and not may_see_province(staff, form.province.data):
        error = "You can publish only in your provinces."
    if error is None:
        try:
            incident = publish_incident(
                db.session(), categories=form.categories.data,
                perpetrators=form.perpetrators.data, month=form.month_date(),
                province=form.province.data, lat=float(lat), lon=float(lon),  # type: ignore[arg-type]
                people_affected=form.people_affected.data,
                verification_level=form.verification_level.data,
                source_type=form.source_type.data)
        except (PublishInvalid, ValueError) as exc:
            error = str(exc)
        else:
            _set_status(report, "verified")
            audit.record(db.session(), staff.id, "publish", f"{report.id}->{incident.public_id}")
            db.session().commit()
            return _done(report, "published")
    db.session().rollback()
    return render_template("verify/report.html", report=_report_or_403(report_id),
                           provinces=PROVINCES, publish=form, reason=ReasonForm(),
                           duplicate=DuplicateForm(), error=error), 400
