"""The public map's API, page and image: the release model, period and lattice filters,
k-suppression, distinct counting, caching, CSP nonces and no third-party host."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import h3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from reporter.maps import lattice
from reporter.maps.publish import publish_incident, withdraw_incident
from reporter.maps.release import cut_release
from reporter.models import db
from tests.conftest import make_app, truncate_all

# Points at the centre of res-7 cells: with a 1 m privacy radius an incident never leaves its
# cell, so tests can say exactly which cell holds how many.
JOBURG = h3.cell_to_latlng(h3.latlng_to_cell(-26.1929, 28.0470, 7))
DURBAN = h3.cell_to_latlng(h3.latlng_to_cell(-29.8587, 31.0218, 7))
THIS_MONTH = dt.date.today().replace(day=1)
# the latest month that the release due today covers (monthly, one month's lag)
RELEASED = lattice.add_months(THIS_MONTH, -2)
LABEL = lattice.month_label(RELEASED)

PUBLIC_GETS = ["/map", "/map.svg", "/api/v1/cells", "/api/v1/summary"]


@pytest.fixture()
def exact(database_url: str) -> Iterator[Flask]:
    """An app whose displacement is 1 m, so counts per cell are known in advance."""
    application = make_app(database_url, PRIVACY_RADIUS_M=1)
    yield application
    application.extensions["reporter.db"].engine.dispose()
    truncate_all(database_url)


def publish(app: Flask, n: int, where: tuple[float, float] = JOBURG, **values: Any) -> list[int]:
    """Publish n incidents at `where` (by default in the month RELEASED) and commit; returns
    their ids. Nothing is public until a release is cut (release())."""
    record = dict(
        categories=["extortion"],
        perpetrators=["saps"],
        month=RELEASED,
        province="GP",
        people_affected=1,
        verification_level="reported",
        source_type="self",
    )
    record.update(values)
    with app.app_context():
        session = db.session()
        ids = [publish_incident(session, lat=where[0], lon=where[1], **record).id for _ in range(n)]
        session.commit()
    return ids


def release(app: Flask, now: dt.datetime | None = None) -> None:
    with app.app_context():
        cut_release(db.session(), app.extensions["reporter.settings"], now)
        db.session().commit()


def cells(client: FlaskClient, **args: Any) -> dict[str, int]:
    args.setdefault("period", LABEL)
    resp = client.get("/api/v1/cells", query_string=args)
    assert resp.status_code == 200, resp.data
    return {f["properties"]["cell"]: f["properties"]["count"] for f in resp.json["features"]}


def test_empty_cells_answer_with_k_filters_and_radius(client: FlaskClient) -> None:
    resp = client.get("/api/v1/cells")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    body = resp.json
    assert body["type"] == "FeatureCollection" and body["features"] == []
    assert body["k"] == 5 and body["privacy_radius_m"] == 2000.0 and body["resolution"] == 6
    # the first public request cut the first release: the latest released quarter by default
    assert body["release"]["id"] == 1 and body["release"]["next_at"] > body["release"]["cut_at"]
    assert body["filters"]["period"].count("-Q") == 1
    assert {k: v for k, v in body["filters"].items() if k != "period"} == {
        "category": None,
        "perpetrator": None,
        "province": None,
        "res": 6,
    }


@pytest.mark.parametrize("path", PUBLIC_GETS[1:])
def test_aggregates_are_cacheable_and_keep_the_security_headers(
    client: FlaskClient, path: str
) -> None:
    resp = client.get(path)
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Set-Cookie" not in resp.headers
    assert "Pragma" not in resp.headers


def test_the_map_page_itself_is_not_cached(client: FlaskClient) -> None:
    # it carries a per-response CSP nonce
    assert client.get("/map").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "2026-13"}, "period must be a released month"),
        ({"period": "26-01"}, "period must be a released month"),
        ({"period": "2026-Q5"}, "period must be a released month"),
        ({"period": "1999"}, "period must be a released month"),
        ({"period": "2026-01:2026-03"}, "period must be a released month"),
        ({"period": "2099-01"}, "period must be a released month"),  # well-formed, not released
        ({"from": "2026-01"}, "from and to are not accepted"),
        ({"to": "2026-05"}, "from and to are not accepted"),
        ({"category": "extortion", "perpetrator": "saps"}, "choose a category or a perpetrator"),
        ({"category": "bribery"}, "category must be one of:"),
        ({"perpetrator": "police"}, "perpetrator must be one of:"),
        ({"province": "ZZ"}, "province must be one of: EC, FS"),
        ({"res": "7"}, "res must be one of: 5, 6"),  # the finest hexagons are not public
        ({"res": "six"}, "res must be one of: 5, 6"),
        ({"category": ["extortion", "threats"]}, "give category at most once"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/cells", "/api/v1/summary", "/map.svg"])
def test_bad_filters_get_a_clear_400(
    client: FlaskClient, path: str, query: dict[str, Any], message: str
) -> None:
    resp = client.get(path, query_string=query)
    assert resp.status_code == 400
    assert resp.mimetype == "application/json"
    assert resp.json["error"].startswith(message)


def test_bad_filters_on_the_page_explain_and_still_show_the_page(client: FlaskClient) -> None:
    resp = client.get("/map?period=2026-13")
    assert resp.status_code == 400
    assert b"period must be a released month" in resp.data and b"<form" in resp.data


def test_a_value_is_never_echoed_in_an_error(client: FlaskClient) -> None:
    resp = client.get("/api/v1/cells?category=%3Cscript%3Ealert(1)%3C/script%3E")
    assert resp.status_code == 400 and b"script" not in resp.data


def test_cells_below_k_are_dropped(exact: Flask) -> None:
    client = exact.test_client()
    publish(exact, 4, JOBURG)
    publish(exact, 5, DURBAN, province="KZN")
    release(exact)
    assert cells(client, res=6) == {h3.latlng_to_cell(*DURBAN, 6): 5}
    summary = client.get("/api/v1/summary", query_string={"period": LABEL}).json
    assert summary["by_province"] == [{"province": "KZN", "name": "KwaZulu-Natal", "count": 5}]
    # no total anywhere: a total beside a suppressed province would give that province away
    assert not any("total" in key for key in summary)


def test_combined_filters_are_suppressed_too(exact: Flask) -> None:
    client = exact.test_client()
    publish(exact, 3, categories=["extortion"])
    publish(exact, 3, categories=["confiscation"])
    release(exact)
    assert cells(client) == {h3.latlng_to_cell(*JOBURG, 6): 6}
    assert cells(client, category="extortion") == {}
    summary = client.get("/api/v1/summary", query_string={"period": LABEL}).json
    assert summary["by_category"] == [] and summary["by_province_category"] == []
    assert summary["by_province"][0]["count"] == 6


def test_a_category_is_hidden_when_all_minus_it_would_be_below_k(exact: Flask) -> None:
    # 7 incidents, 5 of them extortion: showing both would tell that 2 were not extortion
    client = exact.test_client()
    publish(exact, 5, categories=["extortion"])
    publish(exact, 2, categories=["threats"])
    release(exact)
    cell = h3.latlng_to_cell(*JOBURG, 6)
    assert cells(client) == {cell: 7}
    assert cells(client, category="extortion") == {}
    summary = client.get("/api/v1/summary", query_string={"period": LABEL}).json
    assert summary["by_category"] == []
    assert summary["by_perpetrator"] == [
        {"perpetrator": "saps", "label": "Police (SAPS)", "huridocs": "MT36:111", "count": 7}
    ]


def test_an_incident_with_several_categories_counts_once_per_area(exact: Flask) -> None:
    client = exact.test_client()
    publish(exact, 5, categories=["extortion", "confiscation"], perpetrators=["saps", "client"])
    release(exact)
    cell = h3.latlng_to_cell(*JOBURG, 6)
    assert cells(client) == {cell: 5}
    assert cells(client, category="extortion") == {cell: 5}
    assert cells(client, perpetrator="client") == {cell: 5}
    summary = client.get("/api/v1/summary", query_string={"period": LABEL}).json
    assert {c["category"]: c["count"] for c in summary["by_category"]} == {
        "extortion": 5,
        "confiscation": 5,
    }
    assert summary["by_category"][0]["huridocs"].startswith("MT4:")


def test_periods_are_whole_months_quarters_and_years_and_province_filters(exact: Flask) -> None:
    client = exact.test_client()
    earlier = lattice.add_months(RELEASED, -12)
    publish(exact, 5, month=earlier)
    publish(exact, 5, DURBAN, province="KZN")
    release(exact)
    periods = client.get("/api/v1/periods").json
    assert periods["months"][0] == LABEL and lattice.month_label(earlier) in periods["months"]
    assert periods["resolutions"] == [5, 6]
    assert all(lattice.parse_period(q).kind == "quarter" for q in periods["quarters"])
    assert list(cells(client).values()) == [5]
    assert cells(client, period=lattice.month_label(earlier)) == {h3.latlng_to_cell(*JOBURG, 6): 5}
    assert cells(client, province="KZN") == {h3.latlng_to_cell(*DURBAN, 6): 5}
    assert cells(client, province="GP") == {}
    # a year that the release covers whole shows its months; the current year is not offered
    year = lattice.year_of(earlier).label
    if year in periods["years"]:
        months = client.get("/api/v1/summary", query_string={"period": year}).json["by_month"]
        assert months == [{"month": lattice.month_label(earlier), "count": 5}]
    assert lattice.year_of(THIS_MONTH).label not in periods["years"]


@pytest.mark.parametrize("res", [5, 6])
def test_cells_are_h3_hexagons_at_the_asked_resolution(exact: Flask, res: int) -> None:
    publish(exact, 5)
    release(exact)
    body = exact.test_client().get(f"/api/v1/cells?res={res}&period={LABEL}").json
    (feature,) = body["features"]
    cell = feature["properties"]["cell"]
    assert h3.get_resolution(cell) == res == feature["properties"]["resolution"]
    assert feature["geometry"]["type"] == "Polygon"
    ring = feature["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]


def test_publish_and_withdraw_change_nothing_public_until_the_next_release(
    exact: Flask, database_url: str
) -> None:
    other_process = make_app(database_url, PRIVACY_RADIUS_M=1)
    try:
        a, b = exact.test_client(), other_process.test_client()
        ids = publish(exact, 5)
        release(exact)
        before = {
            path: a.get(path, query_string={"period": LABEL}).data
            for path in ("/api/v1/cells", "/api/v1/summary")
        }
        assert list(cells(a).values()) == [5] == list(cells(b).values())
        # a publish into the released month, and withdrawals, change no public answer: that
        # month is frozen (the new incident is counted for staff only)
        publish(exact, 1)
        with other_process.app_context():
            withdraw_incident(db.session(), ids[0])
            withdraw_incident(db.session(), ids[1])
            db.session().commit()
        release(exact)  # even a new cut leaves a released month as it was
        for path, body in before.items():
            assert a.get(path, query_string={"period": LABEL}).data == body
            assert b.get(path, query_string={"period": LABEL}).data == body
        # the next month's incidents appear only with the release that covers that month
        nxt = lattice.add_months(RELEASED, 1)
        publish(exact, 6, month=nxt)
        for path, body in before.items():
            assert a.get(path, query_string={"period": LABEL}).data == body
        not_yet = a.get("/api/v1/cells", query_string={"period": lattice.month_label(nxt)})
        assert not_yet.status_code == 400  # not released yet
        later = dt.datetime.combine(lattice.add_months(THIS_MONTH, 1), dt.time(0, 5), tzinfo=dt.UTC)
        release(exact, later)
        exact.extensions["reporter.maps.cache"].clear()
        assert list(cells(a, period=lattice.month_label(nxt)).values()) == [6]
        assert list(cells(a).values()) == [5]
    finally:
        other_process.extensions["reporter.db"].engine.dispose()


def test_count_noise_is_never_fresh_randomness(database_url: str) -> None:
    # releases carry exact, frozen counts: asking again (in any process) gives the same bytes
    app = make_app(database_url, PRIVACY_RADIUS_M=1, COUNT_NOISE_EPSILON=0.5)
    try:
        publish(app, 40)
        release(app)
        client = app.test_client()
        first = client.get(f"/api/v1/cells?period={LABEL}").data
        app.extensions["reporter.maps.cache"].clear()
        assert client.get(f"/api/v1/cells?period={LABEL}").data == first
        assert client.get(f"/api/v1/cells?period={LABEL}").json["count_noise"] is False
    finally:
        app.extensions["reporter.db"].engine.dispose()
        truncate_all(database_url)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_every_inline_script_and_style_carries_the_response_nonce(exact: Flask) -> None:
    publish(exact, 6)
    release(exact)
    resp = exact.test_client().get(f"/map?period={LABEL}")
    csp = resp.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    parser = Tags()
    parser.feed(resp.get_data(as_text=True))
    inline = [(t, a) for t, a in parser.tags if t == "style" or (t == "script" and "src" not in a)]
    assert len(inline) >= 2
    assert all(a.get("nonce") == nonce for _t, a in inline)
    assert not any("style" in a for _t, a in parser.tags)  # style attributes need unsafe-inline
    assert "<iframe" not in resp.get_data(as_text=True)


def test_folium_cdn_defaults_are_replaced_by_our_files(exact: Flask) -> None:
    publish(exact, 6)
    release(exact)
    page = exact.test_client().get(f"/map?period={LABEL}").get_data(as_text=True)
    assert 'src="/static/vendor/leaflet/leaflet.js"' in page
    assert 'href="/static/vendor/leaflet/leaflet.css"' in page
    assert 'src="/static/vendor/folium/leaflet_heat.min.js"' in page
    for word in (
        "bootstrap",
        "jquery",
        "font-awesome",
        "fontawesome",
        "glyphicons",
        "awesome-markers",
        "cdn",
    ):
        assert word not in page.lower(), word
    assert "L.heatLayer(" in page and "L.geoJson(" in page


ABSOLUTE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)


def test_no_public_map_response_references_another_host(exact: Flask) -> None:
    publish(exact, 6)
    release(exact)
    client = exact.test_client()
    page = client.get(f"/map?period={LABEL}").get_data(as_text=True)
    # the page: no absolute URL at all
    assert "http://" not in page and "https://" not in page
    assert not ABSOLUTE.search(page)
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", page)
    assert "/static/vendor/leaflet/leaflet.js" in assets
    for path in assets + [f"{p}?period={LABEL}" for p in PUBLIC_GETS[1:]]:
        resp = client.get(path)
        body = resp.get_data(as_text=True)
        resp.close()
        # the SVG namespace (in our image and in Leaflet) is a name, never fetched
        hosts = set(re.findall(r"https?://([a-z0-9.-]+)", body, re.I)) - {"www.w3.org"}
        assert not hosts, (path, hosts)


def test_the_page_explains_what_the_map_can_and_cannot_show(client: FlaskClient) -> None:
    page = client.get("/map").get_data(as_text=True)
    assert "at least 5 reports" in page
    assert "by about 2.0 km" in page
    assert "never a person or an address" in page
    assert "fewer than 5" in page


def test_the_table_shows_only_counts_of_at_least_k(exact: Flask) -> None:
    publish(exact, 5, categories=["extortion", "threats"])
    publish(exact, 2, DURBAN, province="KZN", categories=["threats"])
    release(exact)
    page = exact.test_client().get(f"/map?period={LABEL}").get_data(as_text=True)
    numbers = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', page)]
    # GP: all, extortion, threats. Not SAPS nationally (7): with GP's 5 shown it would tell
    # that KZN has 2
    assert sorted(numbers) == [5, 5, 5]


def test_a_configured_tile_server_is_the_only_other_host(database_url: str) -> None:
    # a deployment that runs or trusts a tile server can opt in; nothing else changes
    app = make_app(
        database_url,
        TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png",
        TILE_ATTRIBUTION="Tiles: example.org",
    )
    try:
        resp = app.test_client().get("/map")
        page = resp.get_data(as_text=True)
        assert "L.tileLayer(" in page and "https://tiles.example.org/{z}/{x}/{y}.png" in page
        assert "Tiles: example.org" in page
        assert set(re.findall(r"https?://([a-z0-9.-]+)", page)) == {"tiles.example.org"}
        assert "https://tiles.example.org" in resp.headers["Content-Security-Policy"]
    finally:
        app.extensions["reporter.db"].engine.dispose()
        truncate_all(database_url)  # its first request cut a release
