"""The casework file incidents.csv: one row per published, not withdrawn incident.

Only the coarse published fields, each controlled term beside its HURIDOCS code; never a point
or a coordinate (the displaced point stays in the database; the coarsest cell, h3 resolution 5,
is about 250 km2), never anything from an envelope (this package cannot import those models).

PostgreSQL writes the CSV itself: `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`
through psycopg's `cursor.copy()`, on the session's own connection and transaction. Python only
gathers the rows into blocks of BLOCK_ROWS rows, hashes them and writes them into the open zip
entry, so memory stays flat however many incidents there are (bench/export.py measures it at
1,000,000 against a bare COPY of the stored columns: at most 1.5 times).

The HURIDOCS codes come from the vocabulary, bound as parameters: each distinct combination of
terms is coded once (a few hundred at most) and joined to the rows by hash. The file is the one
the csv module wrote before: minimal quoting (only a field holding a comma, a quote or a line
break is quoted, quotes doubled), "\\n" line ends, and an empty field for a missing cell or an
empty list. (COPY writes NULL as an empty field and an empty string as `""`, so every field that
can be empty is sent as NULL when it is.)
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from reporter.export.counts import conditions
from reporter.export.filters import ExportFilters
from reporter.published import Incident
from reporter.vocabulary import CATEGORIES, PERPETRATORS, VOCABULARY_VERSION, Term

COLUMNS = (
    "id", "month", "province", "cell_r5", "categories", "category_codes", "perpetrators",
    "perpetrator_codes", "verification_level", "source_type", "people_affected",
    "vocabulary_version",
)
SEPARATOR = ";"  # between the terms of one field (the terms themselves never contain it)
BLOCK_ROWS = 2000  # rows (about 250 KB) gathered before a write into the zip entry
PROGRESS_ROWS = 10_000
QUEUED = 8  # blocks waiting to be written, at most

Progress = Callable[[int], None]

# The codes of a row's terms: looked up by the joined terms in a JSON object made from the
# combinations the table holds (one small query first); a combination that appeared since then
# is coded term by term in SQL (COALESCE evaluates that only when the lookup found nothing).
# An unknown term keeps its place as "?".
_CODES = """coalesce(%({name}_map)s::jsonb ->> s.{name},
    array_to_string(ARRAY(SELECT coalesce(v.code, '?')
                          FROM unnest(string_to_array(s.{name}, '{sep}')) WITH ORDINALITY
                               AS u(term, n)
                          LEFT JOIN (VALUES {pairs}) AS v(term, code) ON v.term = u.term
                          ORDER BY u.n), '{sep}'))"""

# Sorted on the stored columns first (narrow rows: the term lists already joined), then
# formatted: the outer ORDER BY is the subquery's own order, so PostgreSQL does not sort again.
_SELECT = """
    SELECT s.public_id AS id, to_char(s.month, 'YYYY-MM') AS month, s.province AS province,
           NULLIF(s.cell_r5, '') AS cell_r5,
           NULLIF(s.categories, '') AS categories,
           NULLIF({category_codes}, '') AS category_codes,
           NULLIF(s.perpetrators, '') AS perpetrators,
           NULLIF({perpetrator_codes}, '') AS perpetrator_codes,
           NULLIF(s.verification_level, '') AS verification_level,
           NULLIF(s.source_type, '') AS source_type,
           s.people_affected AS people_affected,
           %(vocabulary_version)s::text AS vocabulary_version
    FROM (SELECT incident.public_id, incident.month, incident.province, incident.cell_r5,
                 array_to_string(incident.categories, '{sep}') AS categories,
                 array_to_string(incident.perpetrators, '{sep}') AS perpetrators,
                 incident.verification_level, incident.source_type, incident.people_affected
          FROM incident WHERE {where}
          ORDER BY incident.month, incident.public_id OFFSET 0) AS s
    ORDER BY s.month, s.public_id
