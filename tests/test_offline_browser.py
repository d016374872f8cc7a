"""Outreach with no signal (issue 15, part 4), in Debian's Chromium on a 360x640 phone: the
report page opened once keeps working offline (a service worker), reports filled offline are
sealed at once and only their envelopes are kept (IndexedDB) in a visible "locked, waiting to
send" list, and when the network returns they are sent and the receipts shown, or kept locked
under a PIN until she opens the page again. Nothing readable is in the phone's storage.

Screenshots: /tmp/reporter-story-offline-*.png."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Attachment, Report
from tests.support.browser import CHROMIUM, chromium, live_server
from tests.support.intake import secrets_of
from tests.support.pages import record_posts
from tests.test_reporter_story_js import Phone

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

SENTINEL = "SENTINEL-Offline-q7x2"
PIN = "480913"
FINE_SLIP = b"%PDF-1.4 fine slip " + SENTINEL.encode() + b" R1000"

# Everything this origin keeps on the phone: every IndexedDB record and every cached response.
READ_STORAGE = """async () => {
  const out = {idb: [], cache: []};
  for (const info of await indexedDB.databases()) {
    const d = await new Promise((ok, no) => {
      const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = no; });
    for (const name of d.objectStoreNames) {
      const rows = await new Promise(ok => {
        const r = d.transaction(name).objectStore(name).getAll();
        r.onsuccess = () => ok(r.result); });
      out.idb.push(JSON.stringify(rows, (k, v) => v instanceof Uint8Array ? Array.from(v) : v));
      for (const row of rows) for (const body of (row.bodies || []))
        out.idb.push(new TextDecoder("latin1").decode(body));
    }
    d.close();
  }
  for (const name of await caches.keys()) {
    const c = await caches.open(name);
    for (const req of await c.keys()) {
      out.cache.push(req.url + "\\n" + await (await c.match(req)).text());
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class OutreachPhone(Phone):
    """A peer educator's phone that goes in and out of signal."""

    def loses_signal(self) -> None:
        # the context (pages and the service worker) and this page's own 2G emulation
        self.context.set_offline(True)
        self.offline()

    def gets_signal(self) -> None:
        self.context.set_offline(False)
        self.online()

    def until(self, condition: str, seconds: int = 30) -> None:
        """Wait for an async condition (wait_for_function takes a promise as truthy)."""
        ok = self.page.evaluate(
            """async ([cond, ms]) => {
            const check = new Function("return (async () => " + cond + ")()");
            for (const end = Date.now() + ms; Date.now() < end;) {
              if (await check()) return true;
              await new Promise(r => setTimeout(r, 100));
            }
            return false; }""",
            [condition, seconds * 1000],
        )
        assert ok, condition

    def opens_and_is_ready_offline(self, path: str = "/report") -> None:
        self.opens(path)
        self.until("(await navigator.serviceWorker.ready) && !!navigator.serviceWorker.controller")
        self.until(
            f"!!(await caches.match('{path}')) && !!(await caches.match('/static/js/report.js'))"
        )

    def fills(self, narrative: str, province: str = "GP") -> None:
        self.tells(narrative)
        if province != "GP":
            self.page.select_option("#province", province)

    def sends_offline(self, n: int) -> None:
        self.page.tap("#send")
        self.page.wait_for_function(
            f"() => document.querySelectorAll('#outbox-list li.waiting').length === {n}",
            timeout=30_000,
        )

    def shows_outbox(self, name: str) -> None:
        self.page.locator("#outbox").scroll_into_view_if_needed()
        self.shot(name)

    def storage(self) -> str:
        got = self.page.evaluate(READ_STORAGE)
        # which record holds the sentinel, if one does (the first line names a cached response)
        self.found = [entry[:200] for entry in got["idb"] + got["cache"] if SENTINEL in entry]
        return "\n".join(got["idb"] + got["cache"])

    def waits_for_receipts(self, n: int, kind: str = ".outbox-receipt") -> list[str]:
        self.page.wait_for_function(
            f"() => document.querySelectorAll('#outbox-list {kind}').length === {n}",
            timeout=120_000,
        )
        return [t.strip() for t in self.page.locator(f"#outbox-list {kind}").all_inner_texts()]


def stored_reports(app: Flask) -> list[dict[str, Any]]:
    secret = secrets_of(app)["GP"]
    with app.app_context():
        return [
            envelope.open_envelope(r.envelope, secret)
            for r in db.session().scalars(select(Report)).all()
        ]


def test_the_storage_reader_finds_what_is_there(app: Flask, browser: Any) -> None:
    """The check below can fail: a readable record in IndexedDB is found."""
    with live_server(app) as base:
        phone = OutreachPhone(browser, base)
        phone.opens("/report")
        phone.page.evaluate(
            """s => new Promise(ok => { const r = indexedDB.open("probe", 1);
            r.onupgradeneeded = () => r.result.createObjectStore("x", {autoIncrement: true});
            r.onsuccess = () => { const t = r.result.transaction("x", "readwrite");
              t.objectStore("x").put({text: s}); t.oncomplete = ok; }; })""",
            SENTINEL,
        )
        assert SENTINEL in phone.storage()
        phone.close()


def test_a_peer_educator_queues_three_reports_offline_and_they_go_when_signal_returns(
    app: Flask, browser: Any
) -> None:
    posted = record_posts(app)
    with live_server(app) as base:
        # Given a peer educator who opened the report page once, with signal
        phone = OutreachPhone(browser, base)
        phone.opens_and_is_ready_offline()
        # When she walks out of signal and opens it again
        phone.loses_signal()
        phone.page.reload(timeout=60_000)
        assert phone.page.evaluate("navigator.onLine") is False
        assert phone.page.is_visible("#report-form")
        assert phone.page.evaluate("document.documentElement.classList.contains('has-js')")
        # and fills in three reports, one after another, each sent with no signal
        for i in range(3):
            phone.fills(f"{SENTINEL} report {i}: they took my condoms")
            if i == 0:  # with the fine slip as a PDF: its bytes are sealed on the phone too
                phone.page.set_input_files(
                    "#attachments",
                    files=[
                        {"name": "fine.pdf", "mimeType": "application/pdf", "buffer": FINE_SLIP}
                    ],
                )
            phone.sends_offline(i + 1)
            assert phone.page.input_value("#narrative") == ""  # free for the next one
        phone.shows_outbox("offline-queued")
        status = phone.page.inner_text("#js-status")
        assert "locked" in status.lower()
        # Then nothing readable is on the phone: only envelopes, and the page as served
        kept = phone.storage()
        assert kept.count('"ct":') >= 3 and SENTINEL not in kept, phone.found
        assert "/report/received" not in kept and "followup" not in re.sub(
            r'href="[^"]*followup"', "", kept
        )
        assert posted.bodies == []  # nothing left the phone
        # When the signal returns
        phone.gets_signal()
        receipts = phone.waits_for_receipts(3)
        phone.shows_outbox("offline-sent")
        assert phone.page.inner_text("#js-status") == ""  # no longer "locked, waiting"
        # Then three receipts are shown, three reports stored, each sealed on the phone
        assert len(set(receipts)) == 3 and all(
            re.fullmatch(r"(\d{4} ){3}\d{4}", r) for r in receipts
        )
        opened = stored_reports(app)
        assert sorted(p["narrative"] for p in opened) == [
            f"{SENTINEL} report {i}: they took my condoms" for i in range(3)
        ]
        assert all(p["channel"] == "web-js" for p in opened)
        [with_file] = [p for p in opened if p["attachments"]]
        assert with_file["attachments"][0]["name"] == "fine.pdf"
        with app.app_context():
            [attachment] = db.session().scalars(select(Attachment)).all()
            assert (
                envelope.open_attachment(attachment.header, attachment.body, secrets_of(app)["GP"])
                == FINE_SLIP
            )
        with app.app_context():
            assert {r.channel for r in db.session().scalars(select(Report))} == {"web-js"}
        assert all(SENTINEL.encode() not in b for b in posted.bodies)
        # and the phone keeps nothing of them, not even the envelopes
        left = phone.storage()
        assert '"ct":' not in left and SENTINEL not in left
        assert not any(r.replace(" ", "") in left.replace(" ", "") for r in receipts)
        # and a receipt opens her inbox
        phone.opens("/followup")
        phone.page.fill("#receipt", receipts[1])
        phone.page.click("button[type=submit]")
        phone.page.wait_for_url(re.compile(r"/followup"), timeout=60_000)
        assert phone.page.is_visible("#inbox-status, .status, main h1")
        phone.close()


def test_receipts_stay_locked_under_her_pin_until_she_opens_the_page_again(
    app: Flask, browser: Any
) -> None:
    with live_server(app) as base:
        # Given a report filled with no signal, and a PIN chosen for the receipts
        phone = OutreachPhone(browser, base)
        phone.opens_and_is_ready_offline()
        phone.loses_signal()
        phone.page.reload(timeout=60_000)
        phone.fills(f"{SENTINEL} at the station")
        phone.sends_offline(1)
        phone.page.fill("#pin", PIN)
        phone.page.click("#outbox-pin button")
        phone.page.wait_for_function(  # the PIN's key is made (PBKDF2, 600,000 rounds)
            "() => document.querySelector('#outbox-pin').hidden", timeout=30_000
        )
        assert '"wrap":' in phone.storage()
        # When she closes the page, gets signal, and the page (opened again) sends the report
        phone.page.goto("about:blank")
        phone.gets_signal()
        phone.opens("/report")
        phone.page.wait_for_function(
            "() => document.querySelectorAll('#outbox-list li.sent').length === 1", timeout=120_000
        )
        phone.shows_outbox("offline-locked")
        # Then the receipt is on the phone only sealed: no digits, no words
        kept = phone.storage()
        assert SENTINEL not in kept, phone.found
        assert '"receipt":{"v":1' in kept.replace(" ", "")
        assert not re.search(r"\d{4} \d{4} \d{4} \d{4}", phone.page.inner_text("#outbox"))
        # When she types a wrong PIN, nothing opens; with hers, the receipt shows
        phone.page.fill("#pin", "000000")
        phone.page.click("#outbox-pin button")
        phone.page.wait_for_function(
            "() => /PIN/.test(document.getElementById('outbox-status').textContent)", timeout=30_000
        )
        assert phone.page.locator(".outbox-receipt").count() == 0
        phone.page.fill("#pin", PIN)
        phone.page.click("#outbox-pin button")
        receipt = phone.waits_for_receipts(1)[0]
        phone.shows_outbox("offline-opened")
        assert re.fullmatch(r"(\d{4} ){3}\d{4}", receipt)
        assert len(stored_reports(app)) == 1
        # and once opened it is no longer kept on the phone
        assert '"receipt":{"v":1' not in phone.storage().replace(" ", "")
        phone.close()


def test_the_worker_is_served_from_the_root_and_keeps_no_receipt_or_inbox(client: Any) -> None:
    resp = client.get("/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert "worker-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    source = resp.get_data(as_text=True)
    page = re.search(r"var PAGE = /(.+)/;", source).group(1)  # type: ignore[union-attr]
    pattern = re.compile(page.replace("\\/", "/"))
    assert pattern.match("/report") and pattern.match("/zu/report")
    for path in ("/report/received", "/followup", "/staff/queue", "/staff/intake", "/"):
        assert not pattern.match(path), path
    assets = json.loads(re.search(r"var ASSETS = (\[.*?\]);", source, re.S).group(1))  # type: ignore[union-attr]
    assert all(a.startswith("/static/") for a in assets)


def test_a_send_whose_answer_is_lost_goes_again_as_the_same_report(
    app: Flask, browser: Any
) -> None:
    posted = record_posts(app)
    with live_server(app) as base:
        # Given a report locked on the phone with no signal
        phone = OutreachPhone(browser, base)
        phone.opens_and_is_ready_offline()
        phone.loses_signal()
        phone.page.reload(timeout=60_000)
        phone.fills(f"{SENTINEL} answer lost")
        phone.sends_offline(1)
        # When the signal returns but the server's answer to the first send is lost
        lost: list[int] = []

        def lose_first_answer(route: Any) -> None:
            if route.request.method == "POST" and not lost:
                route.fetch()  # it reaches the server, which stores the report
                lost.append(1)
                route.abort()
            else:
                route.continue_()

        phone.page.route("**/report", lose_first_answer)
        phone.gets_signal()
        phone.page.wait_for_function(
            "() => /try again/i.test(document.getElementById('outbox-status').textContent)",
            timeout=60_000,
        )
        assert lost and len(stored_reports(app)) == 1
        assert phone.page.locator("#outbox-list li.waiting").count() == 1
        # and the phone sends it again
        phone.page.evaluate("window.ReporterOffline.sendAll()")
        receipt = phone.waits_for_receipts(1)[0]
        # Then it is the same report: one stored, both posts with the same form id
        assert len(stored_reports(app)) == 1
        ids = {
            re.search(rb'name="form_id"\r\n\r\n([^\r]+)', b).group(1)  # type: ignore[union-attr]
            for b in posted.bodies
            if b'name="envelope"' in b
        }
        assert len([b for b in posted.bodies if b'name="envelope"' in b]) == 2 and len(ids) == 1
        assert re.fullmatch(r"(\d{4} ){3}\d{4}", receipt)
        phone.close()
