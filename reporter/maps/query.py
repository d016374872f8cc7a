"""Reading the aggregates for the public: filters, k-suppression, optional noise, a cache.

Every public number (map cells, heat points, tables, the SVG and both APIs) comes out of this
module, and every one has passed `suppress`: a count below k is dropped, never shown as zero or
"fewer than k", so that absence and suppression look alike. Nothing here reads `incident`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from reporter.config import Settings
from reporter.published import AggregateState, IncidentCount
from reporter.vocabulary import CATEGORY_VALUES, PERPETRATOR_VALUES, PROVINCES

ANY = "*"
RESOLUTIONS = (5, 6, 7)
DEFAULT_RES = 6
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_system = secrets.SystemRandom()
T = TypeVar("T")


class FilterInvalid(ValueError):
    """A query parameter of the public map or API is not valid (the message says which)."""


@dataclass(frozen=True)
class Filters:
    month_from: dt.date | None = None
    month_to: dt.date | None = None
    category: str | None = None
    perpetrator: str | None = None
    province: str | None = None
    res: int = DEFAULT_RES

    def public(self) -> dict[str, Any]:
        """The filters as echoed in API responses (months as YYYY-MM)."""
        return {"from": _fmt(self.month_from), "to": _fmt(self.month_to),
                "category": self.category, "perpetrator": self.perpetrator,
                "province": self.province, "res": self.res}

    def args(self, with_res: bool = True) -> dict[str, str]:
        """Query-string arguments that reproduce these filters (only those that are set)."""
        out = {k: str(v) for k, v in self.public().items() if v is not None}
        if not with_res or self.res == DEFAULT_RES:
            out.pop("res", None)
        return out


def _fmt(month: dt.date | None) -> str | None:
    return month.strftime("%Y-%m") if month else None


def _parse_month(name: str, value: str) -> dt.date:
    m = _MONTH.fullmatch(value)
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise FilterInvalid(f"{name} must be a month written YYYY-MM, e.g. 2026-01")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Filters from query arguments (a werkzeug MultiDict or a plain dict); empty means "any".

    Raises FilterInvalid with a message that names the parameter (and never echoes its value).
    """
    values: dict[str, str] = {}
    for name in ("from", "to", "category", "perpetrator", "province", "res"):
        got = args.getlist(name) if hasattr(args, "getlist") else (
            [args[name]] if name in args else [])
        if len(got) > 1:
            raise FilterInvalid(f"give {name} at most once")
        if got and str(got[0]).strip():
            values[name] = str(got[0]).strip()
    month_from = _parse_month("from", values["from"]) if "from" in values else None
    month_to = _parse_month("to", values["to"]) if "to" in values else None
    if month_from and month_to and month_from > month_to:
        raise FilterInvalid("from must not be after to")
    category = values.get("category")
    if category is not None and category not in CATEGORY_VALUES:
        raise FilterInvalid("category must be one of: " + ", ".join(sorted(CATEGORY_VALUES)))
    perpetrator = values.get("perpetrator")
    if perpetrator is not None and perpetrator not in PERPETRATOR_VALUES:
        raise FilterInvalid(
            "perpetrator must be one of: " + ", ".join(sorted(PERPETRATOR_VALUES)))
    province = values.get("province")
    if province is not None and province not in PROVINCES:
        raise FilterInvalid("province must be one of: " + ", ".join(PROVINCES))
    res = values.get("res", str(DEFAULT_RES))
    if res not in {str(r) for r in RESOLUTIONS}:
        raise FilterInvalid("res must be one of: 5, 6, 7")
    return Filters(month_from, month_to, category, perpetrator, province, int(res))


class ResponseCache:
    """A small in-process LRU of computed aggregates, keyed by the aggregates' change token.

    A publish or withdrawal in any process changes the token (reporter/maps/publish.py), so a
    cached entry is never served after the data changed. With count noise on, the cache also
    means one noise draw per filter set and data version in this process (docs/maps.md).
    """

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


def change_token(session: Session) -> str:
    token = session.scalar(select(AggregateState.token).where(AggregateState.id == 1))
    return token or "empty"


def noisy(count: int, epsilon: float) -> int:
    """Laplace noise of scale 1/epsilon (a difference of two exponentials), rounded."""
    return max(0, round(count + _system.expovariate(epsilon) - _system.expovariate(epsilon)))


