"""USSD screens and SMS replies in every language, counted after translation.

USSD: every fixed screen (with an error line above it, the longest case), the receipt screens,
the "My receipt" screens and the gateway's own messages fit SCREEN_MAX (182 characters with
"CON "/"END ") in every language, and the receipt screen is never cut. The paged lists are
checked by tests/test_ussd.py, which walks them in every language.

SMS: a reply costs no more parts in any language than in English. A text in the GSM 7-bit
alphabet takes 160 characters in one part, 153 a part when longer; one character outside it
(ê, š, ḓ, ṱ, the typographic ’ ...) makes the whole text UCS-2: 70 in one part, 67 a part.
The receipt SMS and the "how to report" SMS are at most two parts in every language.

Cost: well under a second (no database, no app requests).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _

from reporter.config import AVAILABLE_LANGUAGES
from reporter.gateway import ussd

SCREEN_MAX = 182
SMS_MAX_PARTS = 2
CODE = "*120*7777#"
SITE = "https://example.org"
RECEIPT = "1234 5678 9012 3456"

# the GSM 03.38 default alphabet; the extension table's characters count twice
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_parts(text: str) -> int:
    """How many SMS parts a text takes (concatenated SMS, as a gateway splits it)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        length = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
    return 1 if length <= 70 else math.ceil(length / 67)


def test_sms_parts_counts_like_a_phone() -> None:
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2 and sms_parts("a" * 306) == 2
    assert sms_parts("ê" * 70) == 1 and sms_parts("ê" * 71) == 2 and sms_parts("ḓ" * 134) == 2
    assert sms_parts("a" * 150 + "š") == 3  # one letter outside GSM: UCS-2 for the whole text


def _ctx(
    languages: tuple[str, ...] = AVAILABLE_LANGUAGES, latest: str | None = None
) -> ussd.Context:
    return ussd.Context(
        languages,
        CODE,
        SITE,
        lambda data, kind: "1234567890123456",
        lambda text: ("in_review", latest),
        dt.date(2026, 12, 2),
    )


def _in_every_language(app: Flask) -> Iterator[str]:
    with app.test_request_context():
        for lang in AVAILABLE_LANGUAGES:
            with force_locale(lang):
                yield lang


@pytest.fixture()
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(LANGUAGES=",".join(AVAILABLE_LANGUAGES))


def test_every_fixed_ussd_screen_fits_in_every_language(app: Flask) -> None:
    too_long = []
    for lang in _in_every_language(app):
        for step in ("lang", "home", "town", "text", "contact", "legal", "receipt"):
            menu = ussd.Menu(_ctx(), {"step": step, "lang": lang, "data": {}})
            for error in (None, ussd.not_listed(), _("Please answer the question below.")):
                body = menu.screen(error).text
                if len("CON " + body) > SCREEN_MAX:
                    too_long.append((lang, step, len(body) + 4, body))
    assert too_long == []


def test_the_receipt_screens_fit_uncut_in_every_language(app: Flask) -> None:
    for lang in _in_every_language(app):
        for kind in ("ussd", "callback"):
            menu = ussd.Menu(_ctx(), {"step": "legal", "lang": lang, "data": {}})
            body = menu._finish(kind).text
            # never cut: the receipt and how to follow up are all there
            assert "…" not in body and RECEIPT in body and CODE in body, (lang, kind, body)
            assert len("END " + body) <= SCREEN_MAX, (lang, kind)


def test_my_receipt_screens_fit_in_every_language(app: Flask) -> None:
    for lang in _in_every_language(app):
        for latest in (None, "A short message.", "A long message from a paralegal. " * 12):
            menu = ussd.Menu(_ctx(latest=latest), {"step": "receipt", "lang": lang, "data": {}})
            first = menu.answer("1234567890123456")
            assert first is not None and len("CON " + first.text) <= SCREEN_MAX, (lang, latest)
            rest = menu.screen()
            assert len("END " + rest.text) <= SCREEN_MAX, lang
        gone = ussd.Menu(
            ussd.Context(
                AVAILABLE_LANGUAGES,
                CODE,
                SITE,
                lambda d, k: "0" * 16,
                lambda t: None,
                dt.date(2026, 12, 2),
            ),
            {"step": "receipt", "lang": lang, "data": {}},
        ).answer("0" * 16)
        assert gone is not None and len("END " + gone.text) <= SCREEN_MAX, lang


def test_the_gateways_own_messages_fit_in_every_language(app: Flask) -> None:
    for lang in _in_every_language(app):
        for text in (
            _("Too many requests. Please try again in a few minutes."),
            _("Please dial again."),
            _("That answer was too long. Please dial again."),
            _("Sorry, the service is not available now. Please try later."),
            _("This session has ended. Please dial again."),
        ):
            assert len("END " + text) <= SCREEN_MAX, (lang, text)


def _sms_replies() -> dict[str, str]:
    return {
        "callme": _("We got your call-me request. A paralegal will call you back."),
        "receipt": _(
            "Received. Your receipt: %(receipt)s. Keep it safe and delete this SMS. "
            "To follow up, dial %(code)s (My receipt) or visit %(site)s/followup",
            receipt=RECEIPT,
            code=CODE,
            site=SITE,
        ),
        "other": _(
            "To report safely, dial %(code)s (free) or visit %(site)s. Or send "
            "%(keyword)s, your province and what happened.",
            code=CODE,
            site=SITE,
            keyword="REPORT",
        ),
    }


def test_every_sms_reply_costs_no_more_parts_than_in_english(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        english = {kind: sms_parts(text) for kind, text in _sms_replies().items()}
    assert max(english.values()) <= SMS_MAX_PARTS
    over = []
    for lang in _in_every_language(app):
        for kind, text in _sms_replies().items():
            parts = sms_parts(text)
            if parts > english[kind] or parts > SMS_MAX_PARTS:
                over.append((lang, kind, parts, english[kind], len(text), text))
    assert over == []
