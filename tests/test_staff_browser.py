"""End to end in Debian's Chromium: a reporter (JS on) submits; a moderator logs in with
password and TOTP, sets up and unlocks her key, opens the report and sees the narrative,
messages the reporter, who reads it with her receipt; the moderator verifies and publishes.
The passphrase and the narrative never reach the server in a request body, a table or a log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.domain import gazetteer, vocabulary
from reporter.models import db
from reporter.models.private import Report
from reporter.models.public import Incident
from reporter.models.staff import Staff
from reporter.web.auth import hash_password
from tests.conftest import table_dump
from tests.support.browser import Watch, chromium, live_server
from tests.support.dates import REPORTED
from tests.support.intake import secrets_of
from tests.support.pages import record_posts
from tests.support.staff import PASSWORD
from tests.test_intake_browser import Reporter

SENTINEL = "SENTINEL-E2E-narrative-9vq"
PASSPHRASE = "SENTINEL-passphrase purple giraffe umbrella"
MESSAGE = "Which station were the officers from?"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Moderator:
    """A moderator in her own browser (page-object helper)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base

    def logs_in(self, login: str, code: str) -> None:
        p = self.page
        p.goto(self.base + "/staff/login")
        p.fill("#login", login)
        p.fill("#password", PASSWORD)
        p.fill("#code", code)
        with p.expect_navigation():
            p.click("button[type=submit]")

    def logs_in_first_time(self, login: str) -> None:
        p = self.page
        p.goto(self.base + "/staff/login")
        p.fill("#login", login)
        p.fill("#password", PASSWORD)
        with p.expect_navigation():
            p.click("button[type=submit]")
        secret = p.inner_text("#totp-secret")
        p.fill("#code", pyotp.TOTP(secret).now())
        with p.expect_navigation():
            p.click("button[type=submit]")

    def chooses_passphrase(self, passphrase: str) -> None:
        p = self.page
        assert "/staff/keys/setup" in p.url
        p.fill("#pass1", passphrase)
        p.fill("#pass2", passphrase)
        p.click("#key-setup button[type=submit]")
        p.wait_for_url("**/staff/queue", timeout=30000)

    def forgets_unlocked_keys(self) -> None:
        self.page.evaluate("window.sessionStorage.clear()")

    def opens_report(self, report_id: str, passphrase: str) -> None:
        p = self.page
        p.goto(f"{self.base}/staff/reports/{report_id}")
        p.fill("#passphrase", passphrase)
        p.click("#unlock-form button[type=submit]")
        p.wait_for_selector("#report-fields:not([hidden])", timeout=20000)

    def messages_reporter(self, text: str) -> None:
        p = self.page
        p.fill("#message-text", text)
        p.click("#message-form button[type=submit]")
        p.wait_for_selector("#message-status:text-is('Sent.')", timeout=20000)

    def verifies_and_publishes(self, town_id: int) -> None:
        p = self.page
        p.select_option("#town", str(town_id))  # the town list (found by name on the page)
        p.select_option("#verification_level", "corroborated")
        p.check("#confirm")
        with p.expect_navigation():
            p.click("#publish-form button[type=submit]")


