"""csv_export_vs_copy: the casework CSV of N published incidents (default 1,000,000; env
BENCH_INCIDENTS), written by the export's streaming writer into a zip entry exactly as a bundle
holds it, against PostgreSQL's own `COPY (SELECT ...) TO STDOUT` of the same rows and columns
read through psycopg into a file, in the same run (target at most 1.5; issue 11). Each is timed
three times, alternating; the figure is the ratio of the medians.

The export is itself a `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)`
(reporter/export/rows.py); it does more than the bare COPY: it codes every category and
perpetrator list (HURIDOCS), hashes the file and deflates it into the zip. The bare COPY only
reads the stored columns into a file.

Memory: the export's peak of Python allocations (tracemalloc, in a separate untimed run, at N
and at N/10: flat means the two are alike) and the process's resident-memory growth during the
timed runs (sampled from /proc every 10 ms).

Incidents come from reporter/maps/seed.py's fill_synthetic (as in bench/aggregate.py); a
database that already holds at least N incidents (the aggregate benchmark's) is used as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from bench.aggregate import DEFAULT_INCIDENTS
from bench.common import bench_app
from reporter.export.bundle import csv_entry
from reporter.export.filters import ExportFilters
from reporter.export.rows import write_incidents_csv
from reporter.maps.seed import fill_synthetic
from reporter.models import db
from reporter.models.public import Incident

REPEATS = 3
COPY_SQL = (
    "COPY (SELECT public_id, to_char(month, 'YYYY-MM'), province, cell_r5, categories, "
    "perpetrators, verification_level, source_type, people_affected FROM incident "
    "WHERE NOT withdrawn ORDER BY month, public_id) TO STDOUT WITH (FORMAT csv, HEADER)"
)


class RssPeak:
    """The largest growth of this process's resident memory while the block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * self._page

    def __enter__(self) -> RssPeak:
        self._base = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss() - self._base)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def export_csv(app: Any, limit: int | None = None) -> int:
    """The export's writer into a zip entry in a temporary file; returns the rows written."""
    with app.app_context(), tempfile.TemporaryFile() as fh:
        session = db.session()
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            with csv_entry(zf, dt.datetime.now(dt.UTC)) as entry:
                if limit is None:
                    written = write_incidents_csv(session, ExportFilters(kind="casework"), entry)
                else:
                    written = _limited(session, entry, limit)
        session.rollback()
        return written.rows


def _limited(session: Any, entry: Any, limit: int) -> Any:
    """The same writer over the first `limit` months' worth of rows (for the N/10 memory run)."""
    last = session.scalar(
        select(Incident.month).order_by(Incident.month, Incident.public_id).offset(limit).limit(1)
    )
    return write_incidents_csv(session, ExportFilters(kind="casework", month_to=last), entry)


def copy_csv(url: str) -> int:
    """COPY ... TO STDOUT of the same rows into a temporary file; returns bytes read."""
    engine = create_engine(url)
    size = 0
    try:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy(COPY_SQL) as copy, tempfile.TemporaryFile() as fh:
                for chunk in copy:
                    fh.write(chunk)
                    size += len(chunk)
        finally:
            raw.close()
    finally:
        engine.dispose()
    return size


def ensure_incidents(url: str, n: int) -> float:
    """At least n incidents in the database; returns seconds spent filling (0 if none)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            have = int(conn.scalar(select(func.count()).select_from(Incident)) or 0)
            start = time.perf_counter()
            if have < n:
                fill_synthetic(conn, n - have)
            seconds = time.perf_counter() - start if have < n else 0.0
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE incident"))
    finally:
        engine.dispose()
    return seconds


def run(url: str, n: int | None = None) -> dict[str, Any]:
    n = n or int(os.environ.get("BENCH_INCIDENTS", DEFAULT_INCIDENTS))
    seconds_fill = ensure_incidents(url, n)
    app = bench_app(url)
    try:
        with app.app_context():
            total = int(
                db.session().scalar(
                    select(func.count()).select_from(Incident).where(Incident.withdrawn.is_(False))
                )
                or 0
            )
        export_s, copy_s = [], []
        with RssPeak() as rss:
            for _ in range(REPEATS):
                start = time.perf_counter()
                rows = export_csv(app)
                export_s.append(time.perf_counter() - start)
                assert rows == total, (rows, total)
                start = time.perf_counter()
                copy_csv(url)
                copy_s.append(time.perf_counter() - start)
        peaks, counted = {}, {}
        for label, limit in (("full", None), ("tenth", max(1, total // 10))):
            tracemalloc.start()
            counted[label] = export_csv(app, limit)
            peaks[label] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    finally:
        app.extensions["reporter.db"].engine.dispose()
    export_med, copy_med = statistics.median(export_s), statistics.median(copy_s)
    mib = 1024 * 1024
    return {
        "csv_export_vs_copy": round(export_med / copy_med, 3),
        "csv_export_s": round(export_med, 3),
        "csv_copy_s": round(copy_med, 3),
        "csv_export_rows": total,
        "csv_export_peak_mib": round(peaks["full"] / mib, 2),
        "csv_export_peak_mib_tenth": round(peaks["tenth"] / mib, 2),
        "csv_export_rows_tenth": counted["tenth"],
        "csv_export_rss_growth_mib": round(rss.peak / mib, 1),
        "csv_export_fill_s": round(seconds_fill, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.export", description="csv_export_vs_copy"
    )
    parser.add_argument("--database-url", required=True, help="a migrated database (filled here)")
    parser.add_argument("--n", type=int, default=None, help="incidents (default BENCH_INCIDENTS)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.database_url, n=args.n), sort_keys=True))


if __name__ == "__main__":
    main()
