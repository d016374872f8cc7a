"""A report taken on the helpline, in Debian's Chromium: a moderator files it for a caller at
/staff/intake, her browser seals it (only envelopes leave it), the receipt is shown on a card
that prints alone, the caller's receipt opens her inbox, and the report is in the queue and
opens like any other. Screenshots: /tmp/reporter-intake-*.png."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.private import Report
from tests.support.browser import CHROMIUM, Watch, chromium, live_server
from tests.support.dates import REPORTED
from tests.support.intake import secrets_of
from tests.support.pages import record_posts
from tests.support.staff import PASSPHRASE, fresh_code, grant, make_staff
from tests.test_staff_browser import Moderator

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

SENTINEL = "SENTINEL-Helpline-p4m9"
CALLBACK = "+27825550199"
SHOTS = Path(tempfile.gettempdir())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Taker(Moderator):
    """A moderator taking a report for someone else (page-object helper)."""

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"reporter-intake-{name}.png"), full_page=True)

    def takes_a_call(self, narrative: str, source: str = "helpline") -> str:
        p = self.page
        p.goto(self.base + "/staff/intake")
        p.check(f"#source-{source}")
        p.check("#agreed")
        p.check("#consent_contact")
        p.fill("#callback", CALLBACK)
        p.select_option("#language", "zu")
        p.check("input[name=categories][value=extortion]")
        p.check("input[name=perpetrators][value=saps]")
        p.select_option("#month", str(REPORTED.month))
        p.select_option("#year", str(REPORTED.year))
        p.select_option("#province", "GP")
        p.fill("#place", "the taxi rank")
        p.fill("#narrative", narrative)
        p.fill("#perpetrator_details", f"badge {SENTINEL}")
        p.click("#intake-send")
        p.wait_for_selector("#receipt-card:not([hidden])", timeout=30_000)
        return p.inner_text("#card-receipt")


def test_a_helpline_call_becomes_a_report_with_a_receipt_card(app: Flask, browser: Any) -> None:
    member = make_staff(app, "lindiwe", ["moderator"], ["GP"], iterations=1000)
    grant(app, member, "GP")
    posted = record_posts(app)
    with live_server(app) as base:
        # Given a moderator of Gauteng, logged in
        page = browser.new_context().new_page()
        watch = Watch.on(page)
        taker = Taker(page, base)
        taker.logs_in(member.login, fresh_code(app, member))
        # When she forgets to say where the report came from, she is told before anything is sent
        page.goto(base + "/staff/intake")
        page.click("#intake-send")
        assert "where the report came from" in page.inner_text("#intake-status")
        taker.shot("form")
        # When she takes a call on the helpline and files it
        receipt = taker.takes_a_call(f"{SENTINEL} they took my money at the rank")
        taker.shot("card")
        # Then the card shows a 16-digit receipt and names neither Sisonke nor a report
        # (safe to carry); the address only when she chooses to print it
        assert re.fullmatch(r"(\d{4} ){3}\d{4}", receipt)
        page.emulate_media(media="print")
        page.screenshot(path=str(SHOTS / "reporter-intake-card-print.png"))
        printed = page.inner_text("#receipt-card")
        assert receipt in printed and not re.search(r"sisonke|report|followup", printed, re.I)
        page.emulate_media(media="screen")
        page.check("#card-with-address")
        assert "/followup" in page.inner_text("#card-address")
        # and only envelopes left her browser
        intake_posts = [b for b in posted.bodies if b"sealed-" in b or b'name="envelope"' in b]
        assert intake_posts and all(
            SENTINEL.encode() not in b and CALLBACK.encode() not in b for b in posted.bodies
        )
        assert not watch.csp_violations() and not watch.foreign_requests(base)
        # and the report is stored with its source, sealed to the province's keys
        with app.app_context():
            report = db.session().scalars(select(Report)).one()
            report_id, channel = report.id, report.channel
            opened = envelope.open_envelope(report.envelope, secrets_of(app)["GP"])
            assert [
                e.object
                for e in db.session().scalars(
                    select(AuditEvent).where(AuditEvent.action == "intake")
                )
            ] == ["helpline:GP"]
        assert channel == "helpline" and opened["source"] == "helpline"
        assert opened["callback"] == {"phone": CALLBACK} and opened["language"] == "zu"
        assert opened["consent"] == {"contact": True, "legal": False}
        # When she is done, the number leaves the screen and the form is empty for the next call
        page.click("#card-done")
        assert page.is_hidden("#receipt-card") and page.input_value("#narrative") == ""
        assert receipt.replace(" ", "") not in page.content().replace(" ", "")

        # When the caller logs in with the receipt she was read
        caller = browser.new_context().new_page()
        caller.goto(base + "/followup")
        caller.fill("#receipt", receipt)
        caller.click("main button[type=submit]")
        caller.wait_for_load_state()
        # Then her inbox opens
        assert "/followup" in caller.url and caller.locator("#receipt").count() == 0

        # And the report is in the moderator's queue and opens like any other
        page.goto(base + "/staff/queue")
        row = page.locator(f"tr.report-row[data-ref='{report_id[:6]}']")
        assert row.count() == 1 and "helpline" in row.inner_text().lower()
        taker.opens_report(report_id, PASSPHRASE)
        assert page.inner_text("#f-narrative").startswith(SENTINEL)
        taker.shot("opened")
