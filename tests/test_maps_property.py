"""Property (promise 5): for any set of published incidents, once released, and any filters of
the lattice, no public output shows a count below k, and none shows a point or an incident's
stored coordinates."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from reporter.maps import lattice
from reporter.maps.publish import publish_incident
from reporter.maps.release import cut_release
from reporter.models import db
from reporter.models.public import Incident
from tests.conftest import make_app, truncate_all

K = 5
# a few sites close enough that their incidents share and split cells at every resolution
SITES = [(-26.1929, 28.0470, "GP"), (-26.2050, 28.0600, "GP"), (-29.8587, 31.0218, "KZN")]
THIS_MONTH = dt.date.today().replace(day=1)
RELEASED = lattice.add_months(THIS_MONTH, -2)  # the latest month the release due today covers
CATEGORIES = ["extortion", "unlawful_arrest", "threats"]
PERPETRATORS = ["saps", "client"]


def month_back(n: int) -> dt.date:
    return lattice.add_months(RELEASED, -n)


incident = st.fixed_dictionaries(
    {
        "site": st.sampled_from([0, 0, 0, 1, 2]),  # most at one site, so some cells reach k
        "categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True),
        "perpetrators": st.lists(
            st.sampled_from(PERPETRATORS), min_size=1, max_size=2, unique=True
        ),
        "months_back": st.integers(0, 2),
    }
)
period_arg = st.one_of(
    st.none(),
    st.integers(0, 3).map(lambda n: lattice.month_label(month_back(n))),
    st.integers(0, 3).map(lambda n: lattice.quarter_of(month_back(3 * n)).label),
)
attribute = st.one_of(
    st.none(),
    st.none(),
    st.sampled_from(CATEGORIES).map(lambda c: ("category", c)),
    st.sampled_from(PERPETRATORS).map(lambda p: ("perpetrator", p)),
)
filters = st.fixed_dictionaries(
    {
        "period": period_arg,
        "attribute": attribute,
        "province": st.one_of(st.none(), st.none(), st.sampled_from(["GP", "KZN"])),
        "res": st.sampled_from([None, "5", "6"]),
    }
).map(
    lambda d: {
        **{k: v for k, v in d.items() if v is not None and k != "attribute"},
        **(dict([d["attribute"]]) if d["attribute"] else {}),
    }
)


@pytest.fixture()
def small_radius(database_url: str) -> Iterator[Flask]:
    """A 300 m radius keeps each site's incidents in few cells, so both shown and suppressed
    cells occur; k is the default 5."""
    application = make_app(database_url, PRIVACY_RADIUS_M=300)
    yield application
    application.extensions["reporter.db"].engine.dispose()
    truncate_all(database_url)


def numbers_in_geojson(fc: dict[str, Any]) -> list[tuple[float, float]]:
    return [
        tuple(pair)
        for f in fc["features"]
        for ring in f["geometry"]["coordinates"]
        for pair in ring
    ]


def counts_in_summary(body: dict[str, Any]) -> list[int]:
    return [
        entry["count"]
        for key, entries in body.items()
        if key.startswith("by_")
        for entry in entries
    ]


@pytest.mark.slow  # about a minute: 30 examples, each publishing and reading every output
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    incidents=st.one_of(
        st.lists(incident, max_size=8), st.lists(incident, min_size=12, max_size=40)
    ),
    chosen=st.lists(filters, min_size=1, max_size=3),
)
def test_no_public_output_shows_a_small_count_or_a_point(
    small_radius: Flask, incidents: list[dict[str, Any]], chosen: list[dict[str, str]]
) -> None:
    app = small_radius
    app.extensions["reporter.maps.cache"].clear()
    with app.app_context():
        session = db.session()
        session.execute(
            text(
                "TRUNCATE incident, incident_count, aggregate_state, release, "
                "release_period, release_bin CASCADE"
            )
        )
        for item in incidents:
            lat, lon, province = SITES[item["site"]]
            publish_incident(
                session,
                categories=item["categories"],
                perpetrators=item["perpetrators"],
                month=month_back(item["months_back"]),
                province=province,
                lat=lat,
                lon=lon,
                people_affected=1,
                verification_level="reported",
                source_type="self",
            )
        session.commit()
        cut_release(session, app.extensions["reporter.settings"])
        session.commit()
        released = {p for (p,) in session.execute(text("SELECT period FROM release_period"))}
        stored = session.execute(select(func.ST_Y(Incident.geom), func.ST_X(Incident.geom))).all()
    client = app.test_client()

    for args in chosen:
        if args.get("period") and args["period"] not in released:
            assert client.get("/api/v1/cells", query_string=args).status_code == 400
            continue
        fc = client.get("/api/v1/cells", query_string=args)
        summary = client.get("/api/v1/summary", query_string=args)
        page = client.get("/map", query_string=args)
        image = client.get("/map.svg", query_string=args)
        assert {fc.status_code, summary.status_code, page.status_code, image.status_code} == {200}
        bodies = {
            name: r.get_data(as_text=True)
            for name, r in [("cells", fc), ("summary", summary), ("page", page), ("image", image)]
        }

        # no count below k anywhere
        cell_counts = [f["properties"]["count"] for f in fc.json["features"]]
        event("some cells shown" if cell_counts else "no cell shown")
        assert all(n >= K for n in cell_counts), cell_counts
        assert all(n >= K for n in counts_in_summary(summary.json))
        table = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', bodies["page"])]
        assert all(n >= K for n in table), table
        script_counts = [int(n) for n in re.findall(r'"count": ?(\d+)', bodies["page"])]
        assert sorted(script_counts) == sorted(cell_counts)  # the map draws what the API gives
        heat = re.search(r"L\.heatLayer\(\s*(\[\[.*?\]\])", bodies["page"], re.S)
        if heat:
            assert all(w >= K for _lat, _lon, w in json.loads(heat.group(1)))
        svg_counts = [int(n) for n in re.findall(r'data-count="(\d+)"', bodies["image"])]
        assert sorted(svg_counts) == sorted(cell_counts)
        legends = [int(n) for n in re.findall(r'data-min="(\d+)"', bodies["image"])]
        legends += [int(n) for n in re.findall(r'data-min="(\d+)"', bodies["page"])]
        assert legends and min(legends) >= K

        # no point, and no stored coordinate, in any public response
        for name, body in bodies.items():
            assert '"Point"' not in body and "MultiPoint" not in body, name
            for lat, lon in stored:
                for value in (lat, lon):
                    assert repr(value) not in body and f"{value:.6f}" not in body, name
        assert {f["geometry"]["type"] for f in fc.json["features"]} <= {"Polygon"}
        for x, y in numbers_in_geojson(fc.json):
            assert all(abs(x - lon) > 1e-5 or abs(y - lat) > 1e-5 for lat, lon in stored)
