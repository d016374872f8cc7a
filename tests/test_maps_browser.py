"""The public map in a real browser (Debian's Chromium): drawn under the strict CSP, no request to
any other host, and with JavaScript off the image and the table instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask

from reporter.domain.vocabulary import SOURCE_TYPES, VERIFICATION_LEVELS
from reporter.maps.publish import publish_incident
from reporter.maps.render import COLOURS
from reporter.maps.seed import seed_incidents
from reporter.models import db
from tests.support.browser import CHROMIUM, Watch, chromium, live_server

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

HEXAGON = ", ".join(f'.leaflet-overlay-pane path[fill="{c}"]' for c in COLOURS)


@pytest.fixture()
def demo_site(app: Flask) -> Iterator[str]:
    """The demo incidents (through publish_incident, so displaced), served on loopback; the
    first request cuts the release that shows them."""
    with app.app_context():
        assert seed_incidents(db.session(), n=1000, rng_seed=7) == 1000
        assert seed_incidents(db.session(), n=1000, rng_seed=7) == 0  # idempotent
        # and one dense place (Hillbrow, three months back): the displacement is random, so
        # without it a run could find no hexagon of the default grid at k after suppression
        month = (dt.date.today().replace(day=1) - dt.timedelta(days=75)).replace(day=1)
        for _ in range(60):
            publish_incident(
                db.session(),
                categories=["extortion"],
                perpetrators=["saps"],
                month=month,
                province="GP",
                lat=-26.1887,
                lon=28.0474,
                people_affected=1,
                verification_level=VERIFICATION_LEVELS[0],
                source_type=SOURCE_TYPES[0],
            )
        db.session().commit()
    with live_server(app) as base:
        yield base


def test_map_draws_hexagons_under_the_csp_and_asks_no_other_host(demo_site: str) -> None:
    with chromium() as browser:
        # Given a visitor with JavaScript on
        page = browser.new_page()
        watch = Watch.on(page)
        # When she opens the map
        page.goto(demo_site + "/map", timeout=60_000)
        page.wait_for_selector(HEXAGON, state="attached", timeout=60_000)
        # Then the hexagon layer is drawn, with the heat layer's canvas
        assert page.locator(HEXAGON).count() >= 1
        assert page.locator(".leaflet-heatmap-layer").count() == 1
        # and the browser refused nothing and asked no other host
        assert not watch.csp_violations(), watch.console + watch.errors
        assert not watch.errors, watch.errors
        assert not watch.foreign_requests(demo_site), watch.foreign_requests(demo_site)
        # and filtering is a plain GET that keeps the page working
        page.select_option("#f-res", "5")
        page.click("form.map-filters button[type=submit]")
        page.wait_for_url(lambda url: "res=5" in url, timeout=60_000)
        # the coarser grid draws its hexagons, or says plainly that none reached k (the
        # displacement is random, so 1,000 demo incidents do not always fill an r5 hexagon
        # after complementary suppression)
        page.wait_for_selector(
            f"{HEXAGON}, p.muted:has-text('No area has at least')", state="attached", timeout=60_000
        )
        assert not watch.csp_violations() and not watch.foreign_requests(demo_site)


def test_without_javascript_the_page_shows_the_image_and_the_table(demo_site: str) -> None:
    with chromium() as browser:
        # Given a visitor with JavaScript off (Tor Browser on "Safest")
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        watch = Watch.on(page)
        # When she opens the map
        page.goto(demo_site + "/map")
        # Then the server-drawn image is shown and has loaded
        image = page.locator("img.map-image")
        assert image.is_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0") is True
        # and the table by province and category is there, the live map hidden
        assert page.locator("table.map-table").first.is_visible()
        assert page.get_by_role("columnheader", name="GP").is_visible()
        assert not page.locator("#map-live").is_visible()
        assert not watch.foreign_requests(demo_site)
        context.close()
