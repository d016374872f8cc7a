"""Staff side of alerts, under /staff/alerts (default-deny like every staff blueprint).

A moderator drafts an alert on a report she opened (the draft page decrypts the report in her
browser, reporter/static/js/alerts.js, and warns when her words are copied in); a second staff
member approves it; coordinators withdraw or correct, review challenges, issue and revoke
member codes, and print a province's sheet. Every step is an audit event.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import Response as FlaskResponse
from sqlalchemy import select
from werkzeug.wrappers import Response

from reporter.alerts import common, index, store
from reporter.alerts.labels import KINDS, REASON_LABELS, SEVERITY_LABELS
from reporter.domain import policy
from reporter.domain.enums import Role
from reporter.domain.vocabulary import PROVINCES
from reporter.models import audit, db
from reporter.models.alerts import (
    SEVERITIES,
    Alert,
    AlertAuthorisation,
    AlertChallenge,
    AlertSource,
    MemberCode,
)
from reporter.models.private import Report
from reporter.models.staff import Staff
from reporter.web.auth import allow, guard, may_see_province

bp = Blueprint("alerts_staff", __name__, url_prefix="/staff/alerts")
guard(bp)
bp.before_request(common.refuse_nul)

CASEWORK = policy.CASEWORK
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_IDENTIFIERS = 6


def _staff() -> Staff:
    return g.staff


def _alert_or_404(alert_id: str) -> Alert:
    alert = db.session().get(Alert, alert_id) if common.valid_id(alert_id) else None
    if alert is None or not may_see_province(_staff(), alert.province):
        abort(404)
    return alert


def _names() -> dict[int, str]:
    return dict(db.session().execute(select(Staff.id, Staff.login)).all())  # type: ignore[arg-type]


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "kinds": {k: str(v) for k, v in KINDS.items()},
        "severities": {k: str(v) for k, v in SEVERITY_LABELS.items()},
        "reasons": {k: str(v) for k, v in REASON_LABELS.items()},
        "provinces": PROVINCES,
    }


@bp.get("")
@allow(*CASEWORK)
def home() -> str:
    common.require_on()
    sess = db.session()
    rows = sess.scalars(select(Alert).order_by(Alert.drafted_on.desc(), Alert.id)).all()
    rows = [a for a in rows if may_see_province(_staff(), a.province)]
    challenges = sess.scalars(
        select(AlertChallenge).where(AlertChallenge.state == "open").order_by(AlertChallenge.id)
    ).all()
    visible = {a.id for a in rows}
    return render_template(
        "alerts/staff_home.html",
        alerts=rows,
        names=_names(),
        today=store.today(),
        challenges=[c for c in challenges if c.alert_id in visible],
    )


def _draft_page(
    report: Report, form: dict[str, str] | None = None, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "alerts/draft.html",
        report=report,
        form=form or {},
        error=error,
        severity_values=SEVERITIES,
        data_url=url_for("verify.report_data", report_id=report.id),
    ), status


def _report_or_404(report_id: str) -> Report:
    report = db.session().get(Report, report_id) if common.valid_id(report_id) else None
    if report is None or not may_see_province(_staff(), report.province):
        abort(404)
    return report


@bp.get("/new")
@allow(*CASEWORK)
def new() -> tuple[str, int]:
    common.require_on()
    return _draft_page(_report_or_404(request.args.get("report", "")))


def _lines(name: str) -> list[str]:
    return [x.strip() for x in request.form.get(name, "").splitlines() if x.strip()]


def _read_draft() -> store.Draft:
    """The draft's fields, checked; ValueError with what to fix (never echoing a number)."""
    f = request.form
    kind, severity, province = f.get("kind", ""), f.get("severity", ""), f.get("province", "")
    if kind not in KINDS:
        raise ValueError("Choose what kind of alert this is.")
    if severity not in SEVERITIES:
        raise ValueError("Choose how dangerous this person is.")
    if province not in PROVINCES:
        raise ValueError("Choose the province.")
    area = " ".join(f.get("area", "").split())
    if not area or len(area) > common.AREA_MAX or re.search(r"-?\d+\.\d{2,}", area):
        raise ValueError("Give a town or area name (never a point or an address).")
    m = _MONTH.match(f.get("month", "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise ValueError("Give the month as YYYY-MM.")
    month = dt.date(int(m.group(1)), int(m.group(2)), 1)
    if month > store.today():
        raise ValueError("The month cannot be in the future.")
    description = f.get("description", "").strip()
    if not description or len(description) > common.DESCRIPTION_MAX:
        raise ValueError(
            f"Describe the person and vehicle in at most {common.DESCRIPTION_MAX} characters."
        )
    phones, plates = _lines("phones"), _lines("plates")
    if len(phones) > MAX_IDENTIFIERS or len(plates) > MAX_IDENTIFIERS:
        raise ValueError(f"At most {MAX_IDENTIFIERS} numbers and {MAX_IDENTIFIERS} plates.")
    return store.Draft(kind, severity, province, area, month, description, phones, plates)


@bp.post("/new")
@allow(*CASEWORK)
def create() -> Response | tuple[str, int]:
    common.require_on()
    report = _report_or_404(request.form.get("report_id", ""))
    # what comes back to her on a refusal: never the numbers or plates (she types them again)
    kept = {
        k: request.form.get(k, "")
        for k in ("kind", "severity", "province", "area", "month", "description")
    }
    try:
        draft = _read_draft()
        if not may_see_province(_staff(), draft.province):
            raise ValueError("You can draft alerts for your provinces only.")
        alert = store.create_draft(db.session(), common.key(), draft, _staff().id, report.id)
    except index.NotAnIdentifier as exc:
        db.session().rollback()
        return _draft_page(report, kept, f"A phone number or registration was refused: {exc}", 400)
    except ValueError as exc:
        db.session().rollback()
        return _draft_page(report, kept, str(exc), 400)
    audit.record(db.session(), _staff().id, "alert_draft", f"alert:{alert.id} report:{report.id}")
    db.session().commit()
    return redirect(url_for("alerts_staff.show", alert_id=alert.id, done="draft saved"), code=303)


@bp.get("/<alert_id>")
@allow(*CASEWORK)
def show(alert_id: str) -> str:
    common.require_on()
    alert = _alert_or_404(alert_id)
    sess = db.session()
    sources = sess.scalars(
        select(AlertSource.report_id).where(AlertSource.alert_id == alert.id)
    ).all()
    challenges = sess.scalars(
        select(AlertChallenge)
        .where(AlertChallenge.alert_id == alert.id)
        .order_by(AlertChallenge.id)
    ).all()
    return render_template(
        "alerts/staff_alert.html",
        alert=alert,
        names=_names(),
        sources=sources,
        challenges=challenges,
        today=store.today(),
        manager=bool(set(MANAGERS) & set(_staff().roles)),
    )


def _back(alert: Alert, done: str) -> Response:
    return redirect(url_for("alerts_staff.show", alert_id=alert.id, done=done), code=303)


@bp.post("/<alert_id>/approve")
@allow(*CASEWORK)
def approve(alert_id: str) -> Response:
    common.require_on()
    alert = _alert_or_404(alert_id)
    if alert.status != "draft":
        abort(409)
    try:
        store.approve(db.session(), alert, _staff().id, common.settings().alert_expiry_months)
    except store.FourEyes:
        abort(403)
    audit.record(db.session(), _staff().id, "alert_approve", f"alert:{alert.id}")
    db.session().commit()
    return _back(alert, "approved and published to members")


@bp.post("/<alert_id>/reject")
@allow(*CASEWORK)
def reject(alert_id: str) -> Response:
    common.require_on()
    alert = _alert_or_404(alert_id)
    if alert.status != "draft":
        abort(409)
    alert.status = "rejected"
    audit.record(db.session(), _staff().id, "alert_reject", f"alert:{alert.id}")
    db.session().commit()
    return _back(alert, "rejected")


@bp.post("/<alert_id>/withdraw")
@allow(*MANAGERS)
def withdraw(alert_id: str) -> Response:
    common.require_on()
    alert = _alert_or_404(alert_id)
    if alert.status not in ("published", "draft"):
        abort(409)
    alert.status = "withdrawn"
    audit.record(db.session(), _staff().id, "alert_withdraw", f"alert:{alert.id}")
    db.session().commit()
    return _back(alert, "withdrawn")


@bp.post("/<alert_id>/correct")
@allow(*MANAGERS)
def correct(alert_id: str) -> Response:
    """Correct the wording, kind, severity or area of a published alert (audited)."""
    common.require_on()
    alert = _alert_or_404(alert_id)
    if alert.status != "published":
        abort(409)
    f = request.form
    description = f.get("description", "").strip()
    area = " ".join(f.get("area", "").split())
    if (
        f.get("kind") not in KINDS
        or f.get("severity") not in SEVERITIES
        or not description
        or len(description) > common.DESCRIPTION_MAX
        or not area
        or len(area) > common.AREA_MAX
    ):
        abort(400)
    alert.kind, alert.severity = f["kind"], f["severity"]
    alert.description, alert.area = description, area
    alert.corrected_on = store.today()
    audit.record(db.session(), _staff().id, "alert_correct", f"alert:{alert.id}")
    db.session().commit()
    return _back(alert, "corrected")


@bp.post("/<alert_id>/corroborate")
@allow(*CASEWORK)
def corroborate(alert_id: str) -> Response | tuple[str, int]:
    """A second report names the same number or plate: the mark needs a different receipt."""
    common.require_on()
    alert = _alert_or_404(alert_id)
    ref = request.form.get("report_id", "").strip()
    report = db.session().get(Report, ref) if common.valid_id(ref) else None
    if report is None or not may_see_province(_staff(), report.province):
        abort(404)
    try:
        store.corroborate(
            db.session(), common.key(), alert, report.id, request.form.get("identifier", "")
        )
    except (store.NotCorroborating, index.NotAnIdentifier) as exc:
        db.session().rollback()
        return redirect(
            url_for("alerts_staff.show", alert_id=alert.id, done=f"not corroborated: {exc}"),
            code=303,
        )
    audit.record(
        db.session(), _staff().id, "alert_corroborate", f"alert:{alert.id} report:{report.id}"
    )
    db.session().commit()
    return _back(alert, "corroborated")


@bp.post("/<alert_id>/challenges")
@allow(*MANAGERS)
def review_challenge(alert_id: str) -> Response:
    common.require_on()
    alert = _alert_or_404(alert_id)
    number = request.form.get("challenge_id", "")
    challenge = (
        db.session().get(AlertChallenge, int(number))
        if number.isascii() and number.isdigit() and len(number) <= 9
        else None
    )
    if challenge is None or challenge.alert_id != alert.id:
        abort(404)
    verdict = request.form.get("verdict")
    if verdict not in ("upheld", "dismissed") or challenge.state != "open":
        abort(400)
    challenge.state, challenge.reviewed_by = verdict, _staff().id
    challenge.reviewed_on = store.today()
    if verdict == "upheld" and alert.status == "published":
        alert.status = "withdrawn"
        audit.record(db.session(), _staff().id, "alert_withdraw", f"alert:{alert.id}")
    audit.record(
        db.session(),
        _staff().id,
        "alert_challenge_review",
        f"alert:{alert.id} challenge:{challenge.id} {verdict}",
    )
    db.session().commit()
    return _back(alert, f"challenge {verdict}")


# --- member codes -----------------------------------------------------------------------------


@bp.get("/codes")
@allow(*MANAGERS)
def codes() -> str:
    common.require_on()
    rows = db.session().scalars(select(MemberCode).order_by(MemberCode.id.desc()).limit(200)).all()
    return render_template(
        "alerts/codes.html",
        rows=rows,
        today=store.today(),
        issued=None,
        months=common.settings().member_code_months,
    )


@bp.post("/codes")
@allow(*MANAGERS)
def issue() -> str | tuple[str, int]:
    """New codes, shown once on a printable page of cards; only their hashes are kept."""
    common.require_on()
    province = request.form.get("province", "")
    try:
        count = int(request.form.get("count", "1"))
        months = int(request.form.get("months", common.settings().member_code_months))
    except ValueError:
        abort(400)
    if province not in PROVINCES or not 1 <= count <= 50 or not 1 <= months <= 24:
        abort(400)
    issued = store.issue_codes(db.session(), common.key(), province, count, months, _staff().id)
    audit.record(
        db.session(),
        _staff().id,
        "member_codes",
        f"{province} cards:{issued[0][0]}-{issued[-1][0]}",
    )
    db.session().commit()
    return render_template(
        "alerts/cards.html",
        province=province,
        cards=[(n, store.grouped(c), e) for n, c, e in issued],
    )


@bp.post("/codes/revoke")
@allow(*MANAGERS)
def revoke() -> Response:
    """Revoke by card number, or by the code itself (a lost card)."""
    common.require_on()
    sess = db.session()
    text = request.form.get("card", "").strip()
    row = None
    if text.isascii() and text.isdigit():
        row = sess.get(MemberCode, int(text)) if len(text) <= 9 else None
    else:
        code = store.normalise_code(text)
        if code:
            row = sess.scalars(
                select(MemberCode).where(
                    MemberCode.lookup_hash == store.code_hash(common.key(), code)
                )
            ).first()
    if row is None:
        return redirect(url_for("alerts_staff.codes", done="no such card"), code=303)
    row.revoked = True
    audit.record(sess, _staff().id, "member_revoke", f"card:{row.id}")
    sess.commit()
    return redirect(url_for("alerts_staff.codes", done=f"card {row.id} revoked"), code=303)


# --- the printable sheet ----------------------------------------------------------------------


@bp.get("/sheet/<province>.pdf")
@allow(*CASEWORK)
def sheet(province: str) -> Response:
    common.require_on()
    if province not in PROVINCES or not may_see_province(_staff(), province):
        abort(404)
    from reporter.alerts.sheet import render_sheet

    rows = (
        db.session()
        .scalars(
            select(Alert)
            .where(store.current(province))
            .order_by(Alert.published_on.desc(), Alert.id)
        )
        .all()
    )
    audit.record(db.session(), _staff().id, "alert_sheet", province)
    db.session().commit()
    pdf = render_sheet(PROVINCES[province], list(rows), store.today())
    return FlaskResponse(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="alerts-{province}.pdf"'},
    )


# --- switching alerts on (admin) --------------------------------------------------------------


@bp.get("/admin")
@allow(Role.ADMIN)
def admin() -> str:
    return render_template(
        "alerts/admin.html",
        authorisation=store.authorised(db.session()),
        enabled=common.settings().alerts_enabled,
    )


@bp.post("/admin")
@allow(Role.ADMIN)
def authorise() -> Response | tuple[str, int]:
    """Record the Information Regulator's prior authorisation: without it alerts stay off."""
    if not common.settings().alerts_enabled:
        abort(404)
    reference = " ".join(request.form.get("reference", "").split())[:80]
    try:
        granted = dt.date.fromisoformat(request.form.get("granted_on", ""))
    except ValueError:
        granted = None
    if (
        not reference
        or granted is None
        or granted > store.today()
        or request.form.get("confirm") != "y"
    ):
        return render_template(
            "alerts/admin.html",
            authorisation=None,
            enabled=True,
            error="Give the authorisation's reference and date, and confirm.",
        ), 400
    db.session().add(
        AlertAuthorisation(reference=reference, granted_on=granted, recorded_by=_staff().id)
    )
    audit.record(db.session(), _staff().id, "alerts_authorise", reference)
    db.session().commit()
    return redirect(url_for("alerts_staff.admin", done="alerts switched on"), code=303)
