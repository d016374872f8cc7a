"""bench/export.py at a small count (2,000 incidents, a few seconds), run as a program: it runs,
writes every row, and reports each figure that `make bench` prints; and the export's COPY writer
(reporter/export/rows.py) writes, byte for byte, what the csv module writes from the same rows,
odd values included."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, VOCABULARY_VERSION
from reporter.export import rows
from reporter.export.filters import ExportFilters
from reporter.maps.seed import fill_synthetic
from reporter.ops import migrate, pgcluster
from tests.conftest import fresh_database
from tests.support.programs import program_figures


def test_csv_export_vs_copy_reports_its_figures(cluster: Path) -> None:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        figures = program_figures("export", "--database-url", url, "--n", "2000")
    finally:
        pgcluster.drop_database(cluster, name)
    assert set(figures) == {
        "csv_export_vs_copy",
        "csv_export_s",
        "csv_copy_s",
        "csv_export_rows",
        "csv_export_peak_mib",
        "csv_export_peak_mib_tenth",
        "csv_export_rows_tenth",
        "csv_export_rss_growth_mib",
        "csv_export_fill_s",
    }
    assert figures["csv_export_rows"] == 2000
    assert 0 < figures["csv_export_rows_tenth"] < 2000
    assert figures["csv_export_vs_copy"] > 0 and figures["csv_export_peak_mib"] > 0


# --- the COPY writer writes exactly what the csv module would ---------------------------------

ODD_ROWS = [
    # (public_id, categories, perpetrators, province, cell_r5, level, source, people)
    ("odd-null-cell", ["extortion"], ["saps"], "GP", None, "reported", "self", 1),
    ("odd-empty-lists", [], [], "WC", "", "reported", "self", 2),
    (
        "odd-quoting",
        ["extortion", "unlawful_arrest"],
        ["saps"],
        "KZN",
        "85bd3fffffffff",
        'a,"b"',
        "line\nbreak",
        3,
    ),
    # longer than the lists coded by one lookup (rows.MAPPED): coded term by term
    (
        "odd-long-list",
        ["extortion", "confiscation", "harassment", "physical_assault", "unlawful_arrest"],
        ["metro_police", "saps"],
        "GP",
        None,
        "reported",
        "self",
        1,
    ),
    (
        "odd-unknown-term",
        ["no_such_term", "extortion"],
        ["nobody"],
        "EC",
        None,
        "reported",
        " spaced ",
        1,
    ),
]


def reference_csv(conn: Any, where: str = "TRUE") -> bytes:
    """incidents.csv as the csv module writes it (minimal quoting, \\n), from the stored rows."""
    codes = {
        "c": {t.value: t.huridocs for t in CATEGORIES},
        "p": {t.value: t.huridocs for t in PERPETRATORS},
    }
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(rows.COLUMNS)
    for r in conn.execute(
        text(
            "SELECT public_id, to_char(month, 'YYYY-MM'), province, cell_r5, categories, "
            "perpetrators, verification_level, source_type, people_affected FROM incident "
            f"WHERE NOT withdrawn AND {where} ORDER BY month, public_id"
        )
    ):
        out.writerow(
            [
                r[0],
                r[1],
                r[2],
                r[3] or "",
                ";".join(r[4]),
                ";".join(codes["c"].get(v, "?") for v in r[4]),
                ";".join(r[5]),
                ";".join(codes["p"].get(v, "?") for v in r[5]),
                r[6],
                r[7],
                r[8],
                VOCABULARY_VERSION,
            ]
        )
    return buf.getvalue().encode()


def test_the_copy_writer_matches_the_csv_module_byte_for_byte(cluster: Path) -> None:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    try:
        with engine.begin() as conn:
            fill_synthetic(conn, 600)
            for pid, cats, perps, prov, cell, level, source, people in ODD_ROWS:
                conn.execute(
                    text(
                        "INSERT INTO incident (public_id, categories, perpetrators, month,"
                        " province,"
                        " geom, cell_r5, verification_level, source_type, people_affected,"
                        " published_on, withdrawn) VALUES (:pid, :cats, :perps, date_trunc('month',"
                        " current_date)::date, :prov, ST_SetSRID(ST_MakePoint(28.0, -26.0), 4326),"
                        " :cell, :level, :source, :people, current_date, false)"
                    ),
                    {
                        "pid": pid,
                        "cats": cats,
                        "perps": perps,
                        "prov": prov,
                        "cell": cell,
                        "level": level,
                        "source": source,
                        "people": people,
                    },
                )
            conn.execute(
                text(
                    "UPDATE incident SET withdrawn = true WHERE public_id IN "
                    "(SELECT public_id FROM incident ORDER BY public_id LIMIT 7)"
                )
            )
        month = dt.date.today().replace(day=1)
        cases = [
            (ExportFilters(kind="casework"), "TRUE"),
            (ExportFilters(kind="casework", provinces=("GP", "KZN")), "province IN ('GP', 'KZN')"),
            (
                ExportFilters(kind="casework", categories=("extortion",), month_from=month),
                f"'extortion' = ANY(categories) AND month >= '{month}'",
            ),
        ]
        with Session(engine) as session:
            for filters, where in cases:
                expected = reference_csv(session.connection(), where)
                out = io.BytesIO()
                written = rows.write_incidents_csv(session, filters, out)
                assert out.getvalue() == expected, filters
                assert written.rows == len(list(csv.reader(io.StringIO(expected.decode())))) - 1
                assert written.bytes == len(expected)
                assert written.sha256 == hashlib.sha256(expected).hexdigest()
            # the odd rows are there, quoted where the csv module quotes
            everything = reference_csv(session.connection())
            assert b'"a,""b""","line\nbreak"' in everything
            assert b"odd-empty-lists,%s,WC,,,,,," % month.strftime("%Y-%m").encode() in everything
            assert b"no_such_term;extortion,?;" in everything
            assert b"harassment;physical_assault;unlawful_arrest,MT" in everything
    finally:
        engine.dispose()
        pgcluster.drop_database(cluster, name)
