"""Issue 11, the staff side, walked in Debian's Chromium as a moderator walks it: log in,
unlock, read the queue, open a report (which moves it to "in review"), read labels instead of
codes, keep a draft through Esc, answer the reporter, publish with the town found by name after
a refused attempt, reject without a reason (told what to fix) and then with one. The reporters
check their inboxes through the page: the status moved, and a staff-only note never reaches
her. Also: TOTP reuse is told as such, the exports page shows no command line, /verify names
no file a bundle lacks. Screenshots go to /tmp/staff-story-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.domain import vocabulary
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.private import Message, Report
from reporter.models.public import Incident
from reporter.models.staff import Staff
from tests.conftest import table_dump
from tests.support.browser import Watch, chromium, live_server
from tests.support.dates import REPORTED
from tests.support.intake import secrets_of
from tests.support.pages import screenshot
from tests.support.staff import PASSPHRASE, fresh_code, grant, make_staff
from tests.test_intake_browser import Reporter
from tests.test_staff_browser import Moderator

DRAFT = "Which station were the officers from? (draft, typed before Esc)"
REASON = "SENTINEL-staff-only-reason-4kq: same night, same rank, told twice"
# the reporter's inbox labels (reporter/templates/forms/inbox.html), English
UNREAD, IN_REVIEW, COUNTED, CLOSED = (
    "Received, not yet read",
    "A paralegal is looking at it",
    "Checked and counted",
    "Closed",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Desk(Moderator):
    """The moderator's further steps on the staff pages (page-object helper)."""

    def shot(self, name: str) -> None:
        screenshot(self.page, f"staff-story-{name}", full=True)

    def queue_rows(self) -> list[dict[str, str]]:
        self.page.goto(self.base + "/staff/queue")
        return [
            {
                key: row.locator(f"td.{key}").inner_text().strip()
                for key in ("received", "ref", "province", "channel", "status", "assignee", "files")
            }
            for row in self.page.locator("tr.report-row").all()
        ]

    def opens_from_queue(self, ref: str) -> None:
        p = self.page
        p.goto(self.base + "/staff/queue")
        with p.expect_navigation():
            p.click(f"tr.report-row[data-ref='{ref}'] a")

    def unlocks(self) -> None:
        p = self.page
        if p.locator("#unlock-form:not([hidden])").count():
            p.fill("#passphrase", PASSPHRASE)
            p.click("#unlock-form button[type=submit]")
        p.wait_for_selector("#report-fields:not([hidden])", timeout=20000)

    def searches_town(self, typed: str) -> list[str]:
        self.page.fill("#town-search", typed)
        return [o.inner_text() for o in self.page.locator("#town option").all()][1:]

    def publishes(self) -> None:
        with self.page.expect_navigation():
            self.page.click("#publish-form button[type=submit]")

    def sets_status(self, status: str, reason: str = "") -> None:
        p = self.page
        p.fill("#reason", reason)
        with p.expect_navigation():
            p.click(f"#status-form button[value={status}]")

    def alert(self) -> str:
        return self.page.inner_text("[role=alert]")


