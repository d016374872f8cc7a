"""The aggregate benchmark (served from a release, bench/differencing.py) runs end to end as a
program at a small size (make bench runs it at 1,000,000)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from reporter.ops import migrate, pgcluster
from tests.conftest import fresh_database
from tests.support.programs import program_figures

KEYS = {
    "aggregate_vs_naive_postgis",
    "aggregate_vs_naive_postgis_warm",
    "aggregate_cells_ms_cold",
    "aggregate_cells_ms_warm",
    "naive_postgis_cells_ms",
    "aggregate_cells_shown_median",
    "map_page_gzip_bytes_demo",
    "map_page_third_party_hosts_demo",
    "bench_incidents",
    "bench_distinct_points",
    "bench_fill_s",
    "release_cut_s",
    "release_bins",
}


def test_aggregate_bench_runs_and_reports_its_figures(cluster: Path) -> None:
    # a database of its own: the bench fills incident and its aggregates in bulk
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        figures = program_figures(
            "differencing", "--database-url", url, "--n", "5000", "--api-repeats", "2"
        )
    finally:
        pgcluster.drop_database(cluster, name)
    assert KEYS <= set(figures)
    assert figures["bench_incidents"] == 5000
    assert figures["aggregate_cells_shown_median"] > 0  # the comparison is not vacuous
    assert 0 < figures["aggregate_vs_naive_postgis"] < 1
    assert figures["map_page_gzip_bytes_demo"] <= 150_000
    assert figures["map_page_third_party_hosts_demo"] == 0
