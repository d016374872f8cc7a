"""Demo data: a few hundred published incidents around the cities where Sisonke works, so the
map shows something at once. Every one goes through publish_incident, so its point is displaced
like a real one. Demo mode only (the caller checks the mode).

Also `fill_synthetic`: many synthetic incidents in bulk, for the benchmarks (bench/) and the
tests that need them; never demo data."""

from __future__ import annotations

import datetime as dt
import math
import random

import h3
from sqlalchemy import Connection, exists, select, text
from sqlalchemy.orm import Session

from reporter.domain import gazetteer
from reporter.domain.vocabulary import (
    CATEGORY_VALUES,
    PERPETRATOR_VALUES,
    SOURCE_TYPES,
    VERIFICATION_LEVELS,
)
from reporter.maps.fuzz import SA_BBOX, inside_bbox
from reporter.maps.publish import publish_incident
from reporter.models.public import Incident

# (name, lat, lon, province, share of incidents, spread in km): the hotspots where street-based
# sex work and police raids are reported (Hillbrow for Johannesburg).
CITIES = (
    ("Johannesburg (Hillbrow)", -26.1929, 28.0470, "GP", 0.22, 3.0),
    ("Pretoria", -25.7479, 28.1880, "GP", 0.10, 3.0),
    ("Durban", -29.8587, 31.0218, "KZN", 0.14, 3.5),
    ("Cape Town", -33.9249, 18.4241, "WC", 0.13, 3.5),
    ("Gqeberha", -33.9608, 25.6022, "EC", 0.07, 3.0),
    ("East London", -33.0153, 27.9116, "EC", 0.06, 3.0),
    ("Bloemfontein", -29.1211, 26.2140, "FS", 0.06, 3.0),
    ("Polokwane", -23.9045, 29.4689, "LP", 0.05, 3.0),
    ("Mbombela", -25.4658, 30.9853, "MP", 0.06, 3.0),
    ("Rustenburg", -25.6676, 27.2421, "NW", 0.06, 3.0),
    ("Kimberley", -28.7323, 24.7623, "NC", 0.05, 3.0),
)

# Police abuse dominates what Sisonke documents; weights are relative.
POLICE_CATEGORIES = {
    "unlawful_arrest": 8,
    "extortion": 7,
    "confiscation": 6,
    "harassment": 6,
    "physical_assault": 5,
    "sexual_assault": 3,
    "complaint_refused": 4,
    "threats": 3,
}
OTHER_CATEGORIES = {
    "physical_assault": 6,
    "robbery_nonpayment": 6,
    "threats": 4,
    "sexual_assault": 4,
    "stalking": 2,
    "denied_health_care": 3,
    "service_refused": 2,
    "eviction_mob": 2,
    "murder_attempt": 1,
}
OTHER_PERPETRATORS = {
    "client": 8,
    "manager": 3,
    "partner": 3,
    "community": 4,
    "health_worker": 2,
    "business": 1,
    "official": 1,
    "unknown": 2,
}


def _pick(rng: random.Random, weights: dict[str, int], most: int) -> list[str]:
    n = rng.choices(range(1, most + 1), weights=[6, 3, 1][:most])[0]
    out: list[str] = []
    while len(out) < n:
        value = rng.choices(list(weights), weights=list(weights.values()))[0]
        if value not in out:
            out.append(value)
    return out


