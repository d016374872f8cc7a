"""Exports in a real browser (Debian's Chromium): the bundle's map.html opens from a file with
no network request at all, and the exports page builds a bundle, shows that it is working, and
saves a zip that verifies."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from reporter.crypto.signing import load_signing_key
from reporter.export.verify import verify_bundle
from reporter.maps.render import COLOURS
from tests.support.browser import CHROMIUM, Watch, chromium, live_server
from tests.support.export import build, members, seed
from tests.support.staff import log_in, make_staff

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.browser,
]

AXE = "/static/vendor/axe.min.js"
HEXAGON = ", ".join(f'.leaflet-overlay-pane path[fill="{c}"]' for c in COLOURS)
LOCAL = ("file", "data", "blob", "about")


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings (as in tests/test_a11y.py)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)  # from our own origin, which the CSP allows
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_standalone_map_opens_offline_without_any_request(app: Flask, tmp_path: Path) -> None:
    # Given a media bundle's map.html saved to disk, as a journalist would unzip it
    seed(app)
    page_file = tmp_path / "map.html"
    page_file.write_bytes(members(build(app).data)["map.html"])
    with chromium() as browser:
        context = browser.new_context()
        # (belt and braces: anything that did try the network would fail, and be recorded)
        context.route("http*://**", lambda route: route.abort())
        page = context.new_page()
        watch = Watch.on(page)
        # When she opens it
        page.goto(page_file.as_uri())
        # Then Leaflet draws the hexagons, the heat layer and the legend
        page.wait_for_selector(HEXAGON, state="attached", timeout=15_000)
        assert page.locator(HEXAGON).count() == 2
        assert page.locator(".leaflet-heatmap-layer").count() == 1
        assert "10–19 incidents" in page.locator(".panel").inner_text()
        page.screenshot(path=str(tmp_path / "map.png"))
        # and nothing was asked of any network: only the file itself and data: images
        assert watch.requests, "the page itself should be recorded"
        assert [u for u in watch.requests if u.split(":", 1)[0] not in LOCAL] == []
        assert not watch.errors, watch.errors
        context.close()


def test_the_exports_page_shows_progress_and_saves_a_bundle(app: Flask, tmp_path: Path) -> None:
    seed(app)
    advocate = make_staff(app, "advocate-b", ["advocate"], iterations=1000)
    client = app.test_client()
    assert log_in(app, client, advocate).status_code in (302, 303)
    cookie = client.get_cookie("s")
    assert cookie is not None
    with live_server(app) as base, chromium() as browser:
        # Given a logged-in advocate on the exports page (the session made by the test client)
        context = browser.new_context(accept_downloads=True)
        context.add_cookies([{"name": "s", "value": cookie.value, "url": base}])
        page = context.new_page()
        watch = Watch.on(page)
        page.goto(base + "/staff/exports")
        assert page.locator('input[value="casework"]').count() == 0
        assert serious_violations(page) == []
        # When she ticks Gauteng and asks for the bundle
        page.check('input[name="province"][value="GP"]')
        with page.expect_download(timeout=60_000) as download_info:
            page.click("#export-form button[type=submit]")
        # Then the page said it was building, and the download is a bundle that verifies
        saved = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        page.wait_for_function(
            "document.getElementById('export-status').textContent.startsWith('Saved')"
        )
        status: Any = page.locator("#export-status").inner_text()
        assert saved.name.startswith("sisonke-media-") and saved.name in status
        assert "SHA-256:" in status
        assert zipfile.is_zipfile(saved)
        with app.app_context():
            key = load_signing_key(app.extensions["reporter.settings"].instance_path)
        assert verify_bundle(saved.read_bytes(), key.verify_key) == []
        assert not watch.csp_violations(), watch.console
        assert not watch.foreign_requests(base)
        # and the public checker takes it, says so plainly, and is accessible
        page.goto(base + "/verify")
        assert serious_violations(page) == []
        page.set_input_files("#bundle", str(saved))
        page.click("form[enctype] button[type=submit]")
        assert "This bundle is intact." in page.locator("#result").inner_text()
        assert serious_violations(page) == []
        assert not watch.csp_violations(), watch.console
        context.close()
