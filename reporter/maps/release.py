"""Releases: the public aggregates are computed and frozen at scheduled times, never live.

Schedule: on the 1st of every RELEASE_EVERY_MONTHS-th month (default every month) at 00:00 UTC.
A release made at or after a scheduled time covers every month that ended at least
RELEASE_LAG_MONTHS (default 1) before that time, so that late verifications of a month still
count. Each month, quarter and year is published once, by the first release that covers all of
it, and never changes afterwards: an incident counts publicly only if it was published (and not
withdrawn) before its month was released; one published later is counted for staff only.

A release is cut by `flask --app wsgi release create` and, when one is due, by the first public
request after the scheduled time (one process cuts under a PostgreSQL advisory lock, the others
go on serving the previous release). Which bins are shown is decided by reporter/maps/lattice.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import CursorResult, func, insert, select, text, update
from sqlalchemy.orm import Session

from reporter.config import Settings
from reporter.maps import lattice
from reporter.maps.lattice import Geo, Node, Period
from reporter.models.counts import Release, ReleaseBin, ReleasePeriod
from reporter.models.public import Incident

FIRST_MONTH = dt.date(2000, 1, 1)  # fixed, never the first month with data (that would tell)
LOCK_KEY = 0x7265_6C65  # "rele": one release cut at a time, in any process


def _utc(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def _point(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def last_due(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    """The latest scheduled release time at or before now."""
    now = _utc(now)
    month = dt.date(now.year, now.month, 1)
    while (month.year * 12 + month.month - 1) % settings.release_every_months:
        month = lattice.add_months(month, -1)
    return _point(month)


def next_due(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    """The first scheduled release time after now."""
    start = last_due(settings, now)
    return _point(lattice.add_months(start.date(), settings.release_every_months))


def through_month(settings: Settings, now: dt.datetime | None = None) -> dt.date:
    """The last month that the release due at `now` covers."""
    return lattice.add_months(last_due(settings, now).date(), -1 - settings.release_lag_months)


def latest(session: Session) -> Release | None:
    return session.scalars(select(Release).order_by(Release.id.desc()).limit(1)).first()


@dataclass(frozen=True)
class Cut:
    release: Release
    new_periods: list[str]
    new_bins: int
    incidents: int  # incidents first counted by this release


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], start
    while m <= end:
        out.append(m)
        m = lattice.add_months(m, 1)
    return out


def _month_values(session: Session, months: list[dt.date]) -> dict[str, dict[tuple[Geo, str], int]]:
    """Non-empty bins of each month, from the incidents that releases counted."""
    rows: dict[dt.date, list[lattice.CountRow]] = defaultdict(list)
    if months:
        stmt = (
            select(
                Incident.month,
                Incident.province,
                Incident.cell_r6,
                Incident.categories,
                Incident.perpetrators,
                func.count(),
            )
            .where(Incident.release_id.is_not(None), Incident.month.in_(months))
            .group_by(
                Incident.month,
                Incident.province,
                Incident.cell_r6,
                Incident.categories,
                Incident.perpetrators,
            )
        )
        for month, province, cell, cats, perps, n in session.execute(stmt):
            rows[month].append((province, cell, cats, perps, n))
    return {lattice.month_label(m): lattice.month_counts(rows.get(m, [])) for m in months}


def _shown(session: Session, labels: list[str]) -> set[Node]:
    stmt = select(
        ReleaseBin.period,
        ReleaseBin.resolution,
        ReleaseBin.province,
        ReleaseBin.cell,
        ReleaseBin.attribute,
    ).where(ReleaseBin.period.in_(labels))
    return {(p, (res, prov, cell), a) for p, res, prov, cell, a in session.execute(stmt)}


def _flatten(label: str, counts: dict[tuple[Geo, str], int]) -> dict[Node, int]:
    return {(label, g, a): n for (g, a), n in counts.items()}


def _new_sums(released: set[str], through: dt.date) -> tuple[list[Period], list[Period]]:
    """The quarters and years, in order, whose months are all released now but not they."""
    released_months = set(_months(FIRST_MONTH, through))
    new_quarters: dict[str, Period] = {}
    new_years: dict[str, Period] = {}
    for m in released_months:
        q, y = lattice.quarter_of(m), lattice.year_of(m)
        if q.label not in released and set(q.months) <= released_months:
            new_quarters[q.label] = q
        if y.label not in released and set(y.months) <= released_months:
            new_years[y.label] = y
    return (
        sorted(new_quarters.values(), key=lambda p: p.first),
        sorted(new_years.values(), key=lambda p: p.first),
    )


class _Cutting:
    """The periods one release adds: each period's shown bins, chosen against the released
    periods it is a sum of, stored as the release's bins."""

    def __init__(
        self,
        session: Session,
        release: Release,
        k: int,
        month_values: dict[str, dict[tuple[Geo, str], int]],
    ) -> None:
        self.session, self.release, self.k = session, release, k
        self.month_values = month_values
        self.quarter_values: dict[str, dict[tuple[Geo, str], int]] = {}
        self.new_labels: list[str] = []
        self.total_bins = 0

    def store(self, period: Period, shown: set[Node], values: dict[Node, int]) -> None:
        self.session.add(
            ReleasePeriod(
                period=period.label,
                kind=period.kind,
                first_month=period.first,
                release_id=self.release.id,
            )
        )
        rows = [
            {
                "period": n[0],
                "resolution": n[1][0],
                "province": n[1][1],
                "cell": n[1][2],
                "attribute": n[2],
                "count": values[n],
                "release_id": self.release.id,
            }
            for n in shown
        ]
        for start in range(0, len(rows), 5000):
            self.session.execute(insert(ReleaseBin), rows[start : start + 5000])
        self.session.flush()
        self.new_labels.append(period.label)
        self.total_bins += len(rows)

    def quarter_counts(self, q: Period) -> dict[tuple[Geo, str], int]:
        if q.label not in self.quarter_values:
            self.quarter_values[q.label] = lattice.add_counts(
                self.month_values[lattice.month_label(m)] for m in q.months
            )
        return self.quarter_values[q.label]

    def month(self, m: dt.date) -> None:
        p = lattice.month_period(m)
        values = _flatten(p.label, self.month_values[p.label])
        self.store(p, lattice.choose_shown(values, {p.label: p}, {p.label}, self.k, set()), values)

    def quarter(self, q: Period) -> None:
        periods = {q.label: q, **{c.label: c for c in q.children()}}
        values = _flatten(q.label, self.quarter_counts(q))
        for c in q.children():
            values.update(_flatten(c.label, self.month_values[c.label]))
        frozen = _shown(self.session, [c.label for c in q.children()])
        self.store(q, lattice.choose_shown(values, periods, {q.label}, self.k, frozen), values)

    def year(self, y: Period) -> None:
        periods = {y.label: y}
        values: dict[Node, int] = {}
        for q in y.children():
            periods[q.label] = q
            values.update(_flatten(q.label, self.quarter_counts(q)))
            for c in q.children():
                periods[c.label] = c
                values.update(_flatten(c.label, self.month_values[c.label]))
        values.update(
            _flatten(y.label, lattice.add_counts(self.quarter_counts(q) for q in y.children()))
        )
        frozen = _shown(self.session, [p for p in periods if p != y.label])
        self.store(y, lattice.choose_shown(values, periods, {y.label}, self.k, frozen), values)