def _month_back(today: dt.date, months: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def seed_incidents(session: Session, n: int = 1000, rng_seed: int = 20261128) -> int:
    """Publish `n` realistic demo incidents and commit; does nothing if any incident exists.

    rng_seed fixes the demo's true points, dates and categories; the displacement itself always
    comes from the system's random source, as for real incidents. Returns how many were made.
    """
    if session.scalar(select(exists().where(Incident.id.is_not(None)))):
        return 0
    rng = random.Random(rng_seed)  # noqa: S311 - demo data, not a secret
    today = dt.date.today()
    cities = list(CITIES)
    for _i in range(n):
        _name, lat, lon, province, _share, spread_km = rng.choices(
            cities, weights=[c[4] for c in cities]
        )[0]
        while True:
            # a true point near the city's hotspot (normal, spread_km standard deviation)
            dlat = rng.gauss(0, spread_km) / 111.2
            dlon = rng.gauss(0, spread_km) / (111.2 * math.cos(math.radians(lat)))
            if inside_bbox(lat + dlat, lon + dlon):
                break
        police = rng.random() < 0.65
        if police:
            categories = _pick(rng, POLICE_CATEGORIES, 3)
            perpetrators = ["saps"] if rng.random() < 0.7 else ["metro_police"]
            if rng.random() < 0.1:
                perpetrators.append("client")
        else:
            categories = _pick(rng, OTHER_CATEGORIES, 2)
            perpetrators = _pick(rng, OTHER_PERPETRATORS, 2)
        publish_incident(
            session,
            categories=categories,
            perpetrators=perpetrators,
            # months that the release due now covers (2 to 17 months back, more of them
            # recent), so that the demo map shows them
            month=_month_back(today, 2 + min(rng.randrange(16), rng.randrange(16))),
            province=province,
            lat=lat + dlat,
            lon=lon + dlon,
            people_affected=rng.choices([1, 2, 3, 4], weights=[80, 12, 5, 3])[0],
            verification_level=rng.choices(VERIFICATION_LEVELS, weights=[5, 3, 2])[0],
            source_type=rng.choices(SOURCE_TYPES, weights=[5, 3, 2, 1])[0],
        )
    session.commit()
    return n


# --- bulk synthetic incidents (benchmarks and tests) --------------------------------------------


def _points(count: int, rng: random.Random) -> list[tuple[int, float, float, str]]:
    """(idx, lat, lon, province): 85 % around major towns (weight sqrt(population)), 15 %
    anywhere in the box, with the province of the nearest major town."""
    towns = gazetteer.major_towns()
    weights = [math.sqrt(t.population) for t in towns]
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    out = []
    for idx in range(count):
        if rng.random() < 0.85:
            town = rng.choices(towns, weights=weights)[0]
            lat = town.lat + rng.gauss(0, 6) / 111.2
            lon = town.lon + rng.gauss(0, 6) / (111.2 * math.cos(math.radians(town.lat)))
            lat, lon = min(max(lat, min_lat), max_lat), min(max(lon, min_lon), max_lon)
            province = town.province
        else:
            lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
            near = min(towns, key=lambda t: (t.lat - lat) ** 2 + (t.lon - lon) ** 2)
            province = near.province
        out.append((idx, lat, lon, province))
    return out


def _combos(count: int, rng: random.Random) -> list[tuple[int, list[str], list[str]]]:
    police = ["unlawful_arrest", "extortion", "confiscation", "harassment", "physical_assault"]
    cats, perps = sorted(CATEGORY_VALUES), sorted(PERPETRATOR_VALUES)
    out = []
    for idx in range(count):
        if rng.random() < 0.6:
            c = rng.sample(police, rng.choice([1, 1, 2, 3]))
            p = ["saps"] if rng.random() < 0.7 else ["metro_police"]
        else:
            c = rng.sample(cats, rng.choice([1, 1, 2]))
            p = rng.sample(perps, rng.choice([1, 1, 2]))
        out.append((idx, c, p))
    return out


def _stage_points_and_combos(conn: Connection, npoints: int, rng: random.Random) -> None:
    """The temporary tables fill_synthetic draws from: its points (with their h3 cells) and 64
    category and perpetrator combinations."""
    conn.execute(
        text(
            "CREATE TEMP TABLE bench_point (idx int PRIMARY KEY, lat float8, "
            "lon float8, province varchar(3), c5 varchar(16), c6 varchar(16), "
            "c7 varchar(16))"
        )
    )
    conn.execute(
        text(
            "CREATE TEMP TABLE bench_combo (idx int PRIMARY KEY, "
            "categories varchar(32)[], perpetrators varchar(32)[])"
        )
    )
    points = [
        {
            "idx": i,
            "lat": lat,
            "lon": lon,
            "province": p,
            "c5": h3.latlng_to_cell(lat, lon, 5),
            "c6": h3.latlng_to_cell(lat, lon, 6),
            "c7": h3.latlng_to_cell(lat, lon, 7),
        }
        for i, lat, lon, p in _points(npoints, rng)
    ]
    conn.execute(
        text("INSERT INTO bench_point VALUES (:idx, :lat, :lon, :province, :c5, :c6, :c7)"), points
    )
    combos = _combos(64, rng)
    conn.execute(
        text("INSERT INTO bench_combo VALUES (:idx, :c, :p)"),
        [{"idx": i, "c": c, "p": p} for i, c, p in combos],
    )


def fill_synthetic(conn: Connection, n: int, seed: int = 2026) -> int:
    """Insert n synthetic published incidents in bulk, for benchmarks and tests that need many
    (not demo data: the points are not displaced by publish_incident, and nothing is committed
    here). About 20,000 distinct points (fewer for small n) clustered around South Africa's
    major towns, 85 % of them, weighted by the square root of population, the rest anywhere in
    the country's box; h3 cells are computed once per distinct point in Python and the
    incidents are made by one INSERT ... SELECT from generate_series, over the last 18 months.
    The same n and seed give the same points and combinations. Uses two temporary tables
    (bench_point, bench_combo), dropped again. Returns the number of distinct points."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not a secret
    npoints = min(20_000, max(500, n // 50))
    _stage_points_and_combos(conn, npoints, rng)
    conn.execute(text("SELECT setseed(0.2026)"))
    # power(random(), 2) makes some places far busier than others, as in real reports
    conn.execute(
        text("""
        WITH picks AS MATERIALIZED (
            SELECT g, floor(power(random(), 2) * :npoints)::int AS pi,
                   floor(random() * 64)::int AS ci, floor(random() * 18)::int AS mb
            FROM generate_series(1, :n) AS g)
        INSERT INTO incident (public_id, categories, perpetrators, month, province, geom,
                              cell_r5, cell_r6, cell_r7, verification_level, source_type,
                              people_affected, published_on, withdrawn)
        SELECT substr(md5(picks.g::text || random()::text), 1, 20), c.categories,
               c.perpetrators,
               (date_trunc('month', current_date) - make_interval(months => picks.mb))::date,
               p.province, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.c5, p.c6, p.c7,
               'reported', 'self', 1, current_date, false
        FROM picks JOIN bench_point p ON p.idx = picks.pi JOIN bench_combo c ON c.idx = picks.ci
    """),
        {"npoints": npoints, "n": n},
    )
    conn.execute(text("DROP TABLE bench_point, bench_combo"))
    return npoints
