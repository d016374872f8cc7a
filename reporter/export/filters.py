"""What an export covers: a period, provinces, categories, perpetrator types, a kind.

A media bundle is cut from the current release, like the public map: one released period (a
whole month, quarter or year; default the latest released quarter), at most one province, and
at most one category or one perpetrator type (not both); hexagons of resolution 5 or 6.

A casework bundle (coordinators, admins) may instead name a range of months (from, to) and
several provinces, categories and perpetrator types; an incident matches when its province is
one of those named and it has at least one of the named categories and at least one of the named
perpetrator types. Empty means "any". Messages name the field and the allowed values, never
echo what was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES
from reporter.maps import lattice
from reporter.maps.lattice import Period

KINDS = ("media", "casework")
RESOLUTIONS = lattice.RESOLUTIONS
DEFAULT_RES = 6
MAX_VALUES = 64  # more values than the vocabulary has is a malformed request


class ExportInvalid(ValueError):
    """A filter of an export is not valid (the message says which and why)."""


@dataclass(frozen=True)
class ExportFilters:
    month_from: dt.date | None = None
    month_to: dt.date | None = None
    provinces: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    perpetrators: tuple[str, ...] = ()
    kind: str = "media"
    res: int = DEFAULT_RES
    period: Period | None = None  # a released period (media; casework may give one too)

    def public(self) -> dict[str, Any]:
        """The parameters as written in the manifest, the audit log and the pictures."""
        return {
            "kind": self.kind,
            "period": self.period.label if self.period else None,
            "from": self.month_from.strftime("%Y-%m") if self.month_from else None,
            "to": self.month_to.strftime("%Y-%m") if self.month_to else None,
            "provinces": list(self.provinces),
            "categories": list(self.categories),
            "perpetrators": list(self.perpetrators),
            "resolution": self.res,
        }

    def audit_text(self) -> str:
        """Filters as one line for the audit log (names and codes only)."""
        p = self.public()

        def many(values: list[str]) -> str:
            return ",".join(values) or "*"

        period = f"period={p['period']} " if p["period"] else ""
        return (
            f"kind={p['kind']} {period}from={p['from'] or '*'} to={p['to'] or '*'} "
            f"provinces={many(p['provinces'])} categories={many(p['categories'])} "
            f"perpetrators={many(p['perpetrators'])} res={self.res}"
        )

    def period_text(self) -> str:
        if self.period is not None:
            return self.period.label
        start = self.month_from.strftime("%Y-%m") if self.month_from else "the first record"
        end = self.month_to.strftime("%Y-%m") if self.month_to else "now"
        return f"{start} to {end}"


def _values(args: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(args, "getlist"):
        raw: Iterable[Any] = args.getlist(name)
    else:
        value = args.get(name)
        raw = [] if value is None else (value if isinstance(value, list | tuple) else [value])
    out: list[str] = []
    for item in raw:
        # "GP,WC" and repeated fields are both accepted
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    if len(out) > MAX_VALUES:
        raise ExportInvalid(f"{name}: too many values")
    return list(dict.fromkeys(out))


def _one(args: Mapping[str, Any], name: str) -> str | None:
    values = _values(args, name)
    if len(values) > 1:
        raise ExportInvalid(f"give {name} at most once")
    return values[0] if values else None


def _checked(values: list[str], allowed: Iterable[str], name: str) -> tuple[str, ...]:
    allowed = list(allowed)
    if any(v not in allowed for v in values):
        raise ExportInvalid(f"{name} must be among: " + ", ".join(allowed))
    # a fixed order, so that equal selections give equal manifests and audit lines
    return tuple(v for v in allowed if v in values)


def _month(name: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    period = lattice.parse_period(value)
    if period is None or period.kind != "month":
        raise ExportInvalid(f"{name} must be a month written YYYY-MM, e.g. 2026-01")
    return period.first


def parse_export_filters(args: Mapping[str, Any]) -> ExportFilters:
    """ExportFilters from a form (a werkzeug MultiDict) or a plain dict; raises ExportInvalid.

    Keys: period (YYYY-MM, YYYY-Qn or YYYY), from, to (YYYY-MM, casework only), province,
    category, perpetrator (each repeatable or comma-separated; one at most for media), kind
    (media or casework), res (5 or 6).
    """
    kind = _one(args, "kind") or "media"
    if kind not in KINDS:
        raise ExportInvalid("kind must be media or casework")
    period = None
    if (label := _one(args, "period")) is not None:
        period = lattice.parse_period(label)
        if period is None:
            raise ExportInvalid(
                "period must be a month (YYYY-MM), a quarter (YYYY-Q1 to YYYY-Q4) or a year (YYYY)"
            )
    month_from, month_to = _month("from", _one(args, "from")), _month("to", _one(args, "to"))
    if month_from and month_to and month_from > month_to:
        raise ExportInvalid("from must not be after to")
    if (month_from or month_to) and (kind == "media" or period):
        raise ExportInvalid(
            "from and to are for casework bundles only; a media bundle takes one released period"
        )
    if period is not None:
        month_from, month_to = period.first, period.last
    res = _one(args, "res") or str(DEFAULT_RES)
    if res not in {str(r) for r in RESOLUTIONS}:
        raise ExportInvalid("res must be one of: " + ", ".join(map(str, RESOLUTIONS)))
    f = ExportFilters(
        month_from=month_from,
        month_to=month_to,
        provinces=_checked(_values(args, "province"), PROVINCES, "province"),
        categories=_checked(_values(args, "category"), [t.value for t in CATEGORIES], "category"),
        perpetrators=_checked(
            _values(args, "perpetrator"), [t.value for t in PERPETRATORS], "perpetrator"
        ),
        kind=kind,
        res=int(res),
        period=period,
    )
    if kind == "media":
        if len(f.provinces) > 1:
            raise ExportInvalid("a media bundle takes one province or all")
        if len(f.categories) + len(f.perpetrators) > 1:
            raise ExportInvalid(
                "a media bundle takes one category or one perpetrator type, or neither"
            )
    return f
