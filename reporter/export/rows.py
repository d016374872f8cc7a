"""The casework file incidents.csv: one row per published, not withdrawn incident.

Only the coarse published fields, each controlled term beside its HURIDOCS code; never a point
or a coordinate (the displaced point stays in the database; the coarsest cell, h3 resolution 5,
is about 250 km2), never anything from an envelope (this package cannot import those models).

PostgreSQL writes the CSV itself: `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`
through psycopg's `cursor.copy()`, on the session's own connection and transaction. Python only
gathers the rows into blocks of BLOCK_ROWS rows, hashes them and writes them into the open zip
entry, so memory stays flat however many incidents there are (bench/export.py measures it at
1,000,000 against a bare COPY of the stored columns: at most 1.5 times).

The HURIDOCS codes come from the vocabulary, bound as parameters (see _LOOKUP), so the query
stays one flat, parallel-safe SELECT that PostgreSQL's workers compute and sort like the bare
COPY; JIT is off and work_mem 32 MB for the rest of the transaction (SET LOCAL). The file is the one
the csv module wrote before: minimal quoting (only a field holding a comma, a quote or a line
break is quoted, quotes doubled), "\\n" line ends, and an empty field for a missing cell or an
empty list. (COPY writes NULL as an empty field and an empty string as `""`, so every field that
can be empty is sent as NULL when it is.)
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, VOCABULARY_VERSION, Term
from reporter.export.counts import conditions
from reporter.export.filters import ExportFilters
from reporter.models.public import Incident

COLUMNS = (
    "id",
    "month",
    "province",
    "cell_r5",
    "categories",
    "category_codes",
    "perpetrators",
    "perpetrator_codes",
    "verification_level",
    "source_type",
    "people_affected",
    "vocabulary_version",
)
SEPARATOR = ";"  # between the terms of one field (the terms themselves never contain it)
BLOCK_ROWS = 2000  # rows (about 250 KB) gathered before a write into the zip entry
PROGRESS_ROWS = 10_000
MAPPED = 3  # term lists up to this long are coded by one lookup

Progress = Callable[[int], None]

# The codes of a row's terms: looked up by the joined terms in a JSON object holding every
# ordered list of up to MAPPED terms of the vocabulary (a few thousand keys, bound once per
# export); a longer list is coded term by term (COALESCE evaluates that only when the lookup
# found nothing). An unknown term keeps its place as "?". No subquery: every field stays
# parallel-safe, so PostgreSQL's workers compute them.
_LOOKUP = "coalesce(%({name}_map)s::jsonb ->> array_to_string(incident.{name}, '{sep}'), {each})"
_TERM = (
    "coalesce(%({name}_terms)s::jsonb ->> incident.{name}[{i}], "
    "CASE WHEN incident.{name}[{i}] IS NULL THEN NULL ELSE '?' END)"
)


def _codes_sql(name: str, terms: Sequence[Term]) -> str:
    each = ", ".join(_TERM.format(name=name, i=i) for i in range(1, 2 * len(terms) + 1))
    return _LOOKUP.format(name=name, sep=SEPARATOR, each=f"concat_ws('{SEPARATOR}', {each})")


# One flat query, like the bare COPY it is measured against: PostgreSQL's parallel workers
# compute every field and sort; the leader only merges and sends.
_SELECT = """
    SELECT incident.public_id AS id, to_char(incident.month, 'YYYY-MM') AS month,
           incident.province AS province, NULLIF(incident.cell_r5, '') AS cell_r5,
           NULLIF(array_to_string(incident.categories, '{sep}'), '') AS categories,
           NULLIF({category_codes}, '') AS category_codes,
           NULLIF(array_to_string(incident.perpetrators, '{sep}'), '') AS perpetrators,
           NULLIF({perpetrator_codes}, '') AS perpetrator_codes,
           NULLIF(incident.verification_level, '') AS verification_level,
           NULLIF(incident.source_type, '') AS source_type,
           incident.people_affected AS people_affected,
           %(vocabulary_version)s::text AS vocabulary_version
    FROM incident
    WHERE {where}
    ORDER BY incident.month, incident.public_id
"""


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int
    sha256: str


@cache
def _code_map(kind: str) -> str:
    """{"extortion;saps_term": "MT4:02;...", ...} for every ordered list of up to MAPPED terms."""
    terms = CATEGORIES if kind == "categories" else PERPETRATORS
    code = {t.value: t.huridocs for t in terms}
    out = {}
    for n in range(1, MAPPED + 1):
        for values in itertools.permutations(code, n):
            out[SEPARATOR.join(values)] = SEPARATOR.join(code[v] for v in values)
    out[""] = ""
    return json.dumps(out, separators=(",", ":"))


def copy_statement(f: ExportFilters) -> tuple[str, dict[str, Any]]:
    """The COPY statement (psycopg's %(name)s placeholders, bound client-side) and its values."""
    where = select(Incident.id).where(*conditions(f)).whereclause
    assert where is not None  # conditions() always yields at least the not-withdrawn one
    compiled = where.compile(
        dialect=postgresql.psycopg.dialect(),
        compile_kwargs={"render_postcompile": True},
    )
    params: dict[str, Any] = dict(compiled.params)
    params["vocabulary_version"] = VOCABULARY_VERSION
    for name, terms in (("categories", CATEGORIES), ("perpetrators", PERPETRATORS)):
        params[f"{name}_map"] = _code_map(name)
        params[f"{name}_terms"] = json.dumps({t.value: t.huridocs for t in terms})
    query = _SELECT.format(
        sep=SEPARATOR,
        where=str(compiled),
        category_codes=_codes_sql("categories", CATEGORIES),
        perpetrator_codes=_codes_sql("perpetrators", PERPETRATORS),
    )
    return f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", params


def write_incidents_csv(
    session: Session, f: ExportFilters, out: IO[bytes], progress: Progress | None = None
) -> Written:
    """Write the CSV to `out` (e.g. an open zip entry) block by block; returns its digest.

    The blocks are hashed and written in this thread: PostgreSQL goes on filling the socket
    while a block is deflated, and a second thread would only make the two fight over the GIL.
    """
    statement, params = copy_statement(f)
    connection = session.connection().connection.driver_connection  # psycopg, same transaction
    assert connection is not None  # a checked-out connection always has its driver's
    digest = hashlib.sha256()
    size = lines = 0
    next_progress = PROGRESS_ROWS

    def write(block: list[Any]) -> None:
        nonlocal size
        data = b"".join(block)
        block.clear()
        digest.update(data)
        out.write(data)
        size += len(data)

    with connection.cursor() as cursor:
        # compiling this one query (JIT) costs more than it saves; until the transaction ends
        cursor.execute("SET LOCAL jit = off")
        # the sort in memory rather than in temporary files, where it fits
        cursor.execute("SET LOCAL work_mem = '32MB'")
        block: list[Any] = []
        with cursor.copy(statement, params) as copy:
            for chunk in copy:  # PostgreSQL sends one message per row, the header first
                block.append(chunk)
                if len(block) >= BLOCK_ROWS:
                    write(block)
                    lines += BLOCK_ROWS
                    if progress and lines - 1 >= next_progress:
                        progress(lines - 1)
                        next_progress = lines - 1 + PROGRESS_ROWS
        rows = cursor.rowcount
    write(block)
    if progress:
        progress(rows)
    return Written(rows, size, digest.hexdigest())
