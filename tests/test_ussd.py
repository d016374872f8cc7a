"""USSD through POST /gateway/ussd, whole sessions as Africa's Talking drives them (issue 15)."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask_babel import force_locale

from reporter.config import AVAILABLE_LANGUAGES
from reporter.crypto import envelope, receipts
from reporter.gateway import ussd
from reporter.models import db
from reporter.models.private import Message, Receipt
from tests.support.gateway import (
    KEY,
    RECEIPT,
    Dial,
    gateway_app,
    open_report,
    option,
    reports,
)

ALL = ",".join(AVAILABLE_LANGUAGES)


@pytest.fixture()
def gw(app_factory) -> Flask:  # type: ignore[no-untyped-def]
    return gateway_app(app_factory, LANGUAGES=ALL)


def report_path(dial: Dial, lang_index: int, narrative: str, contact: str = "1") -> str:
    """Language, Report, the first category after one "More", who, province, typed town,
    this month, text, contact, legal partner: END with the receipt."""
    first = dial.start()
    assert "isiZulu" in first and "Sepedi" in first
    home = dial.send(str(lang_index))
    assert home.startswith("CON ") and home.count("\n") == 3
    cats = dial.send("1")
    assert "\n0 " in cats  # the vocabulary is paged
    dial.send("0")
    dial.send("1")  # a category from the second page
    dial.send("1")  # who did it
    town = dial.send("3")  # Gauteng is the third province
    assert town.startswith("CON ")
    dial.send("Johannesburg")
    dial.send("1")  # this month
    dial.send(narrative)
    dial.send(contact)
    return dial.send("2")  # the legal partner may not see it


def test_a_report_in_every_language_ends_with_a_receipt_sealed_on_arrival(gw: Flask) -> None:
    client = gw.test_client()
    for index, lang in enumerate(AVAILABLE_LANGUAGES, start=1):
        dial = Dial(client)
        end = report_path(dial, index, f"Police took my money * and condoms {lang}")
        assert end.startswith("END ") and RECEIPT.search(end), end
        assert "*120*7777#" in end
    stored = reports(gw)
    assert len(stored) == len(AVAILABLE_LANGUAGES)
    by_lang = {}
    for report in stored:
        assert report.channel == "ussd" and report.province == "GP"
        payload = open_report(gw, report)
        by_lang[payload["language"]] = payload
        assert payload["channel"] == "ussd" and payload["callback"]["phone"].startswith("+2783")
        assert payload["place"]["town"] == "Johannesburg" and payload["consent"]["legal"] is False
        assert payload["when"]["month"] is not None
    assert set(by_lang) == set(AVAILABLE_LANGUAGES)
    # a '*' she typed in her text stays in her text
    assert by_lang["en"]["narrative"] == "Police took my money * and condoms en"


def test_no_call_back_means_no_number_in_the_envelope(gw: Flask) -> None:
    dial = Dial(gw.test_client())
    end = report_path(dial, 1, "short", contact="2")
    assert RECEIPT.search(end)
    payload = open_report(gw, reports(gw)[0])
    assert "callback" not in payload and payload["consent"]["contact"] is True
    assert dial.phone not in str(payload)


def walk_lists(client, lang_index: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page of every list and every error screen, in one language."""
    seen: list[str] = []
    dial = Dial(client)
    dial.start()
    seen.append(dial.send("x"))  # the language screen, wrong
    dial.send(str(lang_index))
    seen.append(dial.send("9"))  # home, out of range
    for _step in range(2):  # categories, then perpetrators
        for _page in range(4):
            seen.append(dial.send("0"))
        seen.append(dial.send("abc"))
        seen.append(dial.send("1"))
    provinces = seen[-1]
    for _page in range(3):
        seen.append(dial.send("0"))
    seen.append(dial.send("1"))  # Eastern Cape: the town screen
    seen.append(dial.send("1"))  # choose from a list
    for _page in range(4):
        seen.append(dial.send("0"))
    seen.append(dial.send("1"))  # a town: the month screen
    seen.append(dial.send("99"))
    seen.append(dial.send("7"))  # earlier: the year
    seen.append(dial.send("1"))  # the text screen
    seen.append(dial.send("x" * 600))  # too long
    seen.append(dial.send("0"))  # skip: contact
    seen.append(dial.send("4"))
    seen.append(dial.send("3"))  # legal
    seen.append(dial.send("7"))
    assert provinces
    return seen


def test_every_screen_fits_182_characters_in_every_language(gw: Flask) -> None:
    client = gw.test_client()
    for index, _lang in enumerate(AVAILABLE_LANGUAGES, start=1):
        screens = walk_lists(client, index)
        assert all(len(s) <= 182 for s in screens)
        assert all(s.startswith("CON ") for s in screens), screens
    # every province's town list, every page, in the language with the longest labels
    with gw.test_request_context():
        for lang in AVAILABLE_LANGUAGES:
            with force_locale(lang):
                for step in ("cat", "perp", "prov", "month", "year"):
                    menu = ussd.Menu(_ctx(), {"step": step, "lang": lang, "data": {}})
                    header, items = menu._list(step)
                    for p in ussd.pages(header, items):
                        assert 1 <= len(p.items) <= 9
                    assert sum(len(p.items) for p in ussd.pages(header, items)) == len(items)


