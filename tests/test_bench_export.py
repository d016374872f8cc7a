"""bench/export.py at a small count (2,000 incidents, a few seconds): it runs, writes every
row, and reports each figure that `make bench` prints."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from bench import export
from reporter import migrate, pgcluster
from tests.conftest import fresh_database


def test_csv_export_vs_copy_reports_its_figures(cluster: Path) -> None:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        figures = export.run(url, n=2000)
    finally:
        pgcluster.drop_database(cluster, name)
    assert set(figures) == {
        "csv_export_vs_copy", "csv_export_s", "csv_copy_s", "csv_export_rows",
        "csv_export_peak_mib", "csv_export_peak_mib_tenth", "csv_export_rows_tenth",
        "csv_export_rss_growth_mib", "csv_export_fill_s"}
    assert figures["csv_export_rows"] == 2000
    assert 0 < figures["csv_export_rows_tenth"] < 2000
    assert figures["csv_export_vs_copy"] > 0 and figures["csv_export_peak_mib"] > 0
