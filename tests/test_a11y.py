"""Accessibility of the public pages in a real browser (Debian's Chromium via Playwright):
axe-core (vendored from npm, served by the app as a static file) finds no serious or critical
violation, in every language, and no page scrolls sideways at 320 px wide or at 200%
zoom, with JavaScript on and off.

Cost: one browser for the module; each tour opens the eight public pages (home, form, form
with errors, receipt, receipt log-in, inbox, map, an error page) once, about 10 s per tour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from reporter.config import AVAILABLE_LANGUAGES
from reporter.maps.seed import seed_incidents
from reporter.models import db
from tests.support.browser import CHROMIUM, Watch, chromium, live_server
from tests.test_intake_browser import Reporter

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
    pytest.mark.slow,
]

ALL_LANGUAGES = ",".join(AVAILABLE_LANGUAGES)
AXE = "/static/vendor/axe.min.js"
# (width, height) in CSS pixels: a small phone, and a 1280 x 800 screen zoomed to 200%
SMALL_PHONE = (320, 640)
ZOOM_200 = (640, 400)
DESKTOP = (1280, 800)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture()
def site(app_factory: Callable[..., Flask]) -> Iterator[str]:
    """Every language enabled, published incidents on the map, served on loopback."""
    app = app_factory(LANGUAGES=ALL_LANGUAGES)
    with app.app_context():
        seed_incidents(db.session(), n=150, rng_seed=11)
    with live_server(app) as base:
        yield base


@dataclass
class Visit:
    name: str
    page: Any


def tour(page: Any, base: str, lang: str) -> Iterator[Visit]:
    """Open each public page in turn (a generator: the caller checks a page, then moves on)."""
    root = f"{base}/{lang}" if lang != "en" else base
    reporter = Reporter(page, root)
    page.goto(root + "/")
    yield Visit("home", page)
    reporter.opens_the_form()
    yield Visit("report form", page)
    # the plain form posted as it is (no JavaScript check first): the server's error messages
    with page.expect_navigation():
        page.evaluate("document.getElementById('report-form').submit()")
    assert page.locator(".field-error").count() >= 3
    yield Visit("report form with errors", page)
    reporter.opens_the_form()
    reporter.tells("They took my money and my condoms.")
    reporter.sends()
    receipt = reporter.receipt()
    yield Visit("receipt", page)
    page.goto(root + "/followup")
    yield Visit("receipt log-in", page)
    reporter.opens_inbox(receipt)
    yield Visit("inbox", page)
    page.goto(root + "/map")
    yield Visit("map", page)
    page.goto(root + "/no-such-page")
    yield Visit("error page", page)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # a plain <script src> from our own origin, which the page's CSP allows
        page.add_script_tag(url=AXE)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(
            n["target"][0] if len(n["target"]) == 1 else str(n["target"]) for n in v["nodes"][:5]
        )
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sideways_scroll(page: Any) -> list[str]:
    """The viewports at which the page is wider than the window."""
    wide = []
    for width, height in (SMALL_PHONE, ZOOM_200):
        page.set_viewport_size({"width": width, "height": height})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide.append(f"{width}px: page is {scroll}px wide")
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    return wide


@pytest.mark.parametrize("lang", AVAILABLE_LANGUAGES)
def test_axe_finds_no_serious_violation_and_nothing_scrolls_sideways(
    site: str, browser: Any, lang: str
) -> None:
    # Given a visitor with JavaScript on, reading in English or isiZulu
    context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    page = context.new_page()
    watch = Watch.on(page)
    problems: dict[str, list[str]] = {}
    # When she opens every public page
    for visit in tour(page, site, lang):
        # Then the page is in her language
        assert page.get_attribute("html", "lang") == lang, visit.name
        # and axe-core finds nothing serious, and nothing scrolls sideways on a small screen
        found = serious_violations(page) + sideways_scroll(page)
        if found:
            problems[visit.name] = found
    assert problems == {}
    assert not watch.csp_violations(), watch.csp_violations()
    context.close()


@pytest.mark.parametrize("lang", AVAILABLE_LANGUAGES)
def test_without_javascript_nothing_scrolls_sideways(site: str, browser: Any, lang: str) -> None:
    # Given a visitor with JavaScript off (Tor Browser on "Safest") on a small phone
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": DESKTOP[0], "height": DESKTOP[1]}
    )
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    # When she opens every public page, Then none is wider than her screen
    for visit in tour(page, site, lang):
        found = sideways_scroll(page)
        if found:
            problems[visit.name] = found
    assert problems == {}
    context.close()