def _ctx() -> ussd.Context:
    import datetime as dt

    return ussd.Context(
        ("en",),
        "*120*7777#",
        "https://example.org",
        lambda d, k: "0" * 16,
        lambda t: None,
        dt.date(2026, 12, 2),
    )


def test_fixed_screens_leave_room_for_longer_translations(gw: Flask) -> None:
    # new strings are English in catalogs that lack them; a translation half as long again
    # must still fit (the lists are paged to fit whatever their labels' length)
    with gw.test_request_context():
        for step in ("home", "town", "text", "contact", "legal", "receipt"):
            body = (
                ussd.Menu(_ctx(), {"step": step, "lang": "en", "data": {}})
                .screen(ussd.not_listed())
                .text
            )
            assert int(len(body) * 1.5) + 4 <= 182, (step, body)


def test_wrong_or_missing_key_is_403_and_nothing_else(gw: Flask) -> None:
    client = gw.test_client()
    gateway_rules = [r for r in gw.url_map.iter_rules() if r.rule.startswith("/gateway")]
    assert {r.rule for r in gateway_rules} >= {"/gateway/ussd", "/gateway/sms"}
    for rule in gateway_rules:
        assert getattr(gw.view_functions[rule.endpoint], "_gateway_callback", False), rule
        for query in ("", "?key=", "?key=wrong", f"?key={KEY}x", f"?key={KEY[:-1]}"):
            resp = client.post(rule.rule + query, data={"sessionId": "s", "text": ""})
            assert resp.status_code == 403 and resp.get_data() == b"", (rule, query)
            assert "Set-Cookie" not in resp.headers


