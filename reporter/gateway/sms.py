"""Inbound SMS: a report keyword files a short sealed report (channel "sms") and the receipt
goes back by SMS; a "please call me" keyword files a call-back request for the helpline queue
(a report with channel "helpline" and the number in its envelope's "callback"); any other
text gets a reply pointing to the USSD code and the web address.

SMS is not encrypted: the network, the gateway and her phone's inbox hold the text and the
reply (README, "Channels"). The number is used for the reply and sealed into a call-back
request; it is never stored, logged or used as a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _

from reporter.config import Settings
from reporter.domain.enums import Channel
from reporter.domain.vocabulary import PROVINCES
from reporter.gateway.ussd import callback_number
from reporter.services.gateways import AfricasTalkingSender, InboundSms, SmsSendFailed

log = logging.getLogger(__name__)
SMS_NARRATIVE_MAX = 1_600


def _keyword(text: str, keywords: dict[str, str]) -> tuple[str, str] | None:
    """(language, the words after it) when the text starts with one of the keywords."""
    words = text.split()
    upper = [w.upper().strip(".,!:") for w in words]
    for kw in sorted(keywords, key=lambda k: -len(k.split())):
        n = len(kw.split())
        if upper[:n] == kw.split():
            return keywords[kw], " ".join(words[n:])
    return None


def _province(rest: str) -> tuple[str | None, str]:
    words = rest.split()
    if not words:
        return None, rest
    first = words[0].upper().strip(".,:")
    if first in PROVINCES:
        return first, " ".join(words[1:])
    for code, name in PROVINCES.items():
        n = len(name.split())
        if " ".join(w.casefold() for w in words[:n]).strip(".,:") == name.casefold():
            return code, " ".join(words[n:])
    return None, rest


def handle(
    msg: InboundSms,
    cfg: Settings,
    sender: AfricasTalkingSender,
    accept: Callable[[dict[str, Any], str, str, str | None], str],
    site: str,
) -> str:
    """Handle one inbound SMS, send the reply; return what kind it was."""
    g = cfg.gateway
    languages = set(cfg.languages)
    called = _keyword(msg.text, g.callme_keywords)
    report = None if called else _keyword(msg.text, g.report_keywords)
    kind = "callback" if called else "report" if report else "other"
    language = (called or report or ("en", ""))[0]
    language = language if language in languages else "en"
    with force_locale(language):
        if called:
            province, _rest = _province(called[1])
            number = callback_number(msg.phone)
            accept(
                {"province": province, "contact": True, "narrative": ""},
                Channel.HELPLINE,
                language,
                number,
            )
            reply = _("We got your call-me request. A paralegal will call you back.")
        elif report:
            province, rest = _province(report[1])
            receipt = accept(
                {"province": province, "narrative": rest[:SMS_NARRATIVE_MAX], "contact": True},
                Channel.SMS,
                language,
                None,
            )
            grouped = " ".join(receipt[i : i + 4] for i in range(0, 16, 4))
            reply = _(
                "Received. Your receipt: %(receipt)s. Keep it safe and delete this SMS. "
                "To follow up, dial %(code)s (My receipt) or visit %(site)s/followup",
                receipt=grouped,
                code=g.ussd_code,
                site=site,
            )
        else:
            keyword = next((k for k, v in g.report_keywords.items() if v == "en"), "REPORT")
            reply = _(
                "To report safely, dial %(code)s (free) or visit %(site)s. Or send "
                "%(keyword)s, your province and what happened.",
                code=g.ussd_code,
                site=site,
                keyword=keyword,
            )
    try:
        sender.send(msg.phone, reply)
    except SmsSendFailed as exc:
        log.warning("sms reply not sent (%s): %s", kind, exc)
    return kind
