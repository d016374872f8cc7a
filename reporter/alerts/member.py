"""Member pages: /alerts (her province's alerts first, newest first) and /alerts/check.

A member opens them with the code on her card (no account, no name). The session keeps only
the card's row id for an hour; every request checks that the code is neither revoked nor
expired. Checks are limited per code (a progressive delay, then a daily cap) and globally,
never per address, so the index cannot be enumerated through the checker. Nothing a member
types (a code, a number, a plate) is logged or stored.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from reporter.alerts import common, index, store
from reporter.alerts.labels import KINDS, REASON_LABELS, SEVERITY_LABELS
from reporter.domain.vocabulary import PROVINCE_LABELS
from reporter.models import db
from reporter.models.alerts import CHALLENGE_REASONS, Alert, AlertChallenge, MemberCode
from reporter.web.extensions import ensure_rate_token, global_key, limiter, on_rate_limited

bp = Blueprint("alerts", __name__)
bp.before_request(common.refuse_nul)

SESSION_KEY = "member"
MEMBER_MINUTES = 60


@bp.app_context_processor  # app-wide: the reporter's inbox includes alerts/_inbox.html
def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KINDS,
        "severity_labels": SEVERITY_LABELS,
        "province_labels": PROVINCE_LABELS,
        "reason_labels": REASON_LABELS,
    }


def member() -> MemberCode | None:
    """Her card's row while her member session lasts and the code is live."""
    ref = session.get(SESSION_KEY)
    if not isinstance(ref, dict) or int(ref.get("exp", 0)) < time.time():
        session.pop(SESSION_KEY, None)
        return None
    try:
        row = db.session().get(MemberCode, int(ref["id"]))
    except (KeyError, TypeError, ValueError):
        row = None
    row = store.live_member(db.session(), row)
    if row is None:
        session.pop(SESSION_KEY, None)
        return None
    session[SESSION_KEY] = {**ref, "exp": int(time.time()) + MEMBER_MINUTES * 60}
    return row


def member_key() -> str:
    """The checker's per-code rate-limit key: the card number, never the address."""
    ref = session.get(SESSION_KEY)
    return f"member:{ref.get('id')}" if isinstance(ref, dict) else "member:none"


def _login_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    ensure_rate_token()
    return render_template("alerts/login.html", error=error), status


@bp.get("/alerts")
def alerts() -> tuple[str, int]:
    common.require_on()
    row = member()
    if row is None:
        return _login_page()
    mine, others = store.listing(db.session(), row.province, limit=15)
    return render_template(
        "alerts/list.html",
        mine=mine,
        others=others,
        province=row.province,
        sms=sms_available(),
        sms_state=request.args.get("sms"),
    ), 200


@bp.post("/alerts")
@limiter.limit("10 per 10 minutes")
@limiter.limit("120 per minute", key_func=global_key, scope="alerts-login-global")
def alerts_login() -> Response | tuple[str, int]:
    common.require_on()
    row = store.member_for(db.session(), common.key(), request.form.get("code", ""))
    if row is None:
        # wrong, revoked and expired look alike
        return _login_page(_("This code does not work. Check it, or ask for a new card."), 404)
    session[SESSION_KEY] = {"id": row.id, "exp": int(time.time()) + MEMBER_MINUTES * 60}
    return redirect(url_for("alerts.alerts"), code=303)


@bp.post("/alerts/logout")
def alerts_logout() -> Response:
    session.pop(SESSION_KEY, None)
    return redirect(url_for("alerts.alerts"), code=303)


def sms_available() -> bool:
    """An outbound SMS sender is configured (the gateways' SMS_USERNAME and SMS_API_KEY)."""
    g = getattr(common.settings(), "gateway", None)
    return bool(g and g.sms_username and g.sms_api_key)