def _count_in(session: Session, release: Release, new_months: list[dt.date]) -> int:
    """Mark the new months' incidents as first counted by the release; how many."""
    if not new_months:
        return 0
    return (
        cast(
            CursorResult[Any],
            session.execute(
                update(Incident)
                .where(
                    Incident.release_id.is_(None),
                    Incident.withdrawn.is_(False),
                    Incident.month.in_(new_months),
                )
                .values(release_id=release.id)
            ),
        ).rowcount
        or 0
    )


def cut_release(
    session: Session, settings: Settings, now: dt.datetime | None = None, *, force: bool = False
) -> Cut:
    """Make the release due at `now` (nothing new if the latest release already covers its
    months, unless there is no release yet or force). The caller commits."""
    now = _utc(now)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    prev = latest(session)
    through = through_month(settings, now)
    released = set(session.scalars(select(ReleasePeriod.period)))
    new_months = [
        m for m in _months(FIRST_MONTH, through) if lattice.month_label(m) not in released
    ]
    if prev is not None and not new_months and not force:
        return Cut(prev, [], 0, 0)
    release = Release(
        cut_at=now,
        through_month=through,
        next_at=next_due(settings, now),
        k=settings.k_anonymity,
        periods=0,
        bins=0,
    )
    session.add(release)
    session.flush()
    counted = _count_in(session, release, new_months)
    new_quarters, new_years = _new_sums(released, through)
    needed = sorted({m for p in [*new_quarters, *new_years] for m in p.months} | set(new_months))
    cutting = _Cutting(session, release, settings.k_anonymity, _month_values(session, needed))
    for m in new_months:
        cutting.month(m)
    for q in new_quarters:
        cutting.quarter(q)
    for y in new_years:
        cutting.year(y)
    release.periods = len(cutting.new_labels)
    release.bins = cutting.total_bins
    session.flush()
    return Cut(release, cutting.new_labels, cutting.total_bins, counted)