def test_report_to_published_incident(
    app: Flask, browser: Any, all_logs: pytest.LogCaptureFixture, database_url: str
) -> None:
    with app.app_context():
        db.session().add(
            Staff(
                login="thandi",
                password_hash=hash_password(PASSWORD),
                roles=["moderator"],
                provinces=["GP"],
            )
        )
        db.session().commit()
    posted = record_posts(app)
    with live_server(app) as base:
        # Given a reporter who sends a report from her phone with JavaScript on
        rctx = browser.new_context()
        reporter = Reporter(rctx.new_page(), base)
        reporter.opens_the_form()
        reporter.tells(f"{SENTINEL} officers took my money")
        assert "locked (encrypted) on your phone" in reporter.sends()
        receipt = reporter.receipt()
        with app.app_context():
            report_id = db.session().scalars(select(Report.id)).one()

        # And a moderator of Gauteng who logs in for the first time (password + TOTP)
        mctx = browser.new_context()
        page = mctx.new_page()
        watch = Watch.on(page)
        moderator = Moderator(page, base)
        moderator.logs_in_first_time("thandi")
        moderator.chooses_passphrase(PASSPHRASE)
        # and to whom a coordinator has granted the Gauteng key (sealed to her public key)
        with app.app_context():
            staff = db.session().scalars(select(Staff).where(Staff.login == "thandi")).one()
            from tests.support.staff import Member, grant

            grant(
                app, Member(staff.id, staff.login, "", b"", envelope.b64d(staff.public_key)), "GP"
            )
        moderator.forgets_unlocked_keys()

        # When she unlocks and opens the report, she sees the narrative on her screen
        moderator.opens_report(report_id, PASSPHRASE)
        assert page.inner_text("#f-narrative").startswith(SENTINEL)
        assert str(vocabulary.category("extortion").label) in page.inner_text("#f-categories")
        # and she asks the reporter a question
        moderator.messages_reporter(MESSAGE)

        # Then the reporter reads it with her receipt
        inbox = reporter.opens_inbox(receipt)
        assert MESSAGE in inbox

        # When the moderator verifies and publishes with coarse values
        town = next(t for t in gazetteer.towns_in("GP") if t.name == "Johannesburg")
        page.goto(f"{base}/staff/reports/{report_id}")
        page.wait_for_selector("#report-fields:not([hidden])", timeout=20000)
        moderator.verifies_and_publishes(town.id)
        assert "published" in page.inner_text("main")
        assert not watch.csp_violations() and not watch.foreign_requests(base), watch.console
        assert not watch.errors, watch.errors
        rctx.close()
        mctx.close()

    # Then the incident holds only the coarse values
    with app.app_context():
        inc = db.session().scalars(select(Incident)).one()
        assert inc.province == "GP" and inc.month == REPORTED
        assert set(inc.categories) == {"extortion", "confiscation"}
        assert db.session().get(Report, report_id).status == "verified"
        row = db.session().execute(select(Incident.__table__)).mappings().one()
        assert set(row) <= {
            "id",
            "public_id",
            "categories",
            "perpetrators",
            "month",
            "province",
            "geom",
            "cell_r5",
            "cell_r6",
            "cell_r7",
            "verification_level",
            "source_type",
            "people_affected",
            "published_on",
            "withdrawn",
            "release_id",
        }  # which public release counted it (no report link)
    # And neither the passphrase nor the narrative ever reached the server
    bodies = b"".join(posted.bodies)
    for secret in (SENTINEL, PASSPHRASE, "purple giraffe"):
        assert secret.encode() not in bodies
        assert secret not in table_dump(database_url)
        assert secret not in "\n".join(r.getMessage() for r in all_logs.records)
    assert MESSAGE.encode() not in bodies  # the message was sealed in her browser too
    # and the stored message opens for the case keys
    assert secrets_of(app)


