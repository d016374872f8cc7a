"""Reading the current release for the public: filters from the fixed lattice, a cache.

Every public number (map cells, heat points, tables, the SVG, both APIs and media bundles)
comes out of this module, and every one is a bin that a release stored in `release_bin`
(reporter/maps/release.py decides which bins are shown, reporter/maps/lattice.py how).
Nothing here reads `incident` or the live `incident_count`, and nothing here adds numbers up
except shown bins of the same hexagon in different provinces (a sum of published numbers,
which tells nothing new).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.config import Settings
from reporter.domain.vocabulary import CATEGORY_VALUES, PERPETRATOR_VALUES, PROVINCES
from reporter.maps import lattice
from reporter.maps.lattice import ANY, Period
from reporter.models.counts import Release, ReleaseBin, ReleasePeriod

RESOLUTIONS = lattice.RESOLUTIONS
DEFAULT_RES = 6


class FilterInvalid(ValueError):
    """A query parameter of the public map or API is not valid (the message says which)."""


PERIOD_HELP = (
    "period must be a released month (YYYY-MM), quarter (YYYY-Q1 to YYYY-Q4) or "
    "year (YYYY) from the list in /api/v1/periods"
)


@dataclass(frozen=True)
class Filters:
    period: Period | None = None
    category: str | None = None
    perpetrator: str | None = None
    province: str | None = None
    res: int = DEFAULT_RES

    @property
    def attribute(self) -> str:
        return lattice.attribute_key(self.category, self.perpetrator)

    def public(self) -> dict[str, Any]:
        """The filters as echoed in API responses."""
        return {
            "period": self.period.label if self.period else None,
            "category": self.category,
            "perpetrator": self.perpetrator,
            "province": self.province,
            "res": self.res,
        }

    def args(self, with_res: bool = True) -> dict[str, str]:
        """Query-string arguments that reproduce these filters (only those that are set)."""
        out = {k: str(v) for k, v in self.public().items() if v is not None}
        if not with_res or self.res == DEFAULT_RES:
            out.pop("res", None)
        return out

    def with_period(self, period: Period) -> Filters:
        return Filters(period, self.category, self.perpetrator, self.province, self.res)


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Filters from query arguments (a werkzeug MultiDict or a plain dict); empty means "any"
    (and, for the period, the latest released quarter: see current_filters).

    Raises FilterInvalid with a message that names the parameter (never echoing its value).
    """
    values: dict[str, str] = {}
    for name in ("period", "from", "to", "category", "perpetrator", "province", "res"):
        got = (
            args.getlist(name)
            if hasattr(args, "getlist")
            else ([args[name]] if name in args and args[name] is not None else [])
        )
        if len(got) > 1:
            raise FilterInvalid(f"give {name} at most once")
        if got and str(got[0]).strip():
            values[name] = str(got[0]).strip()
    if "from" in values or "to" in values:
        raise FilterInvalid(
            "from and to are not accepted: choose one period (a whole month, quarter or year)"
        )
    period = None
    if "period" in values:
        period = lattice.parse_period(values["period"])
        if period is None:
            raise FilterInvalid(PERIOD_HELP)
    category = values.get("category")
    if category is not None and category not in CATEGORY_VALUES:
        raise FilterInvalid("category must be one of: " + ", ".join(sorted(CATEGORY_VALUES)))
    perpetrator = values.get("perpetrator")
    if perpetrator is not None and perpetrator not in PERPETRATOR_VALUES:
        raise FilterInvalid("perpetrator must be one of: " + ", ".join(sorted(PERPETRATOR_VALUES)))
    if category and perpetrator:
        raise FilterInvalid("choose a category or a perpetrator, not both")
    province = values.get("province")
    if province is not None and province not in PROVINCES:
        raise FilterInvalid("province must be one of: " + ", ".join(PROVINCES))
    res = values.get("res", str(DEFAULT_RES))
    if res not in {str(r) for r in RESOLUTIONS}:
        raise FilterInvalid("res must be one of: " + ", ".join(map(str, RESOLUTIONS)))
    return Filters(period, category, perpetrator, province, int(res))


@dataclass(frozen=True)
class Released:
    """The current release and its periods, newest first within each kind."""

    release: Release | None
    months: list[str]
    quarters: list[str]
    years: list[str]

    @property
    def id(self) -> int:
        return self.release.id if self.release else 0

    @property
    def labels(self) -> set[str]:
        return {*self.months, *self.quarters, *self.years}

    def default(self) -> Period | None:
        for kind in (self.quarters, self.months, self.years):
            if kind:
                return lattice.parse_period(kind[0])
        return None


def released(session: Session) -> Released:
    rel = session.scalars(select(Release).order_by(Release.id.desc()).limit(1)).first()
    kinds: dict[str, list[str]] = defaultdict(list)
    if rel is not None:
        for label, kind in session.execute(
            select(ReleasePeriod.period, ReleasePeriod.kind).order_by(
                ReleasePeriod.first_month.desc(), ReleasePeriod.period.desc()
            )
        ):
            kinds[kind].append(label)
    return Released(rel, kinds["month"], kinds["quarter"], kinds["year"])