"""


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int
    sha256: str


def _codes(terms: Sequence[Term], values: Sequence[str]) -> str:
    code = {t.value: t.huridocs for t in terms}
    return SEPARATOR.join(code.get(v, "?") for v in values)


def _pairs(prefix: str, terms: Sequence[Term], params: dict[str, Any]) -> str:
    out = []
    for i, t in enumerate(terms):
        params[f"{prefix}_t{i}"], params[f"{prefix}_c{i}"] = t.value, t.huridocs
        out.append(f"(%({prefix}_t{i})s::text, %({prefix}_c{i})s::text)")
    return ", ".join(out)


def copy_statement(session: Session, f: ExportFilters) -> tuple[str, dict[str, Any]]:
    """The COPY statement (psycopg's %(name)s placeholders, bound client-side) and its values."""
    where = select(Incident.id).where(*conditions(f)).whereclause
    compiled = where.compile(dialect=postgresql.psycopg.dialect(),  # type: ignore[union-attr]
                             compile_kwargs={"render_postcompile": True})
    params: dict[str, Any] = dict(compiled.params)
    params["vocabulary_version"] = VOCABULARY_VERSION
    combos = session.execute(select(Incident.categories, Incident.perpetrators)
                             .where(*conditions(f)).distinct()).all()
    params["categories_map"] = json.dumps(
        {SEPARATOR.join(c): _codes(CATEGORIES, c) for c in {tuple(r[0]) for r in combos}})
    params["perpetrators_map"] = json.dumps(
        {SEPARATOR.join(p): _codes(PERPETRATORS, p) for p in {tuple(r[1]) for r in combos}})
    query = _SELECT.format(
        sep=SEPARATOR, where=str(compiled),
        category_codes=_CODES.format(name="categories", sep=SEPARATOR,
                                     pairs=_pairs("cat", CATEGORIES, params)),
        perpetrator_codes=_CODES.format(name="perpetrators", sep=SEPARATOR,
                                        pairs=_pairs("per", PERPETRATORS, params)))
    return f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", params


def write_incidents_csv(session: Session, f: ExportFilters, out: IO[bytes],
                        progress: Progress | None = None) -> Written:
    """Write the CSV to `out` (e.g. an open zip entry) block by block; returns its digest.

    This thread reads COPY's rows and gathers them into blocks; a second thread hashes each
    block and writes it into `out` (zlib and hashlib release the GIL, so deflating overlaps with
    reading). At most QUEUED blocks wait between the two: memory stays flat.
    """
    statement, params = copy_statement(session, f)
    connection = session.connection().connection.driver_connection  # psycopg, same transaction
    writer = _Writer(out)
    writer.start()
    lines = 0
    next_progress = PROGRESS_ROWS
    try:
        with connection.cursor() as cursor:
            # JIT compiling this one query costs more than it saves (it is run once)
            cursor.execute("SELECT set_config('jit', 'off', true)")
            block: list[Any] = []
            with cursor.copy(statement, params) as copy:
                for chunk in copy:  # PostgreSQL sends one message per row, the header first
                    block.append(chunk)
                    if len(block) >= BLOCK_ROWS:
                        writer.put(b"".join(block))
                        block.clear()
                        lines += BLOCK_ROWS
                        if progress and lines - 1 >= next_progress:
                            progress(lines - 1)
                            next_progress = lines - 1 + PROGRESS_ROWS
            rows = cursor.rowcount
            cursor.execute("SELECT set_config('jit', %s, true)", (_jit_default(connection),))
        writer.put(b"".join(block))
    finally:
        writer.finish()
    if progress:
        progress(rows)
    return Written(rows, writer.size, writer.digest.hexdigest())


def _jit_default(connection: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reset_val FROM pg_settings WHERE name = 'jit'")
        row = cursor.fetchone()
    return str(row[0]) if row else "on"


class _Writer(threading.Thread):
    """Hashes and writes the blocks it is given, in order; an error is raised in finish()."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(name="incidents-csv-writer", daemon=True)
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED)

    def run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self.digest.update(data)
                    self.out.write(data)
                    self.size += len(data)
                except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                    self.error = exc

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        if data:
            self._queue.put(data)

    def finish(self) -> None:
        self._queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error
