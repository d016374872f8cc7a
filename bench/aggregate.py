"""aggregate_vs_naive_postgis: /api/v1/cells over N synthetic published incidents (default
1,000,000; env BENCH_INCIDENTS), with the response cache cold, against the naive way of getting
the same answer: grouping the incidents' points into hexagons with PostGIS at request time
(ST_HexagonGrid of about the same cell size, the same filters, HAVING count >= k), serialised
to the same GeoJSON shape. Both are timed in the same run over a fixed mix of filters; the figure
is the ratio of the medians (target at most 0.1). The warm (cached) figure is printed beside it.

Synthetic data: reporter/maps/seed.py's fill_synthetic (about 20,000 distinct points clustered
around South Africa's major towns, made by one INSERT ... SELECT from generate_series).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import time
from typing import Any

import h3
from flask import Flask
from sqlalchemy import Connection, create_engine, text

from bench.common import bench_app
from bench.pageweight import weigh
from reporter.maps.publish import refresh_aggregates
from reporter.maps.query import parse_filters
from reporter.maps.seed import fill_synthetic, seed_incidents
from reporter.models import db

DEFAULT_INCIDENTS = 1_000_000
API_REPEATS = 5
# one naive run per filter set: at 1,000,000 incidents each takes seconds, and the median over
# the eight sets is already far from the target
NAIVE_REPEATS = 1
# ST_HexagonGrid's size is the hexagon's edge in EPSG:3857 metres: h3's mean edge length at each
# resolution times the Mercator scale at South Africa's middle latitude (1/cos 28.5 degrees).
MERCATOR_SCALE = 1 / math.cos(math.radians(28.5))
HEX_SIZE = {r: h3.average_hexagon_edge_length(r, "m") * MERCATOR_SCALE for r in (5, 6, 7)}


def _month(months_back: int) -> str:
    today = dt.date.today()
    index = today.year * 12 + today.month - 1 - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def filter_mix() -> list[dict[str, str]]:
    return [
        {},
        {"category": "extortion"},
        {"perpetrator": "saps"},
        {"from": _month(12), "to": _month(6)},
        {"province": "GP"},
        {"category": "unlawful_arrest", "perpetrator": "saps", "from": _month(6)},
        {"res": "5"},
        {"res": "7", "province": "KZN"},
    ]


NAIVE_SQL = """
    WITH filtered AS MATERIALIZED (
        SELECT geom FROM incident i WHERE {where}
    ), hexes AS (
        SELECT h.i, h.j, ST_Transform(h.geom, 4326) AS hex
        FROM ST_HexagonGrid(:size, (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 4326), 3857)
                                    FROM filtered)) AS h
    )
    SELECT ST_AsGeoJSON(hexes.hex, 5) AS geometry, hexes.i, hexes.j, count(*) AS n
    FROM hexes JOIN incident i ON ST_Intersects(hexes.hex, i.geom)
    WHERE {where}
    GROUP BY hexes.i, hexes.j, hexes.hex
    HAVING count(*) >= :k
"""
# the WHERE clause holds only the conditions a request sets (fixed snippets, values bound)
CONDITIONS = {
    "month_from": "i.month >= :month_from",
    "month_to": "i.month <= :month_to",
    "category": ":category = ANY(i.categories)",
    "perpetrator": ":perpetrator = ANY(i.perpetrators)",
    "province": "i.province = :province",
}


def naive_cells(conn: Connection, args: dict[str, str], k: int) -> bytes:
    """The naive answer: hexagons from the points at request time, as GeoJSON bytes."""
    f = parse_filters(args)
    params: dict[str, Any] = {"size": HEX_SIZE[f.res], "k": k}
    where = ["NOT i.withdrawn"]
    for name, condition in CONDITIONS.items():
        value = getattr(f, name)
        if value is not None:
            where.append(condition)
            params[name] = value
    sql = NAIVE_SQL.format(where=" AND ".join(where))
    rows = conn.execute(text(sql), params).all()
    body = {
        "type": "FeatureCollection",
        "k": k,
        "filters": f.public(),
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


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _vacuum(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE incident"))
        conn.execute(text("VACUUM ANALYZE incident_count"))
    engine.dispose()


def measure(
    app: Flask, url: str, api_repeats: int = API_REPEATS, naive_repeats: int = NAIVE_REPEATS
) -> dict[str, Any]:
    client = app.test_client()
    cache = app.extensions["reporter.maps.cache"]
    k = app.extensions["reporter.settings"].k_anonymity
    cold, warm, naive, cells = [], [], [], []
    # no server-side prepared statements: a generic plan would make the naive way look worse
    engine = create_engine(url, connect_args={"prepare_threshold": None})
    with engine.connect() as conn:
        for args in filter_mix():
            for _ in range(api_repeats):
                cache.clear()
                seconds, resp = _timed(lambda a=args: client.get("/api/v1/cells", query_string=a))
                assert resp.status_code == 200, resp.data
                cold.append(seconds)
            cells.append(len(resp.json["features"]))
            for _ in range(api_repeats):
                seconds, resp = _timed(lambda a=args: client.get("/api/v1/cells", query_string=a))
                warm.append(seconds)
            for _ in range(naive_repeats):
                seconds, _body = _timed(lambda a=args: naive_cells(conn, a, k))
                naive.append(seconds)
    engine.dispose()
    cold_ms, warm_ms = statistics.median(cold) * 1000, statistics.median(warm) * 1000
    naive_ms = statistics.median(naive) * 1000
    return {
        "aggregate_vs_naive_postgis": round(cold_ms / naive_ms, 4),
        "aggregate_vs_naive_postgis_warm": round(warm_ms / naive_ms, 5),
        "aggregate_cells_ms_cold": round(cold_ms, 2),
        "aggregate_cells_ms_warm": round(warm_ms, 2),
        "naive_postgis_cells_ms": round(naive_ms, 2),
        "aggregate_cells_shown_median": statistics.median(cells),
    }


def run(
    url: str,
    n: int | None = None,
    api_repeats: int = API_REPEATS,
    naive_repeats: int = NAIVE_REPEATS,
) -> dict[str, Any]:
    """Fill the database at `url` with n incidents (BENCH_INCIDENTS, default 1,000,000), build
    the aggregates, and time the API against the naive PostGIS grouping."""
    n = n or int(os.environ.get("BENCH_INCIDENTS", DEFAULT_INCIDENTS))
    app = bench_app(url)
    try:
        with app.app_context():
            session = db.session()
            # the map page as a visitor sees it with the demo data (pageweight.py measures it
            # on an empty database)
            seed_incidents(session, n=400, rng_seed=1)
            page_bytes, page_hosts = weigh(app.test_client(), "/map", with_js=True)
            session.execute(text("TRUNCATE incident, incident_count, aggregate_state CASCADE"))
            session.commit()
            seconds_fill, npoints = _timed(lambda: fill_synthetic(session.connection(), n))
            session.commit()
            session.execute(text("SET LOCAL work_mem = '1GB'"))
            seconds_agg, _none = _timed(lambda: refresh_aggregates(session))
            session.commit()
        _vacuum(url)
        with app.app_context():
            figures = measure(app, url, api_repeats, naive_repeats)
    finally:
        app.extensions["reporter.db"].engine.dispose()
    figures.update(
        {
            "map_page_gzip_bytes_demo": page_bytes,
            "map_page_third_party_hosts_demo": page_hosts,
            "bench_incidents": n,
            "bench_distinct_points": npoints,
            "bench_fill_s": round(seconds_fill, 1),
            "aggregate_refresh_s": round(seconds_agg, 1),
        }
    )
    return figures