def current_filters(f: Filters, rel: Released) -> Filters:
    """The filters with their period checked against the release (FilterInvalid if it was not
    released) or, when none was given, the latest released quarter."""
    if f.period is None:
        default = rel.default()
        return f.with_period(default) if default else f
    if f.period.label not in rel.labels:
        raise FilterInvalid(PERIOD_HELP)
    return f


class ResponseCache:
    """A small in-process LRU of computed answers, keyed by the release they come from: a new
    release in any process changes the key, so an answer is never served from an old one."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def cached(cache: ResponseCache | None, rel: Released, key: Hashable, compute: Any) -> Any:
    """compute(), or its value cached for this release."""
    if cache is None:
        return compute()
    full = (rel.id, key)
    hit = cache.get(full)
    if hit is None:
        hit = compute()
        cache.put(full, hit)
    return hit


def _bins(
    session: Session, period: str, attribute: str, resolution: int, province: str | None
) -> list[tuple[str, str, int]]:
    conds = [
        ReleaseBin.period == period,
        ReleaseBin.attribute == attribute,
        ReleaseBin.resolution == resolution,
    ]
    if province is not None:
        conds.append(ReleaseBin.province == province)
    return [
        tuple(r)
        for r in session.execute(
            select(ReleaseBin.province, ReleaseBin.cell, ReleaseBin.count).where(*conds)
        )
    ]


def cell_counts(
    session: Session,
    f: Filters,
    settings: Settings,
    rel: Released,
    cache: ResponseCache | None = None,
) -> list[tuple[str, int]]:
    """(h3 cell, count) at f.res, largest first: the shown bins of the province, or without
    a province the shown bins of every province, a hexagon on a border adding its shown parts."""

    def compute() -> list[tuple[str, int]]:
        if f.period is None:
            return []
        total: dict[str, int] = defaultdict(int)
        for _province, cell, n in _bins(session, f.period.label, f.attribute, f.res, f.province):
            total[cell] += n
        return sorted(total.items(), key=lambda r: (-r[1], r[0]))

    return cached(cache, rel, ("cells", f), compute)


@dataclass(frozen=True)
class Summary:
    by_province: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    by_perpetrator: list[tuple[str, int]]
    by_month: list[tuple[dt.date, int]]
    by_province_category: list[tuple[tuple[str, str], int]]


def _period_bins(session: Session, period: Period) -> list[tuple[str, str, str, int]]:
    """(period, attribute, province, count) of the whole country (resolution 0) for the
    period and each of its months."""
    rows = session.execute(
        select(
            ReleaseBin.period, ReleaseBin.attribute, ReleaseBin.province, ReleaseBin.count
        ).where(
            ReleaseBin.resolution == 0,
            ReleaseBin.cell == ANY,
            ReleaseBin.period.in_([period.label, *[lattice.month_label(m) for m in period.months]]),
        )
    ).all()
    return [tuple(r) for r in rows]


def _by_month(
    f: Filters,
    period: Period,
    rows: list[tuple[str, str, str, int]],
    own: list[tuple[str, str, int]],
) -> list[tuple[dt.date, int]]:
    """The counts of each month of a quarter or year (of the month itself for a month)."""
    label, attr, where = period.label, f.attribute, f.province or ANY
    if period.kind != "month":
        return sorted(
            (month.first, n)
            for per, a, p, n in rows
            if per != label
            and a == attr
            and p == where
            and (month := lattice.parse_period(per)) is not None
        )
    first = period.first
    return [(first, n) for a, p, n in own if a == attr and p == where]


def _summary_of(session: Session, f: Filters, period: Period) -> Summary:
    """The Summary of a period (see summary)."""
    rows = _period_bins(session, period)
    label, attr, where = period.label, f.attribute, f.province or ANY
    own = [(a, p, n) for per, a, p, n in rows if per == label]
    by_province = sorted(
        (p, n)
        for a, p, n in own
        if a == attr and p != ANY and (f.province is None or p == f.province)
    )
    cats = [
        (a[2:], p, n)
        for a, p, n in own
        if a.startswith("c:") and (f.category is None or a == attr) and f.perpetrator is None
    ]
    perps = [
        (a[2:], p, n)
        for a, p, n in own
        if a.startswith("p:") and (f.perpetrator is None or a == attr) and f.category is None
    ]
    return Summary(
        by_province=by_province,
        by_category=sorted((c, n) for c, p, n in cats if p == where),
        by_perpetrator=sorted((c, n) for c, p, n in perps if p == where),
        by_month=_by_month(f, period, rows, own),
        by_province_category=sorted(
            ((p, c), n) for c, p, n in cats if p != ANY and (f.province is None or p == f.province)
        ),
    )


def summary(
    session: Session,
    f: Filters,
    settings: Settings,
    rel: Released,
    cache: ResponseCache | None = None,
) -> Summary:
    """Counts of the period by province, category, perpetrator, month (of a quarter or year)
    and province x category; only shown bins, no total (a total beside hidden parts would give
    their sum away). A category filter has no perpetrator list and the other way round: the
    lattice has no bin for both at once."""

    def compute() -> Summary:
        if f.period is None:
            return Summary([], [], [], [], [])
        return _summary_of(session, f, f.period)

    return cached(cache, rel, ("summary", f.period, f.category, f.perpetrator, f.province), compute)