def test_no_key_configured_refuses_every_callback(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    resp = app.test_client().post("/gateway/ussd?key=", data={"sessionId": "s", "text": ""})
    assert resp.status_code == 403


def test_bad_input_gets_a_clear_screen_never_a_500(gw: Flask) -> None:
    client = gw.test_client()
    dial = Dial(client)
    dial.start()
    dial.send("1")
    assert "Not in the list" in dial.send("Z")
    assert "Not in the list" in dial.send("-1")
    # a 10 KB field
    big = Dial(client)
    big.start()
    assert big.post("1*" + "x" * 10_000).startswith("END ")
    huge_phone = Dial(client, phone="9" * 10_000)
    assert huge_phone.start().startswith("END ")
    # no sessionId at all
    resp = client.post(f"/gateway/ussd?key={KEY}", data={"text": ""})
    assert resp.status_code == 200 and resp.get_data(as_text=True).startswith("END ")
    # a text that does not fit the session (fewer answers than already given)
    fit = Dial(client)
    fit.start()
    fit.send("1")
    fit.send("1")
    assert "Please answer" in fit.post("1")
    # answers for a session the server never saw
    ghost = Dial(client)
    assert ghost.post("1*1*2").startswith("END ")
    # many answers in one request (a shortcut dial) are applied in order
    quick = Dial(client)
    quick.start()
    assert "Who did it?" in quick.post("1*1*1")


def test_a_replayed_finished_session_gets_end(gw: Flask) -> None:
    client = gw.test_client()
    dial = Dial(client)
    end = report_path(dial, 1, "they beat me")
    # the gateway retries the last request: the same END, the same receipt, one report
    assert dial.post("*".join(dial.answers)) == end
    assert dial.send("1").startswith("END ") and "ended" in dial.screens[-1]
    assert dial.post("").startswith("END ")
    assert len(reports(gw)) == 1


def test_a_dropped_session_loses_only_itself_and_a_resent_request_shows_the_same_screen(
    gw: Flask,
) -> None:
    client = gw.test_client()
    dropped, other = Dial(client), Dial(client)
    dropped.start()
    dropped.send("1")
    other.start()
    other.send("1")
    screen = other.send("1")
    # the network drops the first one; she dials again: a new session from the start
    again = Dial(client, phone=dropped.phone)
    assert "English" in again.start()
    # the other session is untouched, and a resent request (same text) repeats its screen
    assert other.post("*".join(other.answers)) == screen
    assert "Who did it?" in other.send("1")
    # and the dropped one, resumed by the gateway within its time, goes on where it was
    assert "What happened?" in dropped.send("1")


def test_my_receipt_shows_status_and_the_latest_message_in_two_screens(gw: Flask) -> None:
    client = gw.test_client()
    end = report_path(Dial(client), 1, "please help")
    receipt = RECEIPT.search(end).group(1).replace(" ", "")  # type: ignore[union-attr]
    report = reports(gw)[0]
    with gw.app_context():
        row = db.session().query(Receipt).filter_by(report_id=report.id).one()
        for text in ("An older message", "Which station were the officers from? " * 6):
            env = envelope.seal(
                {"text": text},
                [
                    envelope.b64d(row.reply_public_key)
                    if isinstance(row.reply_public_key, str)
                    else row.reply_public_key
                ],
            )
            db.session().add(Message(report_id=report.id, direction="to_reporter", envelope=env))
        db.session().commit()
    dial = Dial(client)
    dial.start()
    dial.send("1")
    assert "16-digit" in dial.send("2")
    first = dial.send(receipt)
    assert first.startswith("CON ") and "Received, not yet read" in first
    assert "Which station" in first and "An older" not in first
    assert dial.send("1").startswith("END ")
    wrong = Dial(client)
    wrong.start()
    wrong.send("1")
    wrong.send("2")
    assert "could not find" in wrong.send("1234 5678 9012 3456")
    with pytest.raises(receipts.ReceiptMalformed):
        receipts.normalise("12")


def test_please_call_me_from_the_menu_files_a_call_back_request(gw: Flask) -> None:
    dial = Dial(gw.test_client())
    dial.start()
    dial.send("1")
    assert "Which province?" in dial.send("3")
    end = dial.send("4")  # KwaZulu-Natal
    assert end.startswith("END ") and RECEIPT.search(end)
    report = reports(gw)[0]
    assert report.channel == "helpline" and report.province == "KZN"
    payload = open_report(gw, report)
    assert payload["callback"] == {"phone": dial.phone} and payload["channel"] == "helpline"


def test_callback_number_forms() -> None:
    assert ussd.callback_number("+27 82 123 4567") == "+27821234567"
    assert ussd.callback_number("0821234567") == "+27821234567"
    assert ussd.callback_number("27821234567") == "+27821234567"
    assert ussd.callback_number("abc") is None


def test_the_receipt_screen_names_the_web_inbox_when_it_fits(gw: Flask) -> None:
    end = report_path(Dial(gw.test_client()), 1, "x")
    assert re.search(r"https://example.org/followup", end)


def test_the_moderators_queue_shows_ussd_sms_and_call_backs_like_the_others(gw: Flask) -> None:
    from tests.support.staff import log_in, make_staff

    client = gw.test_client()
    report_path(Dial(client), 1, "in the queue")
    dial = Dial(client)
    dial.start()
    dial.send("1")
    dial.send("3")
    dial.send("3")  # a call-back request from Gauteng
    member = make_staff(gw, "coord", ["coordinator"], iterations=1000)
    staff = gw.test_client()
    assert log_in(gw, staff, member).status_code == 303
    html = staff.get("/staff/queue").get_data(as_text=True)
    assert "USSD (sealed on arrival)" in html and "Helpline / call-back request" in html
    assert dial.phone not in html


def test_receipts_drawn_ahead_open_like_any_other(gw: Flask) -> None:
    from reporter.gateway.pool import ReceiptPool
    from reporter.services import intake

    settings = gw.extensions["reporter.settings"]
    pool = ReceiptPool(intake.hashing(settings), size=2)
    pool.warm()
    deadline = time.time() + 20
    drawn = None
    while drawn is None and time.time() < deadline:
        drawn = pool.take()
        time.sleep(0.05)
    assert drawn is not None
    receipt, derived, _reply = drawn
    assert receipts.derive(receipt, intake.hashing(settings)) == derived
    assert pool.take() != drawn


def pick(dial: Dial, screen: str, label: str) -> str:
    """Page with "0 More" until `label` is listed, then choose it."""
    for _page in range(5):
        if label in screen:
            return dial.send(option(screen, label))
        screen = dial.send("0")
    raise AssertionError(label)


def test_other_paths_skip_the_town_choose_from_the_list_and_an_earlier_year(gw: Flask) -> None:
    client = gw.test_client()
    skip = Dial(client)
    skip.start()
    for answer in ("1", "1", "2"):
        skip.send(answer)
    pick(skip, skip.send("4"), "North West")
    for answer in ("2", "7", "3", "0", "3"):
        skip.send(answer)
    end = skip.send("1")
    assert RECEIPT.search(end), end
    listed = Dial(client)
    listed.start()
    for answer in ("1", "1", "1"):
        listed.send(answer)
    pick(listed, listed.send("1"), "Western Cape")
    towns = listed.send("1")
    town = towns.splitlines()[1].split(" ", 1)[1]
    listed.send("1")
    listed.send("2")  # last month
    listed.send("0")  # no text
    listed.send("2")
    assert RECEIPT.search(listed.send("1"))
    by_place = {open_report(gw, r)["place"]["town"]: open_report(gw, r) for r in reports(gw)}
    skipped = by_place[None]
    assert skipped["place"] == {"town_id": None, "town": None, "text": None}
    assert skipped["when"]["month"] is None and skipped["narrative"] == ""
    assert skipped["consent"] == {"contact": False, "legal": True} and "callback" not in skipped
    assert skipped["province"] == "NW"
    chosen = by_place[town]
    assert chosen["place"]["town_id"] is not None and chosen["province"] == "WC"
    assert chosen["consent"]["contact"] is True and "callback" not in chosen
