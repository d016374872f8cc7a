"""Real-browser intake (Debian's Chromium via Playwright): with JavaScript the browser posts
envelopes only; with JavaScript off the same report still goes through and gives a receipt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Attachment, Report
from tests.support.browser import Watch, chromium, live_server
from tests.support.dates import REPORTED
from tests.support.intake import secrets_of
from tests.support.pages import record_posts

SENTINEL = "SENTINEL-Browser-5k2p"
FILE_BYTES = b"\x89PNG\r\n\x1a\n SENTINEL-Browser-5k2p-photo"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Reporter:
    """A reporter on the report page (page-object helper)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.posts: list[bytes] = []
        page.on("request", self._capture)

    def _capture(self, req: Any) -> None:
        if req.method == "POST":
            self.posts.append(req.post_data_buffer or b"")

    def opens_the_form(self) -> None:
        self.page.goto(self.base + "/report")

    def tells(self, narrative: str, with_file: bool = False) -> None:
        p = self.page
        p.check("input[name=categories][value=extortion]")
        p.check("input[name=categories][value=confiscation]")
        p.check("input[name=perpetrators][value=saps]")
        p.select_option("#month", str(REPORTED.month))
        p.select_option("#year", str(REPORTED.year))
        p.select_option("#province", "GP")
        p.fill("#place", f"near the rank {SENTINEL}")
        p.fill("#narrative", narrative)
        p.fill("#perpetrator_details", f"badge {SENTINEL}")
        if with_file:
            p.set_input_files(
                "#attachments",
                files=[{"name": "fine.png", "mimeType": "image/png", "buffer": FILE_BYTES}],
            )
            # not a real image (it could not be cleaned of metadata): sent as it is
            p.check("#keep_original")

    def sends(self) -> str:
        with self.page.expect_navigation():
            self.page.click("#send")
        return self.page.inner_text("main")

    def receipt(self) -> str:
        return self.page.inner_text("#receipt")

    def opens_inbox(self, receipt: str) -> str:
        self.page.goto(self.base + "/followup")
        self.page.fill("#receipt", receipt)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        return self.page.inner_text("main")


def stored(app: Flask) -> tuple[Report, list[Attachment]]:
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        return report, list(db.session().scalars(select(Attachment)).all())


def test_with_javascript_only_envelopes_leave_the_browser(app: Flask, browser: Any) -> None:
    posted = record_posts(app)
    with live_server(app) as base:
        page = browser.new_page()
        watch = Watch.on(page)
        # Given a reporter with JavaScript on
        reporter = Reporter(page, base)
        reporter.opens_the_form()
        # When she tells what happened, with a photo, and sends it
        reporter.tells(f"{SENTINEL} two officers took my money", with_file=True)
        text = reporter.sends()
        # Then she is told her phone locked it, and gets a receipt
        assert "locked (encrypted) on your phone" in text
        receipt = reporter.receipt()
        # And what left the browser held envelopes only
        body = b"".join(posted.bodies)
        assert len(posted.bodies) == 1
        assert b"SENTINEL-Browser" not in body
        assert b'name="envelope"' in body and b'name="narrative"' not in body
        assert b"PNG" not in body
        assert not watch.csp_violations() and not watch.foreign_requests(base)
        assert not watch.errors
        # And the stored envelope opens, with the case key, to her words and her photo
        report, atts = stored(app)
        assert report.channel == "web-js"
        keys = secrets_of(app)
        payload = envelope.open_envelope(report.envelope, keys["GP"])
        assert payload["narrative"].startswith(SENTINEL)
        assert payload["categories"] == ["extortion", "confiscation"]
        assert envelope.open_attachment(atts[0].header, atts[0].body, keys["GP"]) == FILE_BYTES
        assert payload["attachments"][0]["kc"] == atts[0].header["kc"]
        # And her receipt opens her inbox
        assert "Received, not yet read" in reporter.opens_inbox(receipt)
        page.close()


def test_without_javascript_the_report_still_goes_through(app: Flask, browser: Any) -> None:
    with live_server(app) as base:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        reporter = Reporter(page, base)
        reporter.opens_the_form()
        reporter.tells(f"{SENTINEL} without javascript", with_file=True)
        text = reporter.sends()
        assert "locked (encrypted) on our server" in text
        receipt = reporter.receipt()
        report, atts = stored(app)
        assert report.channel == "web-nojs" and len(atts) == 1
        assert "Received, not yet read" in reporter.opens_inbox(receipt)
        context.close()


def test_javascript_checks_before_sealing(app: Flask, browser: Any) -> None:
    with live_server(app) as base:
        page = browser.new_page()
        reporter = Reporter(page, base)
        reporter.opens_the_form()
        page.click("#send")
        assert "Tick at least one thing" in page.inner_text("#js-status")
        assert reporter.posts == []
        page.close()


def test_when_sealing_fails_nothing_is_sent(app: Flask, browser: Any) -> None:
    posted = record_posts(app)
    with live_server(app) as base:
        page = browser.new_page()

        # Given a browser whose crypto library breaks while sealing
        def broken_nacl(route: Any) -> None:
            body = route.fetch().text() + "\nnacl.box = function () { throw new Error('x'); };"
            route.fulfill(body=body, content_type="text/javascript")

        page.route("**/static/vendor/nacl-fast.min.js", broken_nacl)
        reporter = Reporter(page, base)
        reporter.opens_the_form()
        reporter.tells(f"{SENTINEL} must not leave")
        page.click("#send")
        # Then she is told it was NOT sent, and nothing was posted
        page.wait_for_selector("#js-status:has-text('NOT sent')")
        assert posted.bodies == []
        page.close()
