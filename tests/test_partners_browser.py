"""Referral end to end in Debian's Chromium (issue 17): an admin adds the legal partner (its key
made in her browser) and one of its lawyers; the lawyer enrols (password + TOTP) and sets up her
own key; the admin grants her the organisation's key; a moderator refers a report whose reporter
agreed (and cannot refer one whose reporter did not); the lawyer unlocks, reads the report and
opens a file; the moderator withdraws the referral and the file the lawyer had not opened yet can
no longer be opened. No passphrase and no report text reaches the server in a request body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.models import db
from reporter.models.partners import PartnerOrg, Referral
from reporter.models.private import Report
from reporter.models.staff import Staff
from tests.conftest import table_dump
from tests.support.browser import Watch, chromium, live_server
from tests.support.intake import submit_plain
from tests.support.pages import record_posts
from tests.support.staff import PASSPHRASE, PASSWORD, fresh_code, grant, make_staff
from tests.test_staff_browser import Moderator

SHOTS = Path(__file__).resolve().parent.parent / "instance" / "test" / "shots"
NARRATIVE = "SENTINEL-referral-narrative officers took my money at the taxi rank"
FILE_ONE = b"%PDF-1.4 SENTINEL-referral-file-one fine slip"
FILE_TWO = b"%PDF-1.4 SENTINEL-referral-file-two second page"
OWN_PASSWORD = "SENTINEL-own lawyer password 42"
LAWYER_PASSPHRASE = "SENTINEL-lawyer passphrase blue heron river"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_refer_read_and_withdraw(app: Flask, browser: Any, database_url: str) -> None:
    submit_plain(
        app.test_client(),
        narrative=NARRATIVE,
        consent_legal="y",
        files=[
            (FILE_ONE, "slip.pdf", "application/pdf"),
            (FILE_TWO, "page2.pdf", "application/pdf"),
        ],
    )
    submit_plain(app.test_client(), narrative="SENTINEL-no-consent narrative")
    with app.app_context():
        reports = db.session().scalars(select(Report)).all()
        consented = next(r.id for r in reports if r.attachments)
        refused = next(r.id for r in reports if not r.attachments)
    admin = make_staff(app, "admin", ["admin"], iterations=1000)
    moderator = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    posted = record_posts(app)

    with live_server(app) as base:
        # Given an admin who adds the legal partner: its key is made in her browser
        actx = browser.new_context()
        apage = actx.new_page()
        awatch = Watch.on(apage)
        admin_ui = Moderator(apage, base)
        admin_ui.logs_in("admin", fresh_code(app, admin))
        apage.goto(base + "/staff/admin/partners")
        apage.fill("#partner-name", "Women's Legal Centre")
        with apage.expect_navigation():
            apage.click("#partner-form button[type=submit]")
        assert "organisation added" in apage.inner_text("body")
        # and one of its lawyers (role partner)
        apage.fill("[id^=login-]", "wlc-lawyer")
        apage.fill("[id^=password-]", PASSWORD)
        with apage.expect_navigation():
            apage.click(".partner-staff-form button[type=submit]")
        assert "wlc-lawyer (no key yet)" in apage.inner_text("#partner-table")
        shot(apage, "partners-admin")

        # When the lawyer logs in for the first time: TOTP enrolment, then her own key
        lctx = browser.new_context()
        lpage = lctx.new_page()
        lwatch = Watch.on(lpage)
        lawyer = Moderator(lpage, base)
        lawyer.logs_in_first_time("wlc-lawyer")
        # an admin made her account: she chooses her own password first (as every staff member)
        assert "/staff/password" in lpage.url, lpage.url
        lpage.fill("#new", OWN_PASSWORD)
        lpage.fill("#again", OWN_PASSWORD)
        with lpage.expect_navigation():
            lpage.click("#forced-password-form button[type=submit]")
        assert "/staff/keys/setup" in lpage.url
        lpage.fill("#pass1", LAWYER_PASSPHRASE)
        lpage.fill("#pass2", LAWYER_PASSPHRASE)
        lpage.click("#key-setup button[type=submit]")
        lpage.wait_for_url("**/staff/partner", timeout=30000)
        assert "Nothing is referred" in lpage.inner_text("#referrals")
        # she sees no queue, no exports, no audit log
        nav = lpage.inner_text("nav")
        assert "Queue" not in nav and "Exports" not in nav and "Audit" not in nav
        for path in (
            "/staff/queue",
            "/staff/audit",
            "/staff/exports",
            "/staff/admin/keys",
            f"/staff/reports/{consented}",
        ):
            assert lpage.goto(base + path).status == 403, path

        # and the admin grants her the organisation's key (sealed in the admin's browser)
        apage.goto(base + "/staff/admin/keys")
        apage.fill("#passphrase", PASSPHRASE)
        apage.click("#unlock-form button[type=submit]")
        button = apage.wait_for_selector("button.grant[data-staff=wlc-lawyer]", timeout=20000)
        with app.app_context():
            org_id = db.session().scalars(select(PartnerOrg.id)).one()
        assert button.get_attribute("data-scope") == f"partner:{org_id}"
        # only her organisation's key is offered for her
        assert apage.locator("button.grant[data-staff=wlc-lawyer]").count() == 1
        # (the fingerprint she reads out to the admin: the same as her row shows)
        fp = apage.inner_text("tr:has(button.grant[data-staff=wlc-lawyer]) code.fingerprint")
        apage.once("dialog", lambda d: d.accept(fp))
        button.click()
        apage.wait_for_selector("#keys-status:not(:empty)", timeout=20000)
        assert "Granted" in apage.inner_text("#keys-status"), apage.inner_text("#keys-status")

        # And a moderator who opens a report whose reporter did not agree: no referral
        mctx = browser.new_context()
        mpage = mctx.new_page()
        mwatch = Watch.on(mpage)
        mod = Moderator(mpage, base)
        mod.logs_in("thandi", fresh_code(app, moderator))
        mod.opens_report(refused, PASSPHRASE)
        mpage.wait_for_selector("#referral-state:has-text('did not agree')", timeout=20000)
        assert mpage.is_hidden("#refer-form")
        # nor does the server take a referral without the consent claim (tests/test_partners.py)

        # Then she refers the report whose reporter agreed; it is re-sealed in her browser
        mpage.goto(f"{base}/staff/reports/{consented}")
        mpage.wait_for_selector("#report-fields:not([hidden])", timeout=20000)
        mpage.wait_for_selector("#refer-form:not([hidden])", timeout=20000)
        assert "agreed" in mpage.inner_text("#referral-state")
        with mpage.expect_navigation():
            mpage.click("#refer-form button[type=submit]")
        assert "Referred to Women's Legal Centre" in mpage.inner_text("body")
        shot(mpage, "referral-moderator")
        with app.app_context():
            assert db.session().scalars(select(Referral)).one().report_id == consented

        # And the lawyer unlocks her key and reads the report and a file
        lpage.goto(base + "/staff/partner")
        with lpage.expect_navigation():
            lpage.click(f"a:has-text('{consented[:6]}')")
        lpage.fill("#passphrase", LAWYER_PASSPHRASE)
        lpage.click("#unlock-form button[type=submit]")
        lpage.wait_for_selector("#report-fields:not([hidden])", timeout=20000)
        assert lpage.inner_text("#f-narrative") == NARRATIVE
        lpage.click("#f-files li:nth-child(1) button")
        link = lpage.wait_for_selector("#f-files li:nth-child(1) a.saved-file", timeout=20000)
        with lpage.expect_download() as download:
            link.click()
        assert Path(download.value.path()).read_bytes() == FILE_ONE
        shot(lpage, "referral-partner")

        # When the moderator withdraws the referral
        mpage.goto(f"{base}/staff/reports/{consented}")
        assert "cannot be un-read" in mpage.inner_text(".unrefer-form")
        with mpage.expect_navigation():
            mpage.click(".unrefer-form button[type=submit]")
        assert "cannot be un-read" in mpage.inner_text("body")

        # Then the file she had not opened yet can no longer be opened, nor the report
        lpage.click("#f-files li:nth-child(2) button")
        err = lpage.wait_for_selector("#f-files li:nth-child(2) .file-error", timeout=20000)
        assert "403" in err.inner_text()
        assert lpage.locator("#f-files li:nth-child(2) a.saved-file").count() == 0
        assert lpage.goto(f"{base}/staff/partner/reports/{consented}").status == 403
        lpage.goto(base + "/staff/partner")
        assert consented[:6] not in lpage.inner_text("#referrals")

        for watch in (awatch, lwatch, mwatch):
            assert not watch.csp_violations(), watch.console
            assert not watch.foreign_requests(base)
            assert not watch.errors, watch.errors

    # Nothing she wrote and no passphrase ever reached the server in a request
    bodies = b"\n".join(posted.bodies)
    for secret in (
        NARRATIVE.encode(),
        FILE_ONE,
        FILE_TWO,
        LAWYER_PASSPHRASE.encode(),
        PASSPHRASE.encode(),
    ):
        assert secret not in bodies
    dump = table_dump(database_url)
    assert "SENTINEL-referral" not in dump and "SENTINEL-lawyer" not in dump
    with app.app_context():
        lawyer_row = db.session().scalars(select(Staff).where(Staff.login == "wlc-lawyer")).one()
        assert lawyer_row.roles == ["partner"] and lawyer_row.public_key