def ensure_release(
    session: Session, settings: Settings, now: dt.datetime | None = None
) -> Release | None:
    """The current release, cutting the due one first when its time has come (the automatic
    cut: on the first public request after the scheduled time). Commits only what it cuts."""
    now = _utc(now)
    current = latest(session)
    if current is not None and current.next_at > now:
        return current
    got = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
    ).scalar()
    if not got:  # another process is cutting it; serve the previous release meanwhile
        session.rollback()
        return latest(session)
    cut = cut_release(session, settings, now)
    if cut.release.next_at <= now:  # pragma: no cover - next_due is always after now
        raise RuntimeError("release schedule did not advance")
    if not cut.new_periods and current is not None:
        current.next_at = next_due(settings, now)  # nothing new was due: look again later
    session.commit()
    return latest(session)


release_cli = AppGroup("release", help="Releases of the public aggregates (docs/maps.md).")


@release_cli.command("create")
@click.option("--force", is_flag=True, help="Record a release even when nothing new is due.")
def create_command(force: bool) -> None:
    """Cut the release that is due now: freeze the months (and quarters, years) it covers."""
    from reporter.models import audit, db

    settings = current_app.extensions["reporter.settings"]
    session = db.session()
    cut = cut_release(session, settings, force=force)
    if cut.new_periods or force:
        through = lattice.month_label(cut.release.through_month)
        audit.record(
            session,
            None,
            "release",
            f"release={cut.release.id} periods={len(cut.new_periods)} "
            f"bins={cut.new_bins} through={through}",
        )
    session.commit()
    if cut.new_periods:
        click.echo(
            f"release {cut.release.id}: {len(cut.new_periods)} new periods "
            f"(through {lattice.month_label(cut.release.through_month)}), "
            f"{cut.new_bins:,} bins shown, {cut.incidents:,} incidents counted"
        )
    else:
        click.echo(
            f"nothing new is due; release {cut.release.id} stands "
            f"(through {lattice.month_label(cut.release.through_month)})"
        )
    click.echo(f"next release: {next_due(settings).strftime('%Y-%m-%d %H:%M UTC')}")


@release_cli.command("show")
def show_command() -> None:
    """The current release and when the next is due."""
    from reporter.models import db

    settings = current_app.extensions["reporter.settings"]
    current = latest(db.session())
    if current is None:
        click.echo("no release yet")
    else:
        click.echo(
            f"release {current.id}, cut {current.cut_at:%Y-%m-%d %H:%M} UTC, "
            f"through {lattice.month_label(current.through_month)}"
        )
    click.echo(f"next release: {next_due(settings).strftime('%Y-%m-%d %H:%M UTC')}")