def a_photo() -> bytes:
    """A small real PNG (the page re-encodes photos to drop their hidden details)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 60)).save(out, "PNG")
    return out.getvalue()


def inbox_status(reporter: Reporter, receipt: str) -> tuple[str, str]:
    """She opens /followup, logs in with her receipt unless her inbox is still open (it stays
    open for a few minutes), and reads her status there."""
    p = reporter.page
    p.goto(reporter.base + "/followup")
    if p.locator("#receipt").count():
        reporter.opens_inbox(receipt)
    return p.inner_text("#status"), p.inner_text("main")


@pytest.mark.browser
def test_moderator_story_from_queue_to_publish_and_reject(
    app: Flask, browser: Any, database_url: str
) -> None:
    moderator = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    colleague = make_staff(app, "sipho", ["moderator"], ["GP"], iterations=1000)
    with live_server(app) as base:
        # Given two reporters who sent reports the same day, one with a photo
        ra = Reporter(browser.new_context(viewport={"width": 360, "height": 640}).new_page(), base)
        ra.opens_the_form()
        ra.tells("SENTINEL-story-A two officers took my money and my condoms")
        ra.page.set_input_files(
            "#attachments",
            files=[{"name": "fine.png", "mimeType": "image/png", "buffer": a_photo()}],
        )
        ra.sends()
        receipt_a = ra.receipt()
        rb = Reporter(browser.new_context(viewport={"width": 360, "height": 640}).new_page(), base)
        rb.opens_the_form()
        rb.tells("SENTINEL-story-B the same officers again")
        rb.sends()
        receipt_b = rb.receipt()
        with app.app_context():
            rows = db.session().execute(select(Report.id, Report.received_on)).all()
            with_file = next(r.id for r in db.session().scalars(select(Report)) if r.attachments)
        id_a = with_file
        id_b = next(r.id for r in rows if r.id != id_a)
        ref_a, ref_b = id_a[:6], id_b[:6]
        # and a third report, already taken by a colleague
        with app.app_context():
            third = db.session().get(Report, id_b)
            db.session().add(
                Report(
                    province="GP",
                    channel="web-nojs",
                    size_bucket=1024,
                    envelope=third.envelope,
                    assigned_to=colleague.id,
                    status="in_review",
                )
            )
            db.session().commit()
        # and reporter A, before anyone read it, sees "not yet read"
        status, _ = inbox_status(ra, receipt_a)
        assert status == UNREAD

        # When the moderator logs in (password + TOTP) and looks at the queue
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        watch = Watch.on(page)
        desk = Desk(page, base)
        desk.logs_in(moderator.login, fresh_code(app, moderator))
        assert page.url.endswith("/staff/queue")
        queue = desk.queue_rows()
        desk.shot("1-queue")
        # Then every row can be told apart: date, short reference, channel, files, assignee
        assert len(queue) == 3 and len({r["ref"] for r in queue}) == 3
        by_ref = {r["ref"]: r for r in queue}
        assert by_ref[ref_a]["files"] == "1 file" and by_ref[ref_b]["files"] == "none"
        assert by_ref[ref_a]["channel"] == "Web, sealed in her browser"
        assert by_ref[ref_a]["status"] == "New" and by_ref[ref_a]["assignee"] == "nobody"
        assert by_ref[ref_a]["province"] == "Gauteng"
        other = next(r for r in queue if r["ref"] not in (ref_a, ref_b))
        assert other["assignee"] == "sipho" and other["channel"] == "Web, no JavaScript"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", by_ref[ref_a]["received"])

        # When she opens report A from the queue and unlocks her key
        desk.opens_from_queue(ref_a)
        desk.unlocks()
        desk.shot("2-report")
        # Then she reads labels, not codes
        cats = page.inner_text("#f-categories")
        assert str(vocabulary.category("extortion").label) in cats
        assert str(vocabulary.category("confiscation").label) in cats
        assert "extortion" not in cats and "confiscation" not in cats
        assert page.inner_text("#f-perpetrators") == str(vocabulary.perpetrator("saps").label)
        assert "October 2026" in page.inner_text("#f-when")
        assert page.inner_text("#f-province") == "Gauteng"
        # and opening it moved it to in review, assigned to her, audited
        assert page.inner_text("#report-status") == "In review"
        assert page.inner_text("#report-assignee") == "thandi"
        with app.app_context():
            report = db.session().get(Report, id_a)
            assert report.status == "in_review" and report.assigned_to == moderator.id
            actions = [
                (e.action, e.object)
                for e in db.session().scalars(
                    select(AuditEvent).where(AuditEvent.staff_id == moderator.id)
                )
            ]
            assert ("open", id_a) in actions and ("status", f"{id_a}:in_review") in actions
        # and reporter A sees that someone is looking at it
        status, _ = inbox_status(ra, receipt_a)
        assert status == IN_REVIEW

        # When she types a draft and presses Esc (out of habit, or by mistake)
        page.fill("#message-text", DRAFT)
        page.focus("#message-text")
        page.keyboard.press("Escape")
        page.locator("body").press("Escape")
        page.wait_for_timeout(500)
        # Then she is still on the report and her draft is still there
        assert page.url.endswith(f"/staff/reports/{id_a}")
        assert page.input_value("#message-text") == DRAFT
        # When she sends it, reporter A reads it in her inbox
        desk.messages_reporter(DRAFT)
        _, inbox = inbox_status(ra, receipt_a)
        assert DRAFT in inbox

        # When she publishes with the month written out in words
        page.goto(f"{base}/staff/reports/{id_a}")
        desk.unlocks()
        assert page.is_checked("input[name=categories][value=extortion]")  # prefilled
        assert page.input_value("#month") == f"{REPORTED:%Y-%m}"  # the month she chose
        page.fill("#month", "October 2026")
        # and finds the town by typing part of its name (no id typed, nothing downloaded)
        found = desk.searches_town("johannes")
        assert found == ["Johannesburg"], found
        town_id = page.input_value("#town")
        assert page.inner_text("#town-count").startswith("One town matches")
        page.check("#confirm")
        page.select_option("#verification_level", "corroborated")
        desk.publishes()
        desk.unlocks()
        desk.shot("3-publish-refused")
        # Then the staff page says what to fix and keeps what she chose
        assert "Month (YYYY-MM): Use YYYY-MM." in desk.alert()
        assert "Bad Request" not in page.inner_text("body")
        assert page.input_value("#town") == town_id
        assert page.is_checked("#confirm") and page.is_checked(
            "input[name=categories][value=confiscation]"
        )
        assert page.input_value("#verification_level") == "corroborated"
        assert page.input_value("#month") == "October 2026"  # not overwritten from the report
        # When she fills in the month and publishes
        page.fill("#month", "2026-10")
        desk.publishes()
        assert "published" in page.inner_text("main")
        with app.app_context():
            inc = db.session().scalars(select(Incident)).one()
            assert inc.province == "GP" and inc.verification_level == "corroborated"
            assert db.session().get(Report, id_a).status == "verified"
        status, _ = inbox_status(ra, receipt_a)
        assert status == COUNTED

        # When she opens report B and rejects it without a reason
        desk.opens_from_queue(ref_b)
        desk.unlocks()
        desk.sets_status("rejected")
        desk.shot("4-reject-refused")
        # Then she is told to write the reason, on the staff page, and nothing changed
        assert "write the reason" in desk.alert()
        assert page.locator("#status-form #reason").count() == 1
        with app.app_context():
            assert db.session().get(Report, id_b).status == "in_review"
        # When she marks it a duplicate of a reference that does not exist
        page.fill("#of", "ffffff" if not id_a.startswith("ffffff") else "eeeeee")
        with page.expect_navigation():
            page.click("#duplicate-form button[type=submit]")
        assert "No other report in your provinces has the reference" in desk.alert()
        assert page.input_value("#of") in ("ffffff", "eeeeee")
        # When she rejects with a reason
        desk.unlocks()
        desk.sets_status("rejected", REASON)
        desk.unlocks()
        desk.shot("5-rejected")
        assert "rejected" in page.inner_text("main")
        assert page.inner_text("#report-status") == "Rejected"
        notes = page.inner_text("#f-messages")
        assert REASON in notes and "Staff note (the reporter never sees it)" in notes
        assert not watch.csp_violations() and not watch.foreign_requests(base), watch.console
        assert not watch.errors, watch.errors

        # Then reporter B sees her report closed, and no trace of the staff-only note
        status, inbox = inbox_status(rb, receipt_b)
        screenshot(rb.page, "staff-story-6-inbox-b", full=True)
        assert status == CLOSED
        assert REASON not in inbox
        assert "cannot be shown" not in inbox and "From you" not in inbox
        ctx.close()

    # And the note is stored as a staff-only kind, sealed to the case keys, never in clear
    with app.app_context():
        kinds = {
            m.direction
            for m in db.session().scalars(select(Message).where(Message.report_id == id_b))
        }
        assert kinds == {"staff_note"}
        note = db.session().scalars(select(Message).where(Message.report_id == id_b)).one()
        assert envelope.open_envelope(note.envelope, secrets_of(app)["GP"])["text"] == REASON
    assert REASON not in table_dump(database_url)


@pytest.mark.browser
def test_reused_totp_code_says_wait_for_the_next(app: Flask, browser: Any) -> None:
    member = make_staff(app, "naledi", ["moderator"], ["GP"], iterations=1000)
    with live_server(app) as base:
        page = browser.new_page()
        desk = Desk(page, base)
        # Given a moderator who logged in with a code and logged out
        code = fresh_code(app, member)
        desk.logs_in(member.login, code)
        assert "/staff/" in page.url and "/login" not in page.url
        with page.expect_navigation():
            page.click("#logout-form button[type=submit]")
        # When she logs in again within the same 30 s with the same code
        desk.logs_in(member.login, code)
        # Then she is told why, and what to do
        assert page.inner_text("[role=alert]") == "That code was just used. Wait for the next code."
        assert page.input_value("#login") == member.login
        # while a wrong code is still just "wrong"
        desk.logs_in(member.login, "000000" if code != "000000" else "111111")
        assert "just used" not in page.inner_text("[role=alert]")
        page.close()


@pytest.mark.browser
def test_exports_page_has_no_command_line_and_verify_names_only_bundle_files(
    app: Flask, browser: Any
) -> None:
    from reporter.export.bundle import CASEWORK_FILES, MANIFEST, SIGNATURE

    officer = make_staff(app, "advocacy-officer", ["advocate"])
    with live_server(app) as base:
        page = browser.new_page()
        desk = Desk(page, base)
        # Given an advocacy officer on the exports page
        desk.logs_in(officer.login, fresh_code(app, officer))
        page.goto(base + "/staff/exports")
        desk.shot("7-exports")
        text = page.inner_text("main")
        # Then she sees no command line
        assert "flask" not in text and "--app" not in text and "wsgi" not in text
        # When anyone opens the bundle checker
        page.goto(base + "/verify")
        page.click("details summary")
        desk.shot("8-verify")
        text = page.inner_text("main")
        # Then every file it names is one a bundle holds
        named = set(
            re.findall(r"[\w./-]+\.(?:json|sig|html|png|pdf|geojson|csv|md|txt|zip)\b", text)
        ) - {".zip"}
        assert named, text
        assert named <= {*CASEWORK_FILES, MANIFEST, SIGNATURE}, named
        page.close()


def test_staff_member_name_is_shown_not_an_id(app: Flask) -> None:
    """The queue's assignee column is a name (a cheap check of the row the story reads)."""
    with app.app_context():
        staff = Staff(login="zanele", password_hash="x", roles=["moderator"], provinces=["GP"])
        db.session().add(staff)
        db.session().flush()
        db.session().add(
            Report(
                province="GP", channel="web-js", size_bucket=1024, envelope={}, assigned_to=staff.id
            )
        )
        db.session().commit()
    member = make_staff(app, "lindiwe", ["moderator"], ["GP"], with_key=False)
    from tests.support.staff import log_in

    client = app.test_client()
    assert log_in(app, client, member).status_code == 303
    html = client.get("/staff/queue").get_data(as_text=True)
    assert '<td class="assignee">zanele</td>' in html
