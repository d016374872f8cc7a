"""The casework file incidents.csv: one row per published, not withdrawn incident.

Only the coarse published fields, each controlled term beside its HURIDOCS code; never a point
or a coordinate (the displaced point stays in the database; the coarsest cell, h3 resolution 5,
is about 250 km2), never anything from an envelope (this package cannot import those models).

It streams: a server-side cursor hands over a few thousand rows at a time, each batch is
formatted and written into the open zip entry and then dropped, so memory stays flat however
many incidents there are (bench/export.py measures it at 1,000,000).

Every field is a hex id, a code or a number from the controlled vocabulary, so a line never
needs CSV quoting; such lines are written with plain string formatting, which is several times
faster than the csv module. Each batch is checked (no quote, comma count, line count) and any
batch that fails is written again through the csv module, so an odd value in the database can
cost speed, never correctness.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reporter.export.counts import conditions
from reporter.export.filters import ExportFilters
from reporter.published import Incident
from reporter.vocabulary import CATEGORIES, PERPETRATORS, VOCABULARY_VERSION

COLUMNS = (
    "id", "month", "province", "cell_r5", "categories", "category_codes", "perpetrators",
    "perpetrator_codes", "verification_level", "source_type", "people_affected",
    "vocabulary_version",
)
BATCH = 5000
SEPARATOR = ";"  # between the terms of one field (the terms themselves never contain it)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int
    sha256: str


@cache
def _codes(kind: str, joined: str) -> str:
    """"a;b" -> "MT4:02;MT4:11"; the few distinct combinations are computed once."""
    terms = {t.value: t.huridocs for t in (CATEGORIES if kind == "c" else PERPETRATORS)}
    return SEPARATOR.join(terms[v] for v in joined.split(SEPARATOR) if v)


def statement(f: ExportFilters) -> object:
    """The rows, already in their written form where PostgreSQL does that faster than Python."""
    return (
        select(Incident.public_id, func.to_char(Incident.month, "YYYY-MM"), Incident.province,
               Incident.cell_r5, func.array_to_string(Incident.categories, SEPARATOR),
               func.array_to_string(Incident.perpetrators, SEPARATOR),
               Incident.verification_level, Incident.source_type, Incident.people_affected)
        .where(*conditions(f))
        .order_by(Incident.month, Incident.public_id)
    )


def _fields(part: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    version = VOCABULARY_VERSION
    for pid, month, province, cell, cats, perps, level, source, people in part:
        yield (pid, month, province, cell or "", cats, _codes("c", cats), perps,
               _codes("p", perps), level, source, people, version)


def _plain(part: Sequence[Any]) -> str | None:
    """The batch as CSV lines without quoting, or None if some field would need quoting."""
    text = "".join(f"{a},{b},{c},{d},{e},{f},{g},{h},{i},{j},{k},{m}\n"
                   for a, b, c, d, e, f, g, h, i, j, k, m in _fields(part))
    lines = len(part)
    if ('"' in text or "\r" in text or text.count("\n") != lines
            or text.count(",") != (len(COLUMNS) - 1) * lines):
        return None
    return text


def _quoted(part: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(_fields(part))
    return buf.getvalue()


def write_incidents_csv(session: Session, f: ExportFilters, out: IO[bytes],
                        progress: Progress | None = None, batch: int = BATCH) -> Written:
    """Write the CSV to `out` (e.g. an open zip entry) batch by batch; returns its digest."""
    digest = hashlib.sha256()
    size = rows = 0

    def emit(text: str) -> None:
        nonlocal size
        data = text.encode("utf-8")
        digest.update(data)
        out.write(data)
        size += len(data)

    emit(",".join(COLUMNS) + "\n")
    # Core rows on the session's connection (and transaction): the ORM's per-row bookkeeping
    # would cost more than everything else here together
    result = session.connection().execute(statement(f),  # type: ignore[call-overload]
                                          execution_options={"yield_per": batch})
    try:
        for part in result.partitions():
            text = _plain(part)
            emit(text if text is not None else _quoted(part))
            rows += len(part)
            if progress:
                progress(rows)
    finally:
        result.close()
    return Written(rows, size, digest.hexdigest())
