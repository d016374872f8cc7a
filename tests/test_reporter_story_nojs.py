"""The reporter's journey with JavaScript off (Tor Browser on "Safest", or a phone browser that
runs no script), as she lives it, in order: a 360x640 phone on 2G emulated through the Chrome
DevTools protocol, a double tap on Send, a reload while she saves the number in Contacts, Back,
her first answer in the inbox, Quick exit, and the inbox ended on the server.

Screenshots land in the temp folder as reporter-nojs-*.png, to be looked at by a person."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import InboxSession, Message, Receipt, Report
from reporter.services.keys import load_keyring
from tests.support import pages
from tests.support.browser import CHROMIUM, chromium, live_server
from tests.support.intake import secrets_of

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

SENTINEL = "SENTINEL-NoJS-Story-5tq"
EXIT = "https://exit.example/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Phone(pages.Phone):
    """Her phone: 360x640, touch, 2G, JavaScript off (unless asked)."""

    def __init__(self, browser: Any, base: str, js: bool = False) -> None:
        super().__init__(browser, base, js=js, shots="reporter-nojs", timeout=60_000)
        # the neutral site Quick exit goes to, answered here (the machine has no network)
        self.answers(EXIT + "**", "<title>Weather</title><p>Sunny</p>")

    def tells(self, narrative: str, month: str = "1") -> None:
        p = self.page
        p.check("input[name=categories][value=extortion]")
        p.check("input[name=perpetrators][value=saps]")
        p.select_option("#month", month)
        p.select_option("#province", "GP")
        p.fill("#narrative", narrative)

    def receipt(self) -> str:
        return self.page.inner_text("#receipt")

    def logs_in(self, receipt: str) -> None:
        self.opens("/followup")
        self.page.fill("#receipt", receipt)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("#status")


def reports(app: Flask) -> list[Report]:
    with app.app_context():
        return list(db.session().scalars(select(Report)).all())


def messages(app: Flask) -> list[Message]:
    with app.app_context():
        return list(db.session().scalars(select(Message)).all())


def test_a_double_tap_then_a_reload_gives_one_report_and_keeps_her_receipt(
    app: Flask, browser: Any
) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        # Given a reporter without JavaScript who has filled in the form on 2G
        phone.opens("/report")
        assert phone.page.input_value("#month") == ""  # no month chosen for her
        phone.tells(f"{SENTINEL} two officers took my money")
        # When she taps Send twice in her hurry
        phone.page.dblclick("#send")
        phone.page.wait_for_url(re.compile(r"/report/received$"))
        receipt = phone.receipt()
        phone.shot("receipt")
        assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt)
        # Then one report was stored
        assert len(reports(app)) == 1
        # When Android reloads the tab while she saves the number in Contacts
        phone.page.reload()
        # Then the same receipt is still there, and nothing was sent again
        assert phone.receipt() == receipt and len(reports(app)) == 1
        assert "minutes" in phone.page.inner_text("#receipt-kept")
        # When she goes Back to the form, her words are not there and Send makes nothing new
        phone.page.go_back()
        phone.page.wait_for_selector("#report-form")
        assert SENTINEL not in phone.page.input_value("#narrative")
        phone.shot("back-to-form")
        # When she goes forward again and says she wrote it down, the number is gone for good
        phone.opens("/report/received")
        phone.page.click("#written")
        phone.opens("/report/received")
        assert phone.page.locator("#receipt").count() == 0
        assert SENTINEL not in phone.page.content()
        phone.shot("receipt-gone")
        assert not phone.watch.foreign_requests(base)
        phone.close()
    assert len(reports(app)) == 1


def test_resending_the_same_form_after_the_answer_was_lost_gives_the_same_receipt(
    app: Flask, browser: Any
) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens("/report")
        phone.tells("The network dropped after I sent this")
        # the report arrives, but she never sees the answer (the network dropped)
        form = {el: phone.page.input_value(f"input[name={el}]") for el in ("csrf_token", "form_id")}
        first = phone.page.request.post(
            base + "/report",
            form={
                **form,
                "categories": "extortion",
                "perpetrators": "saps",
                "year": "2026",
                "month": "1",
                "province": "GP",
                "narrative": "The network dropped after I sent this",
                "website": "",
            },
            max_redirects=0,
        )
        assert first.status == 303
        # When she taps Send again on the same page
        phone.page.tap("#send")
        phone.page.wait_for_url(re.compile(r"/report/received$"))
        # Then she gets a receipt, and there is still one report
        assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", phone.receipt())
        assert len(reports(app)) == 1
        phone.close()


def moderator_asks(app: Flask, text: str, note: str | None = None) -> None:
    """A moderator's question sealed to her reply key (and a staff-only note, if given)."""
    with app.app_context():
        sess = db.session()
        report = sess.scalars(select(Report)).one()
        row = sess.scalars(select(Receipt)).one()
        keyring = load_keyring(sess)
        to = [*keyring.recipients(report.province), envelope.b64d(row.reply_public_key)]
        sess.add(
            Message(
                report_id=report.id,
                direction="to_reporter",
                envelope=envelope.seal({"v": 1, "from": "moderator", "text": text}, to),
            )
        )
        if note is not None:
            sess.add(
                Message(
                    report_id=report.id,
                    direction="staff_note",
                    envelope=envelope.seal(
                        {"v": 1, "from": "moderator", "text": note},
                        keyring.recipients(report.province),
                    ),
                )
            )
        sess.commit()


def sent_receipt(phone: Phone) -> str:
    phone.opens("/report")
    phone.tells(f"{SENTINEL} at the station")
    phone.page.tap("#send")
    phone.page.wait_for_url(re.compile(r"/report/received$"))
    return phone.receipt()