def suppress(rows: Iterable[tuple[T, int]], settings: Settings) -> list[tuple[T, int]]:
    """Noise first (when configured), then drop every count below k."""
    out = []
    for key, count in rows:
        n = int(count)
        if settings.count_noise_epsilon:
            n = noisy(n, settings.count_noise_epsilon)
        if n >= settings.k_anonymity:
            out.append((key, n))
    return out


def _where(f: Filters, resolution: int, *, category: str | None,
           perpetrator: str | None) -> list[ColumnElement[bool]]:
    """Conditions on incident_count. category/perpetrator None means "one row per value"."""
    conds = [IncidentCount.resolution == resolution]
    if category is None:
        conds.append(IncidentCount.category != ANY)
    else:
        conds.append(IncidentCount.category == category)
    if perpetrator is None:
        conds.append(IncidentCount.perpetrator != ANY)
    else:
        conds.append(IncidentCount.perpetrator == perpetrator)
    if f.month_from:
        conds.append(IncidentCount.month >= f.month_from)
    if f.month_to:
        conds.append(IncidentCount.month <= f.month_to)
    if f.province:
        conds.append(IncidentCount.province == f.province)
    return conds


def _grouped(session: Session, conds: list[ColumnElement[bool]], *group: Any,
             settings: Settings) -> list[tuple[Any, int]]:
    total = func.sum(IncidentCount.count)
    stmt = select(*group, total).where(*conds).group_by(*group)
    if not settings.count_noise_epsilon:
        # without noise the database can drop small counts itself
        stmt = stmt.having(total >= settings.k_anonymity)
    rows = session.execute(stmt).all()
    keyed = [(tuple(r[:-1]) if len(group) > 1 else r[0], r[-1]) for r in rows]
    return suppress(keyed, settings)


def cached(session: Session, cache: ResponseCache | None, key: Hashable,
           compute: Any) -> Any:
    """compute(), or its value cached for the aggregates' current change token."""
    if cache is None:
        return compute()
    full = (change_token(session), key)
    hit = cache.get(full)
    if hit is None:
        hit = compute()
        cache.put(full, hit)
    return hit


def cell_counts(session: Session, f: Filters, settings: Settings,
                cache: ResponseCache | None = None) -> list[tuple[str, int]]:
    """(h3 cell, count) at f.res for the filters, every count >= k, largest first."""
    def compute() -> list[tuple[str, int]]:
        conds = _where(f, f.res, category=f.category or ANY, perpetrator=f.perpetrator or ANY)
        rows = _grouped(session, conds, IncidentCount.cell, settings=settings)
        return sorted(rows, key=lambda r: (-r[1], r[0]))
    return cached(session, cache, ("cells", f, settings.k_anonymity,
                                   settings.count_noise_epsilon), compute)


@dataclass(frozen=True)
class Summary:
    by_province: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    by_perpetrator: list[tuple[str, int]]
    by_month: list[tuple[dt.date, int]]
    by_province_category: list[tuple[tuple[str, str], int]]


def summary(session: Session, f: Filters, settings: Settings,
            cache: ResponseCache | None = None) -> Summary:
    """Country-level counts by province, category, perpetrator, month and province x category.

    Each list is suppressed on its own; no total is published (a total beside suppressed parts
    would give away their sum). Categories and perpetrators overlap (one incident can have
    several), so their lists do not add up to the province list either.
    """
    def compute() -> Summary:
        cat, perp = f.category or ANY, f.perpetrator or ANY
        c = IncidentCount
        return Summary(
            by_province=sorted(_grouped(
                session, _where(f, 0, category=cat, perpetrator=perp), c.province,
                settings=settings)),
            by_category=sorted(_grouped(
                session, _where(f, 0, category=f.category, perpetrator=perp), c.category,
                settings=settings)),
            by_perpetrator=sorted(_grouped(
                session, _where(f, 0, category=cat, perpetrator=f.perpetrator),
                c.perpetrator, settings=settings)),
            by_month=sorted(_grouped(
                session, _where(f, 0, category=cat, perpetrator=perp), c.month,
                settings=settings)),
            by_province_category=sorted(_grouped(
                session, _where(f, 0, category=f.category, perpetrator=perp), c.province,
                c.category, settings=settings)),
        )
    return cached(session, cache, ("summary", f.month_from, f.month_to, f.category,
                                   f.perpetrator, f.province, settings.k_anonymity,
                                   settings.count_noise_epsilon), compute)
