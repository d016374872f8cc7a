"""Promise 5, the displacement: planar Laplace noise with mean 2/eps, drawn once at publish and
never again; only the displaced point is stored."""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets

import h3
import pytest
from flask import Flask
from sqlalchemy import func, select

from reporter.maps import fuzz
from reporter.maps.publish import (
    IncidentUnknown,
    PublishInvalid,
    count_rows,
    publish_incident,
    refresh_aggregates,
    withdraw_incident,
)
from reporter.models import db
from reporter.models.public import Incident
from tests.conftest import table_dump

DRAWS = 20_000
RADIUS_M = 2000.0
EPS = 2 / RADIUS_M
# The mean of 20,000 draws has a standard error of about 0.5 % (sd of the radius is
# sqrt(2)/eps); 3 % is six standard errors, so a correct sampler never fails and a wrong
# constant (e.g. mean 1/eps or 3/eps) always does.
MEAN_TOLERANCE = 0.03
# Kolmogorov-Smirnov: P(D > 0.02) for n = 20,000 correct draws is about 2 exp(-2 n 0.02^2),
# i.e. 2e-7; a radius law off by 5 % in scale already gives D of about 0.03.
KS_BOUND = 0.02
BLOEMFONTEIN = (-29.1211, 26.2140)  # far from the bounding box, so no draw is ever rejected


def ks_statistic(sample: list[float], cdf) -> float:  # type: ignore[no-untyped-def]
    xs = sorted(sample)
    n = len(xs)
    return max(max((i + 1) / n - cdf(x), cdf(x) - i / n) for i, x in enumerate(xs))


def bearing(lat0: float, lon0: float, lat: float, lon: float) -> float:
    dy = lat - lat0
    dx = (lon - lon0) * math.cos(math.radians(lat0))
    return math.atan2(dy, dx) % (2 * math.pi)


@pytest.mark.parametrize("x", [-1 / math.e, -1 / math.e + 1e-12, -0.3, -0.2, -1e-3, -1e-17])
def test_lambert_w_minus1_inverts_w_exp_w(x: float) -> None:
    w = fuzz.lambert_w_minus1(x)
    assert w <= -1
    assert math.isclose(w * math.exp(w), x, rel_tol=1e-10, abs_tol=1e-15)


def test_radius_inverts_the_planar_laplace_cdf() -> None:
    for p in [i / 1000 for i in range(1000)]:
        r = fuzz.laplace_radius(EPS, p)
        assert r >= 0
        assert math.isclose(fuzz.planar_laplace_cdf(r, EPS), p, abs_tol=1e-9)


def test_displacement_mean_and_distribution_match_planar_laplace() -> None:
    # Given 20,000 displacements of one point with the default 2 km radius
    lat0, lon0 = BLOEMFONTEIN
    points = [fuzz.displace(lat0, lon0, RADIUS_M) for _ in range(DRAWS)]
    distances = [fuzz.distance_m(lat0, lon0, lat, lon) for lat, lon in points]
    angles = [bearing(lat0, lon0, lat, lon) for lat, lon in points]
    # Then the mean distance is 2/eps = the configured radius, within 3 %
    mean = sum(distances) / DRAWS
    assert abs(mean - 2 / EPS) / (2 / EPS) < MEAN_TOLERANCE, mean
    # and the distances follow C(r) = 1 - (1 + eps r) e^(-eps r)
    d = ks_statistic(distances, lambda r: fuzz.planar_laplace_cdf(r, EPS))
    assert d < KS_BOUND, d
    # and the direction is uniform
    d_angle = ks_statistic(angles, lambda a: a / (2 * math.pi))
    assert d_angle < KS_BOUND, d_angle


def test_the_ks_check_would_catch_a_wrong_radius_law() -> None:
    # a sampler with the mean of a one-dimensional Laplace (1/eps) is refused
    rng = random.Random(5)  # noqa: S311 - a fixed sample for a negative control
    wrong = [rng.expovariate(EPS) for _ in range(DRAWS)]
    assert ks_statistic(wrong, lambda r: fuzz.planar_laplace_cdf(r, EPS)) > KS_BOUND


def test_displacement_uses_the_system_random_source() -> None:
    assert isinstance(fuzz._system, secrets.SystemRandom)


def test_displaced_points_stay_in_south_africa() -> None:
    # a true point on the edge of the box: draws outside are discarded before anything is kept
    min_lon, min_lat, _max_lon, _max_lat = fuzz.SA_BBOX
    for _ in range(2000):
        lat, lon = fuzz.displace(min_lat + 0.001, min_lon + 0.001, RADIUS_M)
        assert fuzz.inside_bbox(lat, lon)


def test_a_point_outside_south_africa_is_refused() -> None:
    with pytest.raises(fuzz.OutsideSouthAfrica):
        fuzz.displace(51.5, -0.12, RADIUS_M)


