"""Releases (issue 12): the schedule, `release create`, the automatic cut on the first public
request after the scheduled time, frozen periods, and the suppression rule on small lattices.

Costs: the rule's tests are pure Python (milliseconds); the rest use the test database, a few
seconds in all (each cut of an empty past since 2000 takes well under a second).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import h3
import pytest
from flask import Flask
from sqlalchemy import func, select

from reporter.config import ConfigError
from reporter.maps import lattice
from reporter.maps.lattice import ANY, NATIONAL
from reporter.maps.publish import publish_incident
from reporter.maps.release import (
    cut_release,
    ensure_release,
    last_due,
    next_due,
    through_month,
)
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.counts import Release, ReleasePeriod
from reporter.models.public import Incident
from tests.conftest import make_app

K = 5
UTC = dt.UTC
JOBURG = h3.cell_to_latlng(h3.latlng_to_cell(-26.1929, 28.0470, 6))


class S:  # the two settings the schedule reads
    def __init__(self, every: int = 1, lag: int = 1) -> None:
        self.release_every_months, self.release_lag_months = every, lag


# --- the schedule ------------------------------------------------------------------------------


def test_monthly_schedule_and_lag() -> None:
    now = dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert last_due(S(), now) == dt.datetime(2026, 12, 1, tzinfo=UTC)
    assert next_due(S(), now) == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert through_month(S(), now) == dt.date(2026, 10, 1)  # November may still be verified
    assert through_month(S(lag=0), now) == dt.date(2026, 11, 1)


def test_quarterly_schedule_changes_nothing_between_its_dates() -> None:
    every3 = S(every=3)
    for day in (
        dt.datetime(2026, 10, 1, tzinfo=UTC),
        dt.datetime(2026, 11, 15, tzinfo=UTC),
        dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
    ):
        assert last_due(every3, day) == dt.datetime(2026, 10, 1, tzinfo=UTC)
        assert through_month(every3, day) == dt.date(2026, 8, 1)
        assert next_due(every3, day) == dt.datetime(2027, 1, 1, tzinfo=UTC)


def test_bad_schedule_settings_are_refused(database_url: str) -> None:
    with pytest.raises(ConfigError, match="RELEASE_EVERY_MONTHS"):
        make_app(database_url, RELEASE_EVERY_MONTHS=5)
    with pytest.raises(ConfigError, match="RELEASE_LAG_MONTHS"):
        make_app(database_url, RELEASE_LAG_MONTHS=-1)


def test_periods_parse_only_whole_months_quarters_and_years() -> None:
    assert lattice.parse_period("2026-09") == lattice.month_period(dt.date(2026, 9, 1))
    q = lattice.parse_period("2026-Q3")
    assert q is not None and q.months == tuple(dt.date(2026, m, 1) for m in (7, 8, 9))
    y = lattice.parse_period("2025")
    assert (
        y is not None
        and len(y.months) == 12
        and [c.label for c in y.children()] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    )
    for bad in (
        "2026-9",
        "2026-13",
        "2026-Q0",
        "2026-Q5",
        "26",
        "2026-01..2026-03",
        "2026-09-01",
        "1999",
        "",
    ):
        assert lattice.parse_period(bad) is None, bad


# --- the rule on small lattices ----------------------------------------------------------------


def _month(rows: list[tuple[str, str, list[str], list[str], int]]) -> dict[Any, int]:
    p = lattice.month_period(dt.date(2026, 9, 1))
    return {(p.label, g, a): n for (g, a), n in lattice.month_counts(rows).items()}


def _show(values: dict[Any, int]) -> set[Any]:
    label = next(iter(values))[0]
    return lattice.choose_shown(values, {label: lattice.parse_period(label)}, {label}, K, set())


def _cells(res: int) -> list[str]:
    parent = h3.latlng_to_cell(-26.2041, 28.0473, 5)
    return sorted(h3.cell_to_children(parent, 6))[:3] if res == 6 else [parent]


def test_a_province_with_one_small_hexagon_hides_a_second_one() -> None:
    a, b, c = _cells(6)
    values = _month(
        [
            ("GP", a, ["extortion"], ["saps"], 9),
            ("GP", b, ["extortion"], ["saps"], 7),
            ("GP", c, ["extortion"], ["saps"], 2),
        ]
    )
    shown = _show(values)
    hexes = {n[1][2]: values[n] for n in shown if n[1][0] == 6 and n[2] == ANY}
    # c (2) is hidden, and so is b (7): otherwise 18 - 9 - 7 would give c's 2
    assert hexes == {a: 9}
    assert ("2026-09", (0, "GP", ANY), ANY) in shown


def test_a_category_is_hidden_when_the_rest_would_be_below_k() -> None:
    (a, *_rest) = _cells(6)
    values = _month([("GP", a, ["extortion"], ["saps"], 6), ("GP", a, ["threats"], ["saps"], 3)])
    shown = _show(values)
    assert ("2026-09", NATIONAL, ANY) in shown
    assert ("2026-09", NATIONAL, "c:extortion") not in shown  # 9 - 6 = 3 threats
    assert ("2026-09", NATIONAL, "p:saps") in shown  # all 9 are SAPS: nothing follows


def test_nothing_shown_follows_to_a_count_below_k() -> None:
    """Every relation with a known parent leaves 0 or at least k to its unknown children."""
    import random

    rng = random.Random(5)
    cells = _cells(6)
    for _trial in range(40):
        rows = [
            (
                rng.choice(["GP", "KZN"]),
                rng.choice(cells),
                rng.sample(["extortion", "threats", "unlawful_arrest"], rng.choice([1, 2])),
                [rng.choice(["saps", "client"])],
                rng.randint(1, 8),
            )
            for _ in range(6)
        ]
        values = _month(rows)
        shown = _show(values)
        p = next(iter(values))[0]
        graph = lattice._Graph(values, lattice.relations(values, {p: lattice.parse_period(p)}))
        known = graph.known({graph.index[n] for n in shown})
        assert all(graph.value[i] >= K for i in known)
        assert graph.violations(known, K) == []
        assert all(values[n] >= K for n in shown)


def test_a_quarter_hides_what_its_frozen_months_would_give_away() -> None:
    a, *_ = _cells(6)
    months = [lattice.month_period(dt.date(2026, m, 1)) for m in (7, 8, 9)]
    q = lattice.quarter_of(months[0].first)
    counts = [lattice.month_counts([("GP", a, ["extortion"], ["saps"], n)]) for n in (8, 6, 2)]
    values: dict[Any, int] = {}
    frozen: set[Any] = set()
    for m, c in zip(months, counts, strict=True):
        v = {(m.label, g, at): n for (g, at), n in c.items()}
        shown = lattice.choose_shown(v, {m.label: m}, {m.label}, K, set())
        values.update(v)
        frozen |= shown
    values.update({(q.label, g, at): n for (g, at), n in lattice.add_counts(counts).items()})
    periods = {q.label: q, **{m.label: m for m in months}}
    shown_q = lattice.choose_shown(values, periods, {q.label}, K, frozen)
    # July (8) and August (6) are shown, September (2) hidden: the quarter's 16 would give it
    assert ("2026-07", NATIONAL, ANY) in frozen and ("2026-09", NATIONAL, ANY) not in frozen
    assert (q.label, NATIONAL, ANY) not in shown_q
    assert not any(n[1] == NATIONAL and n[2] == ANY for n in shown_q)


# --- releases in the database ---------------------------------------------------------------


def _publish(app: Flask, n: int, month: dt.date) -> None:
    with app.app_context():
        session = db.session()
        for _ in range(n):
            publish_incident(
                session,
                categories=["extortion"],
                perpetrators=["saps"],
                month=month,
                province="GP",
                lat=JOBURG[0],
                lon=JOBURG[1],
                people_affected=1,
                verification_level="reported",
                source_type="self",
                privacy_radius_m=1.0,
            )
        session.commit()


def test_a_release_freezes_its_months_and_late_incidents_stay_out(app: Flask) -> None:
    now = dt.datetime(2026, 12, 3, tzinfo=UTC)
    sept = dt.date(2026, 9, 1)
    _publish(app, 6, sept)
    settings = app.extensions["reporter.settings"]
    with app.app_context():
        session = db.session()
        cut = cut_release(session, settings, now)
        session.commit()
        assert cut.release.through_month == dt.date(2026, 10, 1)
        assert {"2026-09", "2026-10", "2026-Q3", "2025"} <= set(cut.new_periods)
        assert "2026-11" not in cut.new_periods and "2026-Q4" not in cut.new_periods
        assert cut.incidents == 6
        # nothing new is due until January: a second cut the same month is the same release
        again = cut_release(session, settings, now + dt.timedelta(days=20))
        assert again.release.id == cut.release.id and again.new_periods == []
    # a late incident for September is counted for staff only, never in a release
    _publish(app, 5, sept)
    with app.app_context():
        session = db.session()
        later = cut_release(session, settings, dt.datetime(2027, 1, 1, 0, 1, tzinfo=UTC))
        session.commit()
        assert later.new_periods == ["2026-11"] and later.incidents == 0
        late = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.release_id.is_(None))
        )
        assert late == 5
        assert session.scalar(select(func.count()).select_from(ReleasePeriod)) > 300


def test_the_first_public_request_after_the_scheduled_time_cuts_the_release(app: Flask) -> None:
    settings = app.extensions["reporter.settings"]
    this_month = dt.date.today().replace(day=1)
    month_ago = dt.datetime.combine(lattice.add_months(this_month, -1), dt.time(3), tzinfo=UTC)
    _publish(app, 6, lattice.add_months(this_month, -2))  # covered from this month's release
    with app.app_context():
        first = cut_release(db.session(), settings, month_ago).release
        db.session().commit()
        assert first.next_at <= dt.datetime.now(UTC)  # the next one is due
    client = app.test_client()
    body = client.get("/api/v1/periods").json
    assert body["release"]["id"] == 2
    assert body["months"][0] == lattice.month_label(lattice.add_months(this_month, -2))
    assert body["release"]["next_at"] == next_due(settings).strftime("%Y-%m-%dT%H:%M:%SZ")
    # and until the next scheduled time, requests cut nothing
    client.get("/api/v1/cells")
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Release)) == 2
        current = ensure_release(db.session(), settings)
        assert current is not None and current.id == 2


def test_the_map_page_says_when_the_next_release_is(app: Flask) -> None:
    page = app.test_client().get("/map").get_data(as_text=True)
    nxt = next_due(app.extensions["reporter.settings"]).strftime("%Y-%m-%d")
    assert f"They change only at the next release, on {nxt}" in page
    assert "no small number can be worked out by comparing two answers" in page
    assert 'name="period"' in page and 'name="from"' not in page


def test_cli_release_create_and_show(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["release", "create"])
    assert result.exit_code == 0, result.output
    assert "new periods" in result.output and "next release:" in result.output
    again = runner.invoke(args=["release", "create"])
    assert again.exit_code == 0 and "nothing new is due" in again.output
    shown = runner.invoke(args=["release", "show"])
    assert shown.exit_code == 0 and "release 1" in shown.output
    with app.app_context():
        events = (
            db.session().scalars(select(AuditEvent).where(AuditEvent.action == "release")).all()
        )
    assert len(events) == 1 and "periods=" in (events[0].object or "")
