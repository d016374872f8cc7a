"""Safety alerts in Debian's Chromium (issue 16): a moderator drafts an alert from a report she
opened in her browser (the reporter's own words are flagged and block the draft), a second staff
member approves it, a member with a code reads it with JavaScript on and off at 360x640 on
emulated 2G, checks a flagged number in three formats and a partial plate, gets "no alerts" for a
clean number, is slowed down after too many checks, and sees nothing once her code is revoked.
Screenshots go to instance/test/screens/alerts-*.png."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.alerts import store
from reporter.models import db
from reporter.models.alerts import Alert
from tests.conftest import TEST_INSTANCE
from tests.support.alerts import (
    DESCRIPTION,
    PLACE,
    SENTINEL_PHONE,
    SENTINEL_PLATE,
    issue_codes,
    staff_client,
    switched_on,
    world,
)
from tests.support.browser import Watch, chromium, live_server
from tests.support.staff import PASSPHRASE, csrf_of, fresh_code
from tests.test_staff_browser import Moderator

SCREENS = TEST_INSTANCE / "screens"
PAGE_LIMIT = 15 * 1024
TWO_G = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250 * 1024 / 8,
    "uploadThroughput": 50 * 1024 / 8,
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Member:
    """A member on a cheap phone: 360x640, 2G emulated through CDP, bytes counted."""

    def __init__(self, browser: Any, base: str, *, javascript: bool) -> None:
        self.ctx = browser.new_context(
            viewport={"width": 360, "height": 640}, java_script_enabled=javascript
        )
        self.page = self.ctx.new_page()
        self.base = base
        self.watch = Watch.on(self.page)
        self.cdp = self.ctx.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.cdp.send("Network.emulateNetworkConditions", TWO_G)
        self.bytes = 0
        self.cdp.on("Network.loadingFinished", self._count)

    def _count(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))

    def opens_alerts(self, code: str) -> str:
        p = self.page
        p.goto(self.base + "/alerts")
        p.fill("#code", code)
        with p.expect_navigation():
            p.click("main button[type=submit]")
        return p.inner_text("main")

    def weighs(self, path: str) -> int:
        """Bytes over the wire of one first visit of a page (cache off): HTML, CSS, JS, icon."""
        self.bytes = 0
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_timeout(300)
        return self.bytes

    def checks(self, query: str) -> str:
        p = self.page
        if "/alerts/check" not in p.url:
            p.goto(self.base + "/alerts/check")
        p.fill("#query", query)
        with p.expect_navigation():
            p.click("main form button[type=submit]")
        return p.inner_text("main")

    def shot(self, name: str) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENS / f"alerts-{name}.png"), full_page=True)


def test_draft_approve_read_check_revoke(app_factory: Callable[..., Flask], browser: Any) -> None:
    app = switched_on(app_factory)
    w = world(app)
    with live_server(app) as base:
        # Given a moderator who opened the report in her browser
        mctx = browser.new_context()
        page = mctx.new_page()
        mwatch = Watch.on(page)
        moderator = Moderator(page, base)
        moderator.logs_in("thandi", fresh_code(app, w.drafter))
        moderator.opens_report(w.report_id, PASSPHRASE)
        # When she drafts an alert from it
        with page.expect_navigation():
            page.click("#draft-alert")
        page.wait_for_selector("#reporter-words-box:not([hidden])", timeout=20000)
        words = page.inner_text("#reporter-words")
        # Then the draft screen lists her own words: the exact place, the name she gave herself
        assert PLACE in words and "Nomsa" in words
        assert "Sipho" not in words  # the offender's name (in "who did it") is not hers
        assert page.input_value("#kind") == "robbery_nonpayment"
        assert page.input_value("#month") == "2026-10"
        # and when she copies them in, the warning shows and the draft cannot be saved
        page.fill("#area", "Johannesburg")
        page.fill("#description", f"{DESCRIPTION} He picked up Nomsa {PLACE}.")
        page.wait_for_selector("#words-warning:not([hidden])")
        warning = page.inner_text("#words-warning")
        assert "Nomsa" in warning and "Voortrekker" in warning
        assert page.is_disabled("#draft-submit")
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / "alerts-draft-warning.png"), full_page=True)
        # When she takes them out and adds the offender's number and a partial plate
        page.fill("#description", DESCRIPTION)
        page.wait_for_selector("#words-warning[hidden]", state="attached")
        page.select_option("#kind", "non_payment")
        page.select_option("#severity", "danger")
        page.fill("#phones", SENTINEL_PHONE)
        page.fill("#plates", SENTINEL_PLATE)
        with page.expect_navigation():
            page.click("#draft-submit")
        assert page.inner_text("#alert-status") == "awaiting approval"
        assert "A second staff member must approve" in page.inner_text("main")
        assert not mwatch.errors and not mwatch.csp_violations(), mwatch.console
        assert not mwatch.foreign_requests(base)
        with app.app_context():
            alert = db.session().scalars(select(Alert)).one()
            alert_id = alert.id
        # And a second moderator approves it
        actx = browser.new_context()
        apage = actx.new_page()
        approver = Moderator(apage, base)
        approver.logs_in("lerato", fresh_code(app, w.approver))
        apage.goto(f"{base}/staff/alerts/{alert_id}")
        with apage.expect_navigation():
            apage.click("#approve-form button")
        assert apage.inner_text("#alert-status") == "published"
        mctx.close()
        actx.close()

        # A coordinator issues member cards
        coordinator = staff_client(app, w.coordinator)
        [(card_on, code_on), (_card_off, code_off)] = issue_codes(coordinator)

        # A member with JavaScript on, on 2G, reads it
        member = Member(browser, base, javascript=True)
        text = member.opens_alerts(code_on)
        assert DESCRIPTION in text and "Danger" in text
        assert SENTINEL_PHONE not in member.page.content()
        weight_js = member.weighs("/alerts")
        member.shot("list-js")
        # checks the flagged number in three formats and a partial plate
        for query in ("082 555 0147", "+27 82 555 0147", "0027825550147", "918-27"):
            assert DESCRIPTION in member.checks(query), query
        member.shot("check-match")
        # gets "no alerts" for a clean number
        clean = member.checks("083 555 0147")
        assert "No alerts for this number" in clean and DESCRIPTION not in clean
        member.shot("check-clean")
        # and is slowed down after too many checks
        slowed = ""
        for _ in range(store.FREE_CHECKS + 2):
            slowed = member.checks("071 000 0000")
            if "Too many checks" in slowed:
                break
        assert "Too many checks" in slowed
        member.shot("check-slowed")
        assert not member.watch.errors and not member.watch.csp_violations()
        assert not member.watch.foreign_requests(base)

        # A member with JavaScript off reads and checks too
        nojs = Member(browser, base, javascript=False)
        assert DESCRIPTION in nojs.opens_alerts(code_off)
        weight_nojs = nojs.weighs("/alerts")
        nojs.shot("list-nojs")
        assert DESCRIPTION in nojs.checks("0825550147")
        weight_check = nojs.weighs("/alerts/check")
        assert not nojs.watch.foreign_requests(base)

        # When the coordinator revokes the first card, that member sees nothing any more
        coordinator.post(
            "/staff/alerts/codes/revoke",
            data={"csrf_token": csrf_of(coordinator, "/staff/alerts/codes"), "card": card_on},
        )
        member.page.goto(base + "/alerts")
        gone = member.page.inner_text("main")
        assert DESCRIPTION not in gone and member.page.locator("#code").count() == 1
        member.shot("revoked")
        member.ctx.close()
        nojs.ctx.close()
    print(
        f"\nalerts page weight: JS on {weight_js} B, JS off {weight_nojs} B, "
        f"check page {weight_check} B (limit {PAGE_LIMIT})"
    )
    assert weight_js <= PAGE_LIMIT and weight_nojs <= PAGE_LIMIT and weight_check <= PAGE_LIMIT