@pytest.mark.parametrize("lang", ["", "/zu"])
def test_her_first_answer_in_the_inbox_is_sent_the_first_time(
    app_factory: Callable[..., Flask], browser: Any, lang: str
) -> None:
    app = app_factory(LANGUAGES="en,zu")
    with live_server(app) as base:
        phone = Phone(browser, base)
        receipt = sent_receipt(phone)
        moderator_asks(
            app,
            "Which station were they from?",
            note="SENTINEL-staff-only-note: same officers as last month",
        )
        # Given she opens her inbox with her receipt
        phone.opens(lang + "/followup")
        phone.page.fill("#receipt", receipt)
        phone.page.click("button[type=submit]")
        phone.page.wait_for_selector("#status")
        # Then the address is the inbox's own (the receipt is not in a POST to reload)
        assert phone.page.url == base + lang + "/followup"
        body = phone.page.inner_text("main")
        assert "Which station were they from?" in body
        # And the staff-only note is not listed at all, not even as "cannot be shown"
        assert "SENTINEL-staff-only-note" not in body
        assert phone.page.locator("ol.messages li").count() == 1
        # When she answers, the first time
        phone.page.fill("#message", "Hillbrow station, two of them")
        phone.page.click("#reply-send")
        # Then it was sent, and a reload sends nothing again
        phone.page.wait_for_selector("#sent")
        phone.shot(f"inbox-answered{lang.replace('/', '-')}")
        phone.page.reload()
        assert len([m for m in messages(app) if m.direction == "from_reporter"]) == 1
        assert "Hillbrow station, two of them" in phone.page.inner_text("main")
        # When she closes her inbox, the first time too
        phone.page.click("#inbox-close")
        phone.page.wait_for_selector("#receipt")
        assert "Hillbrow" not in phone.page.content()
        phone.close()


def test_closing_or_quick_exit_ends_her_inbox_on_the_server(
    app_factory: Callable[..., Flask], browser: Any
) -> None:
    app = app_factory(QUICK_EXIT_URL=EXIT)
    with live_server(app) as base:
        phone = Phone(browser, base)
        receipt = sent_receipt(phone)
        moderator_asks(app, "SENTINEL-question: are you safe now?")
        phone.logs_in(receipt)
        # Given someone copies her cookie while the inbox is open
        copied = phone.context.cookies()
        # When she taps Quick exit
        phone.page.click("#quick-exit")
        phone.page.wait_for_url(EXIT)
        # Then Back does not show her inbox
        phone.page.go_back()
        assert "SENTINEL-question" not in phone.page.content()
        phone.shot("exit-back")
        # And the copied cookie opens nothing: the inbox ended on the server
        with app.app_context():
            assert db.session().scalars(select(InboxSession)).all() == []
        thief = Phone(browser, base)
        thief.context.add_cookies(copied)
        thief.opens("/followup")
        assert "SENTINEL-question" not in thief.page.content()
        assert thief.page.locator("#receipt").count() == 1  # the log-in form, not her inbox
        thief.close()
        phone.close()


def test_an_answer_typed_while_the_inbox_closed_is_kept_and_sent_after_the_receipt(
    app: Flask, browser: Any
) -> None:
    with live_server(app) as base:
        phone = Phone(browser, base)
        receipt = sent_receipt(phone)
        phone.logs_in(receipt)
        # the whole inbox page has arrived over 2G before she types
        phone.page.wait_for_load_state("networkidle")
        answer = "I took a long time to write this, it was hard"
        phone.page.locator("#message").fill(answer)
        assert phone.page.input_value("#message") == answer
        # Given her inbox closed while she wrote (15 minutes passed)
        with app.app_context():
            db.session().execute(delete(InboxSession))
            db.session().commit()
        # When she taps Send (her words still all there)
        assert phone.page.input_value("#message") == answer
        phone.page.click("#reply-send")
        # Then she is asked for her receipt and her words are still on the page (read once
        # the page has arrived: over 2G the textarea is in the document while its text is
        # still streaming in, which read early gave "I took a long t")
        phone.page.wait_for_selector("#pending")
        phone.page.wait_for_load_state("load")
        assert "it was hard" in phone.page.input_value("#pending")
        assert not [m for m in messages(app) if m.direction == "from_reporter"]
        phone.shot("pending")
        # When she types her receipt, the answer is sent
        phone.page.fill("#receipt", receipt)
        phone.page.click("button[type=submit]")
        phone.page.wait_for_selector("#sent")
        phone.page.wait_for_load_state("load")
        assert len([m for m in messages(app) if m.direction == "from_reporter"]) == 1
        assert "it was hard" in phone.page.inner_text("main")
        phone.close()
    # and what she wrote was sealed: the province key opens it
    msg = [m for m in messages(app) if m.direction == "from_reporter"][0]
    assert envelope.open_envelope(msg.envelope, secrets_of(app)["GP"])["text"].endswith("hard")


@pytest.mark.parametrize(
    "path", ["/", "/report", "/followup", "/map", "/zu/report", "/report/received", "/nowhere"]
)
def test_every_public_page_has_a_neutral_title(
    app_factory: Callable[..., Flask], browser: Any, path: str
) -> None:
    app = app_factory(LANGUAGES="en,zu")
    with live_server(app) as base:
        phone = Phone(browser, base)
        phone.opens(path)
        title = phone.page.title()
        assert title == ("Notes" if not path.startswith("/zu") else title)
        for word in ("Sisonke", "report", "Report", "abuse", "inbox", "Map", "receipt"):
            assert word not in title
        phone.close()


def test_the_deployment_chooses_the_neutral_title(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(PAGE_TITLE="Recipes").test_client()
    for path in ("/", "/report", "/followup", "/map"):
        assert "<title>Recipes</title>" in client.get(path).get_data(as_text=True)