@bp.post("/alerts/sms")
@limiter.limit("10 per day", key_func=member_key, scope="alerts-sms")
def sms_choice() -> Response | tuple[str, int]:
    """Ask for (or stop) this province's alerts by SMS; her number is sealed at once to the
    sending job's key (reporter/alerts/sms.py)."""
    common.require_on()
    row = member()
    if row is None or not sms_available():
        return redirect(url_for("alerts.alerts"), code=303)
    from reporter.alerts import sms

    if request.form.get("stop") == "1":
        sms.unsubscribe(db.session(), row)
        db.session().commit()
        return redirect(url_for("alerts.alerts", sms="stopped"), code=303)
    try:
        cfg = common.settings()
        pk = (
            sms.init_keys(cfg.instance_path)
            if not cfg.is_production
            else sms.public_key(cfg.instance_path)
        )
        sms.subscribe(db.session(), row, request.form.get("number", ""), pk)
    except index.NotAnIdentifier:
        return redirect(url_for("alerts.alerts", sms="bad"), code=303)
    db.session().commit()
    return redirect(url_for("alerts.alerts", sms="on"), code=303)


@bp.get("/alerts/check")
def check_page() -> tuple[str, int] | Response:
    common.require_on()
    if member() is None:
        return redirect(url_for("alerts.alerts"), code=303)
    return render_template("alerts/check.html", result=None), 200


@bp.post("/alerts/check")
@limiter.limit(
    lambda: common.settings().alert_check_daily, key_func=member_key, scope="alerts-check-member"
)
@limiter.limit(
    lambda: common.settings().alert_check_global,
    key_func=lambda: "alerts-check",
    scope="alerts-check-global",
)
def check() -> tuple[str, int] | Response:
    common.require_on()
    row = member()
    if row is None:
        return redirect(url_for("alerts.alerts"), code=303)
    free = common.settings().alert_free_checks
    wait = store.claim_check(db.session(), row, free)
    if wait:
        db.session().commit()
        return render_template("alerts/check.html", result=None, wait=int(wait + 0.999)), 429
    try:  # the count and the lookup in one transaction, committed once
        found = store.check(db.session(), common.key(), request.form.get("query", ""))
    except index.NotAnIdentifier:
        db.session().commit()
        return render_template(
            "alerts/check.html",
            result=None,
            error=_("Type a phone number, or at least 4 letters or digits of a registration."),
        ), 400
    db.session().commit()
    return render_template("alerts/check.html", result=found), 200


@on_rate_limited("alerts.check")
def _check_refused() -> tuple[str, int]:
    """The daily or global cap: the check page again, never echoing the number she typed."""
    return render_template("alerts/check.html", result=None, wait=60), 429


@bp.get("/alerts/<alert_id>/challenge")
def challenge_page(alert_id: str) -> tuple[str, int] | Response:
    common.require_on()
    if member() is None:
        return redirect(url_for("alerts.alerts"), code=303)
    alert = _current_or_404(alert_id)
    return render_template("alerts/challenge.html", alert=alert, reasons=CHALLENGE_REASONS), 200


def _current_or_404(alert_id: str) -> Alert:
    alert = db.session().get(Alert, alert_id) if common.valid_id(alert_id) else None
    if (
        alert is None
        or alert.status != "published"
        or alert.expires_on is None
        or alert.expires_on < store.today()
    ):
        abort(404)
    return alert


@bp.post("/alerts/<alert_id>/challenge")
@limiter.limit("5 per day", key_func=member_key, scope="alerts-challenge")
def challenge(alert_id: str) -> tuple[str, int] | Response:
    """Someone says an alert is wrong: a reason from a list, reviewed by a coordinator."""
    common.require_on()
    if member() is None:
        return redirect(url_for("alerts.alerts"), code=303)
    alert = _current_or_404(alert_id)
    reason = request.form.get("reason", "")
    if reason not in CHALLENGE_REASONS:
        return render_template(
            "alerts/challenge.html",
            alert=alert,
            reasons=CHALLENGE_REASONS,
            error=_("Choose what is wrong."),
        ), 400
    db.session().add(AlertChallenge(alert_id=alert.id, reason=reason))
    db.session().commit()
    return render_template(
        "alerts/challenge.html", alert=alert, reasons=CHALLENGE_REASONS, done=True
    ), 200


def inbox_alerts(province: str) -> list[Alert] | None:
    """For the reporter's inbox: her province's current alerts when she is also logged in as a
    member in this session, else None (the inbox then offers the link)."""
    if not common.switched_on() or member() is None:
        return None
    return store.listing(db.session(), province, limit=5)[0]


def init_app(app: Any) -> None:
    @app.context_processor
    def _member_alerts() -> dict[str, Any]:
        return {"member_alerts": inbox_alerts, "alerts_on": common.switched_on}