def test_recovery_ceremony_and_grant_in_the_browser(
    app: Flask, browser: Any, database_url: str
) -> None:
    from tests.support.staff import PASSPHRASE as STAFF_PASSPHRASE
    from tests.support.staff import fresh_code, make_staff

    admin = make_staff(app, "first-admin", ["admin"])
    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    recovery = envelope.b64e(app.extensions["test.keys"].recovery_secret)
    posted = record_posts(app)
    with live_server(app) as base:
        ctx = browser.new_context()
        page = ctx.new_page()
        watch = Watch.on(page)
        # Given the first admin, logged in, with her own key but no case keys yet
        Moderator(page, base).logs_in(admin.login, fresh_code(app, admin))
        page.goto(base + "/staff/admin/keys")
        page.fill("#passphrase", STAFF_PASSPHRASE)
        page.click("#unlock-form button[type=submit]")
        page.wait_for_selector("#lock-state:has-text('Unlocked')", timeout=20000)
        # When she types the paper recovery secret once, she grants herself every case key
        page.fill("#recovery-secret", recovery)
        with page.expect_navigation(timeout=30000):
            page.click("#recovery-form button[type=submit]")
        page.fill("#passphrase", STAFF_PASSPHRASE)
        page.click("#unlock-form button[type=submit]")
        page.wait_for_selector("#lock-state:has-text('10 case keys')", timeout=20000)
        # And grants the Gauteng key onward to a moderator, sealed in her browser, after
        # typing the fingerprint the moderator read to her (finding 13.4)
        from reporter.verify.password import fingerprint

        page.once("dialog", lambda d: d.accept(fingerprint(envelope.b64e(moderator.pk))))
        page.click("button.grant[data-staff='mod-gp'][data-scope='GP']")
        page.wait_for_selector("#keys-status:has-text('Granted GP to mod-gp')", timeout=20000)
        assert not watch.csp_violations() and not watch.foreign_requests(base)
        ctx.close()
    # Then the moderator's grant opens, with her own key, to the Gauteng case key
    from reporter.models.private import KeyGrant

    with app.app_context():
        grants = (
            db.session().scalars(select(KeyGrant).where(KeyGrant.staff_id == moderator.id)).all()
        )
        assert len(grants) == 1
        opened = envelope.open_envelope(grants[0].sealed_key, moderator.sk)
        assert envelope.b64d(opened["sk"]) == app.extensions["test.keys"].case_secrets["GP"]
    # And neither the recovery secret nor any case-key secret reached the server
    bodies = b"".join(posted.bodies)
    assert recovery.encode() not in bodies and STAFF_PASSPHRASE.encode() not in bodies
    for sk in app.extensions["test.keys"].case_secrets.values():
        assert envelope.b64e(sk).encode() not in bodies
        assert envelope.b64e(sk) not in table_dump(database_url)


HOSTILE = (
    '<script>window.__pwned=1;fetch("http://evil.example/a")</script>'
    "<img src=x onerror=\"window.__pwned=2;fetch('/steal')\">"
    '"><svg onload="window.__pwned=3">{{7*7}}'
)


def test_hostile_narrative_is_shown_as_text_and_runs_nothing(app: Flask, browser: Any) -> None:
    from tests.support.intake import browser_payload, keyring_json, recipients, submit_sealed
    from tests.support.staff import PASSPHRASE as STAFF_PASSPHRASE
    from tests.support.staff import fresh_code, grant, make_staff

    # Given a report whose every text field carries script payloads, with a hostile file name
    client = app.test_client()
    keys = keyring_json(client)
    payload = browser_payload(
        HOSTILE,
        perpetrator_details=HOSTILE,
        place={"town_id": None, "town": HOSTILE, "text": HOSTILE},
        attachments=[
            {"index": 0, "name": HOSTILE + ".pdf", "type": "text/html", "size": 5, "kc": "x"}
        ],
        categories=[HOSTILE],
    )
    assert submit_sealed(client, envelope.seal(payload, recipients(keys))).status_code == 200
    with app.app_context():
        report_id = db.session().scalars(select(Report.id)).one()
    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    with live_server(app) as base:
        ctx = browser.new_context()
        page = ctx.new_page()
        watch = Watch.on(page)
        Moderator(page, base).logs_in(moderator.login, fresh_code(app, moderator))
        # When the moderator opens it
        Moderator(page, base).opens_report(report_id, STAFF_PASSPHRASE)
        # Then the payload is on her screen as text
        assert page.inner_text("#f-narrative") == HOSTILE
        assert HOSTILE in page.inner_text("#f-place")
        # and nothing in it ran or asked for anything
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#report-view script, #report-view img, #report-view svg").count() == 0
        assert not watch.foreign_requests(base)
        assert not [u for u in watch.requests if "/steal" in u or "evil.example" in u]
        assert not watch.errors
        ctx.close()