GOOD = dict(
    categories=["extortion"],
    perpetrators=["saps"],
    month=dt.date(2026, 1, 14),
    province="GP",
    lat=-26.19,
    lon=28.04,
    people_affected=1,
    verification_level="reported",
    source_type="self",
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": []}, "categories: give a list"),
        ({"categories": "extortion"}, "categories: give a list"),
        ({"categories": ["bribery"]}, "categories: not in the vocabulary: bribery"),
        ({"perpetrators": ["police"]}, "perpetrators: not in the vocabulary: police"),
        ({"province": "XX"}, "province: not one of"),
        ({"month": dt.date(1999, 12, 1)}, "month: must be between"),
        ({"month": dt.date.today() + dt.timedelta(days=40)}, "month: must be between"),
        ({"month": "2026-01"}, "month: give a date"),
        ({"lat": 51.5, "lon": -0.12}, "inside South Africa"),
        ({"lat": float("nan")}, "inside South Africa"),
        ({"lat": "here"}, "lat, lon: give numbers"),
        ({"people_affected": 0}, "people_affected"),
        ({"people_affected": True}, "people_affected"),
        ({"verification_level": "sure"}, "verification_level"),
        ({"source_type": "rumour"}, "source_type"),
    ],
)
def test_publish_refuses_values_outside_the_vocabulary(
    app: Flask, change: dict[str, object], message: str
) -> None:
    with app.app_context():
        session = db.session()
        with pytest.raises(PublishInvalid, match=message):
            publish_incident(session, **{**GOOD, **change})  # type: ignore[arg-type]
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def stored_point(session, incident_id: int) -> tuple[float, float, str, str, str]:  # type: ignore[no-untyped-def]
    row = session.execute(
        select(
            func.ST_Y(Incident.geom),
            func.ST_X(Incident.geom),
            Incident.cell_r5,
            Incident.cell_r6,
            Incident.cell_r7,
        ).where(Incident.id == incident_id)
    ).one()
    return tuple(row)


def test_only_the_displaced_point_is_stored_and_it_never_moves(
    app: Flask, database_url: str
) -> None:
    true_lat, true_lon = -26.1934567891, 28.0467891234
    with app.app_context():
        session = db.session()
        # Given one published incident
        first = publish_incident(session, **{**GOOD, "lat": true_lat, "lon": true_lon})
        session.commit()
        before = stored_point(session, first.id)
        # Then it was displaced, and its cells are those of the displaced point
        lat, lon = before[0], before[1]
        assert (lat, lon) != (true_lat, true_lon)
        assert fuzz.distance_m(true_lat, true_lon, lat, lon) < 60_000
        assert before[2:] == tuple(h3.latlng_to_cell(lat, lon, r) for r in (5, 6, 7))
        # When more incidents are published and withdrawn, and the aggregates are rebuilt
        others = [
            publish_incident(session, **{**GOOD, "lat": true_lat, "lon": true_lon})
            for _ in range(10)
        ]
        withdraw_incident(session, others[0].id)
        session.commit()
        refresh_aggregates(session)
        session.commit()
        session.expire_all()
        # Then the first point has not moved
        assert stored_point(session, first.id) == before
    # and the true point is nowhere in the database
    dump = table_dump(database_url)
    for value in (true_lat, true_lon):
        assert repr(value) not in dump and f"{value:.6f}" not in dump


def test_incremental_counts_equal_a_full_refresh(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        made = []
        for i in range(12):
            made.append(
                publish_incident(
                    session,
                    **{
                        **GOOD,
                        "categories": ["extortion", "confiscation"][: 1 + i % 2],
                        "perpetrators": ["saps", "client"][: 1 + i % 3 // 2],
                        "month": dt.date(2026, 1 + i % 3, 1),
                        "province": ["GP", "KZN"][i % 2],
                    },
                )
            )
        withdraw_incident(session, made[3].id)
        withdraw_incident(session, made[3].id)  # twice: counted out once
        session.commit()
        incremental = list(count_rows(session))
        refresh_aggregates(session)
        session.commit()
        assert list(count_rows(session)) == incremental
        assert incremental  # not vacuous


def test_withdrawing_an_unknown_incident_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(IncidentUnknown):
        withdraw_incident(db.session(), 424242)


def test_withdrawing_the_only_incident_leaves_no_count_behind(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        only = publish_incident(session, **{**GOOD, "categories": ["threats", "stalking"]})
        session.commit()
        assert len(list(count_rows(session))) == 4 * 3 * 2  # resolutions x categories x perps
        withdraw_incident(session, only.id)
        session.commit()
        assert list(count_rows(session)) == []
        assert session.get(Incident, only.id).withdrawn  # kept, marked, never shown
