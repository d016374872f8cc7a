"""POST /gateway/ussd and POST /gateway/sms (Africa's Talking callbacks)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Response, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from reporter.config import Settings
from reporter.crypto import envelope, receipts
from reporter.domain.enums import Channel
from reporter.domain.payload import make_payload
from reporter.gateway import bp, gateway_view, sms
from reporter.gateway.pool import ReceiptPool
from reporter.gateway.store import DatabaseStore, RedisStore, SessionState, session_key
from reporter.gateway.ussd import SCREEN_MAX, Context, callback_number, run
from reporter.models import db
from reporter.services import inbox, intake
from reporter.services.gateways import AfricasTalking, AfricasTalkingSender, Screen
from reporter.services.keys import load_keyring
from reporter.web.extensions import csrf, limiter, on_rate_limited

log = logging.getLogger(__name__)
ADAPTER = AfricasTalking
csrf.exempt(bp)


def settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def _plain(text: str, status: int = 200) -> Response:
    resp = Response(text, status=status, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _ussd_session_key() -> str:
    """Per-session limits: keyed by an HMAC of the gateway's sessionId, never the number."""
    sid = (request.form.get("sessionId") or "")[:200]
    return "ussd:" + session_key(settings().secret_key, sid)[:32]


def _global_key() -> str:
    return "gateway:global"


def _store() -> Any:
    url = settings().gateway.redis_url
    if url:
        cache = current_app.extensions.setdefault("reporter.gateway.redis", {})
        if url not in cache:
            cache[url] = RedisStore(url)
        return cache[url]
    return DatabaseStore(db.session())


def _site() -> str:
    cfg = settings()
    site = cfg.gateway.site_address or (
        f"http://{cfg.onion_address}" if cfg.onion_address else request.host_url
    )
    return site.rstrip("/")


def seal_and_accept(data: dict[str, Any], channel: str, language: str, phone: str | None) -> str:
    """One report sealed on arrival with public keys only, stored by the web's own accept()."""
    cfg = settings()
    province = data.get("province") or cfg.gateway.callback_province
    today = dt.date.today()
    payload = make_payload(
        categories=data.get("categories", []),
        perpetrators=data.get("perpetrators", []),
        year=data.get("year") or today.year,
        month=data.get("month"),
        province=province,
        town_id=data.get("town_id"),
        town=data.get("town"),
        place_text=data.get("place"),
        narrative=data.get("narrative", ""),
        consent_contact=bool(data.get("contact")),
        consent_legal=bool(data.get("legal")),
        language=language,
        channel=channel,
        callback_phone=phone,
    )
    recipients = load_keyring(db.session()).recipients(province)
    sealed = envelope.seal(payload, recipients)
    del payload
    return intake.accept(
        db.session(), intake.Submission(province, channel, sealed), cfg, drawn=receipt_pool().take
    )


def receipt_pool() -> ReceiptPool:
    ext = current_app.extensions
    if "reporter.gateway.pool" not in ext:
        cfg = settings()
        ext["reporter.gateway.pool"] = ReceiptPool(intake.hashing(cfg), cfg.ussd_receipt_pool)
    return ext["reporter.gateway.pool"]


@on_rate_limited("gateway.ussd")
def _ussd_limited() -> tuple[Response, int]:
    return _plain("END " + _("Too many requests. Please try again in a few minutes.")), 200


@bp.post("/ussd")
@gateway_view
@limiter.limit(
    lambda: settings().ussd_session_limit, key_func=_ussd_session_key, scope="ussd-session"
)
@limiter.limit(lambda: settings().ussd_global_limit, key_func=_global_key, scope="ussd-global")
def ussd() -> Response:
    cfg = settings()
    req = ADAPTER.ussd_request(request.form)
    if req is None:
        return _plain(ADAPTER.ussd_body(Screen(_("Please dial again."), final=True)))
    if req.too_long:
        return _plain(
            ADAPTER.ussd_body(Screen(_("That answer was too long. Please dial again."), final=True))
        )
    phone = req.phone
    state_box = SessionState(_store(), cfg.secret_key, req.session_id)

    def submit(data: dict[str, Any], kind: str) -> str:
        wants_call = kind == "callback" or bool(data.get("callback"))
        number = callback_number(phone) if wants_call else None
        if kind == "callback":
            data = {**data, "contact": True}
        return seal_and_accept(
            data,
            Channel.HELPLINE if kind == "callback" else Channel.USSD,
            str(data.get("language") or "en"),
            number,
        )

    def open_receipt(text: str) -> tuple[str, str | None] | None:
        try:
            opened = inbox.login(db.session(), text, intake.hashing(cfg))
        except (receipts.ReceiptMalformed, receipts.ReceiptUnknown):
            return None
        to_her = [m for m in inbox.messages(opened) if m.author == "staff"]
        return opened.report.status, (to_her[-1].text if to_her else None)

    ctx = Context(
        languages=cfg.languages,
        ussd_code=cfg.gateway.ussd_code,
        site=_site(),
        submit=submit,
        open_receipt=open_receipt,
        today=dt.date.today(),
    )
    state: dict[str, Any] | None = None
    if not req.answers:
        receipt_pool().warm()  # her receipt is drawn while she answers
    try:
        state = state_box.load()
        screen, new_state = run(ctx, state, req.answers)
        if new_state is not None:
            state_box.save(new_state)
    except Exception as exc:  # never a 500 to a gateway; never the number in a log
        log.warning("ussd request failed: %s", type(exc).__name__)
        db.discard_session()
        with force_locale((state or {}).get("lang") or "en"):
            screen = Screen(
                _("Sorry, the service is not available now. Please try later."), final=True
            )
    body = ADAPTER.ussd_body(screen)
    if len(body) > SCREEN_MAX:  # a guard; tests hold every screen below it
        body = body[: SCREEN_MAX - 1] + "…"
    return _plain(body)


def sender() -> AfricasTalkingSender:
    g = settings().gateway
    return AfricasTalkingSender(g.sms_api_url, g.sms_username, g.sms_api_key, g.sms_sender)


@bp.post("/sms")
@gateway_view
@limiter.limit(lambda: settings().sms_global_limit, key_func=_global_key, scope="sms-global")
def sms_inbound() -> Response:
    msg = ADAPTER.inbound_sms(request.form)
    if msg is None:
        return _plain("", 400)
    try:
        sms.handle(msg, settings(), sender(), seal_and_accept, _site())
    except Exception as exc:
        log.warning("sms handling failed: %s", type(exc).__name__)
        db.discard_session()
    return _plain("")
