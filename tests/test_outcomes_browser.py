"""Outcomes in Chromium (issue 17): a moderator records what happened next on a verified report,
the case number sealed in her browser (the server never receives it in clear), reads it back
decrypted; an advocate sees the outcome counted only in a group of at least k."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.partners import CaseOutcome
from tests.conftest import table_dump
from tests.support.browser import Watch, chromium, live_server
from tests.support.intake import secrets_of
from tests.support.pages import record_posts
from tests.support.staff import PASSPHRASE, fresh_code, grant, make_staff
from tests.test_outcomes import published_reports, record
from tests.test_partners_browser import shot
from tests.test_staff_browser import Moderator

CASE = "SENTINEL-case CAS 77/03/2026 Hillbrow, Johannesburg Magistrate court 4"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_outcome_recorded_sealed_and_counted(app: Flask, browser: Any, database_url: str) -> None:
    ids = published_reports(app, 12)
    record(app, ids[1:6], "refused_saps", "2026-04")  # five others already refused
    moderator = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    advocate = make_staff(app, "adv", ["advocate"], iterations=1000)
    posted = record_posts(app)
    with live_server(app) as base:
        page = browser.new_context().new_page()
        watch = Watch.on(page)
        mod = Moderator(page, base)
        mod.logs_in("thandi", fresh_code(app, moderator))
        mod.opens_report(ids[0], PASSPHRASE)
        page.wait_for_selector("#outcome-form:not([hidden])", timeout=20000)
        page.select_option("#outcome-code", "refused_saps")
        page.fill("#outcome-month", "2026-04")
        page.fill("#outcome-details", CASE)
        with page.expect_navigation():
            page.click("#outcome-form button[type=submit]")
        assert "Recorded: SAPS refused the complaint, April 2026" in page.inner_text("body")
        # after unlocking, the sealed details show, opened in her browser
        page.wait_for_selector(f"#outcome-list .outcome-details:text-is('{CASE}')", timeout=20000)
        shot(page, "outcome-moderator")

        apage = browser.new_context().new_page()
        awatch = Watch.on(apage)
        Moderator(apage, base).logs_in("adv", fresh_code(app, advocate))
        apage.goto(base + "/staff/outcomes?year=2026")
        row = apage.inner_text(
            "section[data-province=GP][data-category=extortion] tr[data-outcome=refused_saps]"
        )
        assert row.endswith("6 of 12"), row
        conviction = apage.inner_text("section[data-province=GP] tr[data-outcome=conviction]")
        assert conviction.endswith("–")
        shot(apage, "outcomes-advocate")
        for w in (watch, awatch):
            assert not w.csp_violations() and not w.foreign_requests(base) and not w.errors
    assert all(CASE.encode() not in b for b in posted.bodies)
    assert CASE not in table_dump(database_url)
    with app.app_context():
        row = db.session().scalars(select(CaseOutcome).where(CaseOutcome.report_id == ids[0])).one()
        assert envelope.open_envelope(row.sealed_details, secrets_of(app)["GP"])["text"] == CASE
