"""Issue 12's figures: the differencing harness, and the public aggregate request served from a
release against naive PostGIS.

- `differencing_recovered`: counts below k that the attack harness (tests/test_differencing.py)
  recovers from every pair of allowed answers and from all of them together, on synthetic data
  with planted small cells, over two releases and a publish in between (target 0).
- `aggregate_vs_naive_postgis` (the section 7 figure) through releases: the same synthetic
  incidents as bench/aggregate.py (reporter/maps/seed.py's `fill_synthetic`), a release cut
  over them, then `/api/v1/cells` (cache cleared before each request) against PostGIS grouping
  the same incidents of the same period and filter into an `ST_HexagonGrid` at request time.
  The filter mix is the lattice's (whole periods, one attribute at a time, resolutions 5 and 6):
  the public side accepts nothing else now. Also prints how long the release cut took.

As a program, printing the figures as one JSON object:
    python -m bench.differencing                  both parts, each on a bench database of its own
    python -m bench.differencing --database-url URL [--n 5000] [--api-repeats 2]
                                                  the aggregate figures only, on that (migrated)
                                                  database
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from sqlalchemy import Connection, create_engine, text

from bench import aggregate
from bench.common import bench_app, bench_database
from bench.pageweight import weigh
from reporter.maps import lattice
from reporter.maps.release import cut_release, through_month
from reporter.maps.seed import fill_synthetic, seed_incidents
from reporter.models import db


def run() -> dict[str, Any]:
    """The harness on a database of its own (about a minute)."""
    from tests.test_differencing import harness

    with bench_database() as url:
        app = bench_app(url, PRIVACY_RADIUS_M=1)
        try:
            started = time.perf_counter()
            out = harness(app)
        finally:
            app.extensions["reporter.db"].engine.dispose()
    figures = {k: v for k, v in out.items() if k.startswith("differencing_")}
    figures["differencing_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def _mix(through: str, quarter: str) -> list[dict[str, str]]:
    return [
        {"period": quarter},
        {"period": quarter, "category": "extortion"},
        {"period": quarter, "perpetrator": "saps"},
        {"period": through},
        {"period": quarter, "province": "GP"},
        {"period": through, "category": "unlawful_arrest"},
        {"period": quarter, "res": "5"},
        {"period": quarter, "res": "5", "province": "KZN"},
    ]


NAIVE_CONDITIONS = {
    "category": ":category = ANY(i.categories)",
    "perpetrator": ":perpetrator = ANY(i.perpetrators)",
    "province": "i.province = :province",
}


def naive_cells(conn: Connection, args: dict[str, str], k: int) -> bytes:
    """The naive answer: hexagons from the points of the period at request time."""
    period = lattice.parse_period(args["period"])
    assert period is not None
    res = int(args.get("res", "6"))
    params: dict[str, Any] = {
        "size": aggregate.HEX_SIZE[res],
        "k": k,
        "month_from": period.first,
        "month_to": period.last,
    }
    where = ["NOT i.withdrawn", "i.month >= :month_from", "i.month <= :month_to"]
    for name, condition in NAIVE_CONDITIONS.items():
        if name in args:
            where.append(condition)
            params[name] = args[name]
    rows = conn.execute(text(aggregate.NAIVE_SQL.format(where=" AND ".join(where))), params).all()
    body = {
        "type": "FeatureCollection",
        "k": k,
        "filters": args,
        "features": [
            {
                "type": "Feature",
                "id": f"{r.i}:{r.j}",
                "properties": {"count": r.n},
                "geometry": json.loads(r.geometry),
            }
            for r in rows
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def aggregate_run(
    url: str, n: int | None = None, api_repeats: int = aggregate.API_REPEATS
) -> dict[str, Any]:
    """aggregate.run for the release model: fill, cut a release, time the API against naive."""
    n = n or int(os.environ.get("BENCH_INCIDENTS", aggregate.DEFAULT_INCIDENTS))
    app = bench_app(url)
    try:
        with app.app_context():
            session = db.session()
            # the map page as a visitor sees it with the demo data, released
            seed_incidents(session, n=400, rng_seed=1)
            cut_release(session, app.extensions["reporter.settings"])
            session.commit()
            page_bytes, page_hosts = weigh(app.test_client(), "/map", with_js=True)
            session.execute(
                text(
                    "TRUNCATE incident, incident_count, aggregate_state, release, "
                    "release_period, release_bin CASCADE"
                )
            )
            session.commit()
            app.extensions["reporter.maps.cache"].clear()
            seconds_fill, npoints = aggregate._timed(
                lambda: fill_synthetic(session.connection(), n)
            )
            session.commit()
            settings = app.extensions["reporter.settings"]
            seconds_cut, release = aggregate._timed(lambda: cut_release(session, settings))
            session.commit()
            through = through_month(settings)
        aggregate._vacuum(url)
        q = lattice.quarter_of(through)
        if q.last > through:
            q = lattice.quarter_of(lattice.add_months(q.first, -1))
        client = app.test_client()
        cache = app.extensions["reporter.maps.cache"]
        k = app.extensions["reporter.settings"].k_anonymity
        cold, warm, naive, shown = [], [], [], []
        engine = create_engine(url, connect_args={"prepare_threshold": None})
        with engine.connect() as conn:
            for args in _mix(lattice.month_label(through), q.label):
                for _ in range(api_repeats):
                    cache.clear()
                    seconds, resp = aggregate._timed(
                        lambda a=args: client.get("/api/v1/cells", query_string=a)
                    )
                    assert resp.status_code == 200, resp.data
                    cold.append(seconds)
                shown.append(len(resp.json["features"]))
                for _ in range(api_repeats):
                    seconds, resp = aggregate._timed(
                        lambda a=args: client.get("/api/v1/cells", query_string=a)
                    )
                    warm.append(seconds)
                seconds, _body = aggregate._timed(lambda a=args: naive_cells(conn, a, k))
                naive.append(seconds)
        engine.dispose()
    finally:
        app.extensions["reporter.db"].engine.dispose()
    cold_ms, warm_ms = statistics.median(cold) * 1000, statistics.median(warm) * 1000
    naive_ms = statistics.median(naive) * 1000
    return {
        "aggregate_vs_naive_postgis": round(cold_ms / naive_ms, 4),
        "aggregate_vs_naive_postgis_warm": round(warm_ms / naive_ms, 5),
        "aggregate_cells_ms_cold": round(cold_ms, 2),
        "aggregate_cells_ms_warm": round(warm_ms, 2),
        "naive_postgis_cells_ms": round(naive_ms, 2),
        "aggregate_cells_shown_median": statistics.median(shown),
        "bench_incidents": n,
        "bench_distinct_points": npoints,
        "bench_fill_s": round(seconds_fill, 1),
        "release_cut_s": round(seconds_cut, 1),
        "release_bins": release.new_bins,
        "map_page_gzip_bytes_demo": page_bytes,
        "map_page_third_party_hosts_demo": page_hosts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.differencing")
    parser.add_argument(
        "--database-url",
        help="a migrated database: only the aggregate figures, on it (the harness needs one of "
        "its own)",
    )
    parser.add_argument("--n", type=int, default=None, help="incidents (default BENCH_INCIDENTS)")
    parser.add_argument("--api-repeats", type=int, default=aggregate.API_REPEATS)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.database_url:
        figures.update(aggregate_run(args.database_url, args.n, args.api_repeats))
    else:
        with bench_database() as url:
            figures.update(aggregate_run(url, args.n, args.api_repeats))
        figures.update(run())
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
