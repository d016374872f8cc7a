"""The counts that every file of a bundle shows (cells, tables, pictures).

Media bundles show the current release and nothing else: the same bins as the public map for
one released period, one province or all, one category or one perpetrator type or neither
(reporter/maps/query.py). So two media bundles, or a bundle and the map, can never be
subtracted into anything the release did not show.

Casework bundles (coordinators and admins only, for the legal partner, with a row per incident
anyway) show live counts for their filters, k-suppressed:

Casework exports may select several provinces, categories and perpetrator types at once, which the
public aggregates (one value per filter) cannot answer without counting an incident twice, so
these counts are taken from the published `incident` rows themselves, one query per table.
They are staff-only and a bundle is built rarely; the public side never scans `incident`.

Every count below k is dropped, never shown as zero or "fewer than k". Each table is
suppressed on its own, and no grand total is published: a total beside suppressed parts would
give away their sum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from reporter.config import Settings
from reporter.export.filters import ExportFilters, ExportInvalid
from reporter.maps import query
from reporter.models.public import Incident


@dataclass(frozen=True)
class Tables:
    """Every count of a bundle; each list holds only counts >= k."""

    k: int
    cells: list[tuple[str, int]]  # (h3 cell at filters.res, count), largest first
    by_province: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    by_perpetrator: list[tuple[str, int]]
    by_month: list[tuple[dt.date, int]]
    by_province_category: list[tuple[tuple[str, str], int]]
    period: str | None = None  # the released period (media bundles)
    release_id: int | None = None  # the release the counts come from (media bundles)

    @property
    def shown_on_map(self) -> int:
        """The sum of the cells drawn: no more than what the cells themselves say."""
        return sum(n for _cell, n in self.cells)

    def smallest(self) -> int | None:
        """The smallest count anywhere (never below k)."""
        counts = [
            n
            for rows in (
                self.cells,
                self.by_province,
                self.by_category,
                self.by_perpetrator,
                self.by_month,
                self.by_province_category,
            )
            for _key, n in rows
        ]
        return min(counts) if counts else None


def suppress(rows: Any, settings: Settings) -> list[tuple[Any, int]]:
    """Every count below k dropped (casework only; media counts come from the release)."""
    return [(key, int(n)) for key, n in rows if int(n) >= settings.k_anonymity]


def _terms(values: tuple[str, ...]) -> Any:
    return bindparam(None, list(values), type_=ARRAY(String(32)))


def conditions(f: ExportFilters) -> list[ColumnElement[bool]]:
    """Which published incidents an export covers (withdrawn ones never)."""
    conds: list[ColumnElement[bool]] = [Incident.withdrawn.is_(False)]
    if f.month_from:
        conds.append(Incident.month >= f.month_from)
    if f.month_to:
        conds.append(Incident.month <= f.month_to)
    if f.provinces:
        conds.append(Incident.province.in_(f.provinces))
    if f.categories:
        conds.append(Incident.categories.op("&&")(_terms(f.categories)))
    if f.perpetrators:
        conds.append(Incident.perpetrators.op("&&")(_terms(f.perpetrators)))
    return conds


def _grouped(
    session: Session, settings: Settings, source: Any, *group: Any, where: list[ColumnElement[bool]]
) -> list[tuple[Any, int]]:
    total = func.count()
    stmt = (
        select(*group, total)
        .select_from(source)
        .where(*where)
        .group_by(*group)
        .having(total >= settings.k_anonymity)
    )
    rows = session.execute(stmt).all()
    keyed = [(tuple(r[:-1]) if len(group) > 1 else r[0], r[-1]) for r in rows]
    return suppress(keyed, settings)


def _unnested(f: ExportFilters, column: Any, name: str) -> Any:
    """One row per (incident, term) of the matching incidents."""
    return (
        select(Incident.province, func.unnest(column).label(name)).where(*conditions(f)).subquery()
    )


def map_filters(f: ExportFilters) -> query.Filters:
    """A media bundle's filters as the public map's (one value each at most)."""
    return query.Filters(
        period=f.period,
        category=f.categories[0] if f.categories else None,
        perpetrator=f.perpetrators[0] if f.perpetrators else None,
        province=f.provinces[0] if f.provinces else None,
        res=f.res,
    )


def released_tables(session: Session, f: ExportFilters, settings: Settings) -> Tables:
    """A media bundle's tables: bins of the current release only. Raises ExportInvalid when
    the period was not released."""
    rel = query.released(session)
    try:
        mf = query.current_filters(map_filters(f), rel)
    except query.FilterInvalid as exc:
        raise ExportInvalid(str(exc)) from exc
    cells = query.cell_counts(session, mf, settings, rel)
    s = query.summary(session, mf, settings, rel)
    return Tables(
        k=settings.k_anonymity,
        cells=cells,
        by_province=s.by_province,
        by_category=s.by_category,
        by_perpetrator=s.by_perpetrator,
        by_month=s.by_month,
        by_province_category=s.by_province_category,
        period=mf.period.label if mf.period else None,
        release_id=rel.id or None,
    )


def tables(session: Session, f: ExportFilters, settings: Settings) -> Tables:
    """Every table of a bundle for the filters: the release for media, live for casework."""
    if f.kind == "media":
        return released_tables(session, f, settings)
    cell = getattr(Incident, f"cell_r{f.res}")
    base = conditions(f)
    cats = _unnested(f, Incident.categories, "category")
    perps = _unnested(f, Incident.perpetrators, "perpetrator")
    only_cats = [cats.c.category.in_(f.categories)] if f.categories else []
    only_perps = [perps.c.perpetrator.in_(f.perpetrators)] if f.perpetrators else []
    cells = _grouped(session, settings, Incident, cell, where=[*base, cell.is_not(None)])
    return Tables(
        k=settings.k_anonymity,
        cells=sorted(cells, key=lambda r: (-r[1], r[0])),
        by_province=sorted(_grouped(session, settings, Incident, Incident.province, where=base)),
        by_category=sorted(_grouped(session, settings, cats, cats.c.category, where=only_cats)),
        by_perpetrator=sorted(
            _grouped(session, settings, perps, perps.c.perpetrator, where=only_perps)
        ),
        by_month=sorted(_grouped(session, settings, Incident, Incident.month, where=base)),
        by_province_category=sorted(
            _grouped(session, settings, cats, cats.c.province, cats.c.category, where=only_cats)
        ),
    )


def matching(session: Session, f: ExportFilters) -> int:
    """How many incidents the filters cover (for progress and the casework row count only;
    never written into a media bundle)."""
    return int(
        session.scalar(select(func.count()).select_from(Incident).where(*conditions(f))) or 0
    )
