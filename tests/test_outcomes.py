"""Case outcomes (issue 17): typed steps with months on verified reports, details only sealed,
and k-anonymous counts (N >= k, k <= c <= N - k)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.maps.publish import publish_incident
from reporter.models import db
from reporter.models.partners import CaseOutcome
from reporter.models.private import Report
from reporter.services.keys import load_keyring
from reporter.verify import publication
from reporter.verify.outcomes import outcome_counts, parse_month
from tests.conftest import table_dump
from tests.support.intake import secrets_of, submit_plain
from tests.support.staff import grant, make_staff
from tests.test_partners import logged_in, post_json

CASE_NUMBER = "SENTINEL-CAS-123/10/2026 Johannesburg Magistrate"


def published_reports(
    app: Flask,
    n: int,
    province: str = "GP",
    categories: tuple[str, ...] = ("extortion",),
    month: dt.date = dt.date(2026, 3, 1),
) -> list[str]:
    """n reports, verified and published (as the publish form would)."""
    ids = []
    for i in range(n):
        submit_plain(app.test_client(), narrative=f"report {i}", province=province)
    with app.app_context():
        sess = db.session()
        done = {r for (r,) in sess.execute(select(publication.ReportPublication.report_id))}
        for report in sess.scalars(select(Report).where(Report.province == province)):
            if report.id in done:
                continue
            incident = publish_incident(
                sess,
                categories=list(categories),
                perpetrators=["saps"],
                month=month,
                province=province,
                lat=-26.2,
                lon=28.04,
                people_affected=1,
                verification_level="corroborated",
                source_type="self",
            )
            publication.link(sess, report, incident, None)
            report.status = "verified"
            ids.append(report.id)
        sess.commit()
    return ids


def record(app: Flask, report_ids: list[str], code: str, month: str = "2026-05") -> None:
    with app.app_context():
        sess = db.session()
        for rid in report_ids:
            sess.add(CaseOutcome(report_id=rid, outcome=code, month=parse_month(month)))
        sess.commit()


def test_parse_month() -> None:
    today = dt.date(2026, 12, 2)
    assert parse_month("2026-10", today) == dt.date(2026, 10, 1)
    for bad in ("2026-13", "2026-1", "1999-12", "2027-01", "", None, "2026-10-01"):
        assert parse_month(bad, today) is None, bad


def test_outcome_entered_with_sealed_details(app: Flask, database_url: str) -> None:
    [report_id] = published_reports(app, 1)
    submit_plain(app.test_client(), narrative="not verified")
    with app.app_context():
        other = db.session().scalars(select(Report.id).where(Report.status == "new")).one()
        ring = load_keyring(db.session())
        pks = ring.recipients("GP")
    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    grant(app, moderator, "GP")
    client = logged_in(app, moderator)
    sealed = envelope.seal({"v": 1, "text": CASE_NUMBER}, pks)
    url = f"/staff/reports/{report_id}/outcomes"
    assert (
        post_json(
            client,
            f"/staff/reports/{other}/outcomes",
            {"outcome": "charge_laid", "month": "2026-05"},
        ).status_code
        == 409
    )
    assert post_json(client, url, {"outcome": "jailed", "month": "2026-05"}).status_code == 400
    assert post_json(client, url, {"outcome": "charge_laid", "month": "2030-01"}).status_code == 400
    wrong = envelope.seal({"v": 1, "text": CASE_NUMBER}, [moderator.pk])
    assert (
        post_json(
            client, url, {"outcome": "charge_laid", "month": "2026-05", "sealed_details": wrong}
        ).status_code
        == 400
    )
    resp = post_json(
        client, url, {"outcome": "charge_laid", "month": "2026-05", "sealed_details": sealed}
    )
    assert resp.status_code == 200, resp.get_json()
    page = client.get(f"/staff/reports/{report_id}").get_data(as_text=True)
    assert "Charge laid</strong>, May 2026" in page
    assert CASE_NUMBER not in table_dump(database_url)
    with app.app_context():
        row = db.session().scalars(select(CaseOutcome)).one()
        assert (
            envelope.open_envelope(row.sealed_details, secrets_of(app)["GP"])["text"] == CASE_NUMBER
        )
    # a moderator of another province cannot add one
    other_mod = make_staff(app, "mod-kzn", ["moderator"], ["KZN"], iterations=1000)
    assert (
        post_json(
            logged_in(app, other_mod), url, {"outcome": "withdrawn", "month": "2026-05"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("n", "c", "shown"),
    [(12, 6, 6), (12, 4, None), (12, 8, None), (10, 5, 5), (12, 0, None), (4, 2, "no group")],
)
def test_counts_are_k_anonymous(app: Flask, n: int, c: int, shown: Any) -> None:
    ids = published_reports(app, n)
    record(app, ids[:c], "refused_saps")
    with app.app_context():
        rows = outcome_counts(db.session(), 5)
    if shown == "no group":
        assert rows == []
        return
    [row] = rows
    assert (row.province, row.year, row.category, row.total) == ("GP", 2026, "extortion", n)
    assert row.counts["refused_saps"] == shown


def test_counts_page_for_advocates_only(app: Flask) -> None:
    ids = published_reports(app, 12)
    record(app, ids[:7], "refused_saps")
    record(app, ids[:5], "case_number")
    record(app, ids[:1], "conviction")
    published_reports(app, 3, province="KZN")
    advocate = make_staff(app, "adv", ["advocate"], iterations=1000)
    html = logged_in(app, advocate).get("/staff/outcomes").get_data(as_text=True)
    assert "2026: 12 reports" in html
    assert '<tr data-outcome="refused_saps"><td>SAPS refused the complaint</td><td>7 of 12' in html
    assert '<tr data-outcome="case_number"><td>Case number issued</td><td>5 of 12' in html
    assert '<tr data-outcome="conviction"><td>Conviction</td><td>–' in html
    assert 'data-province="KZN"' not in html  # 3 < k: not shown at all
    moderator = make_staff(app, "mod", ["moderator"], ["GP"], iterations=1000)
    partner_like = logged_in(app, moderator)
    assert partner_like.get("/staff/outcomes").status_code == 403
