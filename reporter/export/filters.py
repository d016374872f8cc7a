"""What an export covers: a period, provinces, categories, perpetrator types, a kind.

Unlike the public map (one value per filter), an export may name several provinces, categories
and perpetrator types; an incident matches when its province is one of those named and it has
at least one of the named categories and at least one of the named perpetrator types. Empty
means "any". Messages name the field and the allowed values, never echo what was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reporter.maps.query import FilterInvalid, parse_filters
from reporter.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES

KINDS = ("media", "casework")
RESOLUTIONS = (5, 6, 7)
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

    def public(self) -> dict[str, Any]:
        """The parameters as written in the manifest, the audit log and the pictures."""
        return {
            "kind": self.kind,
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

        return (f"kind={p['kind']} from={p['from'] or '*'} to={p['to'] or '*'} "
                f"provinces={many(p['provinces'])} categories={many(p['categories'])} "
                f"perpetrators={many(p['perpetrators'])} res={self.res}")

    def period_text(self) -> str:
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


def parse_export_filters(args: Mapping[str, Any]) -> ExportFilters:
    """ExportFilters from a form (a werkzeug MultiDict) or a plain dict; raises ExportInvalid.

    Keys: from, to (YYYY-MM), province, category, perpetrator (each repeatable or
    comma-separated), kind (media or casework), res (5, 6 or 7).
    """
    period = {k: v for k in ("from", "to") if (v := _one(args, k)) is not None}
    try:
        months = parse_filters(period)  # the public map's month rules and messages
    except FilterInvalid as exc:
        raise ExportInvalid(str(exc)) from exc
    kind = _one(args, "kind") or "media"
    if kind not in KINDS:
        raise ExportInvalid("kind must be media or casework")
    res = _one(args, "res") or str(DEFAULT_RES)
    if res not in {str(r) for r in RESOLUTIONS}:
        raise ExportInvalid("res must be one of: 5, 6, 7")
    return ExportFilters(
        month_from=months.month_from,
        month_to=months.month_to,
        provinces=_checked(_values(args, "province"), PROVINCES, "province"),
        categories=_checked(_values(args, "category"), [t.value for t in CATEGORIES],
                            "category"),
        perpetrators=_checked(_values(args, "perpetrator"), [t.value for t in PERPETRATORS],
                              "perpetrator"),
        kind=kind,
        res=int(res),
    )
