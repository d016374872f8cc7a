"""Foundation: configuration refusals, URLs, headers, no third-party hosts, error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from reporter.config import ConfigError, build_settings
from tests.conftest import make_app

PUBLIC_PAGES = ["/", "/report", "/followup", "/staff/login", "/map"]


def get_routes(app: Flask) -> list[str]:
    """Every GET route without URL arguments, found by walking the URL map."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and not rule.arguments and rule.endpoint != "static"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "too short"),
        ({"SECRET_KEY": "x" * 40}, "REDIS_URL"),
        (
            {"SECRET_KEY": "x" * 40, "REDIS_URL": "redis://127.0.0.1:6379", "K_ANONYMITY": 1},
            "K_ANONYMITY",
        ),
        ({"REPORTER_MODE": "staging"}, "REPORTER_MODE"),
    ],
)
def test_production_refuses_to_start_without_secrets(
    raw: dict[str, object], message: str, tmp_path: Path
) -> None:
    # Given production mode (the default) and a missing or unsafe setting
    with pytest.raises(ConfigError, match=message):
        build_settings(raw, tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_create_app_refuses_production_without_secret(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_KEY", "REDIS_URL", "RATELIMIT_STORAGE_URI", "REPORTER_MODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_app(
            database_url, REPORTER_MODE="production", SECRET_KEY=None, RATELIMIT_STORAGE_URI=None
        )


def test_demo_mode_generates_its_own_secret(tmp_path: Path) -> None:
    first = build_settings({"REPORTER_MODE": "demo"}, tmp_path)
    second = build_settings({"REPORTER_MODE": "demo"}, tmp_path)
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.ratelimit_storage_uri == "memory://"


def test_settings_are_frozen(app: Flask) -> None:
    settings = app.extensions["reporter.settings"]
    with pytest.raises(AttributeError):
        settings.secret_key = "changed"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_urls_answer(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert b"Quick exit" in resp.data or path.startswith("/staff")


def check_security_headers(resp, path: str) -> None:  # type: ignore[no-untyped-def]
    h = resp.headers
    csp = h["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'"), path
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp, path
    for directive in re.split(r";\s*", csp):
        for source in directive.split()[1:]:
            assert source in ("'self'", "'none'", "data:", "blob:") or source.startswith(
                "'nonce-"
            ), (path, source)
    assert h["Referrer-Policy"] == "no-referrer", path
    assert h["X-Content-Type-Options"] == "nosniff", path
    assert "geolocation=()" in h["Permissions-Policy"] and "camera=()" in h["Permissions-Policy"]
    assert h["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_every_get_route_sends_the_security_headers(app: Flask, client: FlaskClient) -> None:
    routes = get_routes(app)
    assert set(PUBLIC_PAGES) <= set(routes)
    for path in routes:
        resp = client.get(path)
        assert resp.status_code < 500, path
        check_security_headers(resp, path)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            # pages are never cached; only the public aggregate API may declare itself public
            assert resp.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/favicon.svg")  # an SVG can open as a document
    check_security_headers(static, "static")
    assert "no-store" not in static.headers["Cache-Control"]
    static.close()
    # scripts and stylesheets are never documents: only the headers that act on them
    for asset in ("/static/css/site.css", "/static/js/report.js"):
        sub = client.get(asset)
        assert sub.headers["X-Content-Type-Options"] == "nosniff", asset
        assert sub.headers["Referrer-Policy"] == "no-referrer", asset
        assert sub.headers["Cross-Origin-Resource-Policy"] == "same-origin", asset
        assert "Content-Security-Policy" not in sub.headers, asset
        sub.close()


def test_onion_location_when_configured(database_url: str) -> None:
    onion = "a" * 56 + ".onion"
    app = make_app(database_url, ONION_ADDRESS=onion)
    resp = app.test_client().get("/report")
    assert resp.headers["Onion-Location"] == f"http://{onion}/report"
    app.extensions["reporter.db"].engine.dispose()


def test_session_cookie_is_strict(client: FlaskClient) -> None:
    resp = client.get("/report")
    client.post("/language", data={"lang": "en", "csrf_token": "x"})
    cookies = [v for k, v in resp.headers.items() if k == "Set-Cookie"]
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    https = client.get("/report", base_url="https://localhost")
    for k, v in https.headers.items():
        if k == "Set-Cookie":
            assert "Secure" in v


URL_ATTR = re.compile(
    r"""(?:src|href|action|content)\s*=\s*["']([^"']+)["']|url\(\s*['"]?([^'")]+)""", re.I
)
ABSOLUTE = re.compile(r"(?:https?:)?//([a-z0-9.-]+)", re.I)


def third_party_hosts(body: str) -> set[str]:
    # comments cause no request (vendored CSS cites bug trackers in comments)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    hosts: set[str] = set()
    for m in URL_ATTR.finditer(body):
        ref = m.group(1) or m.group(2) or ""
        hit = ABSOLUTE.match(ref.strip())
        if hit and hit.group(1) not in ("localhost",):
            hosts.add(hit.group(1))
    # any bare absolute URL anywhere in a page or stylesheet also counts
    for hit in re.finditer(r"https?://([a-z0-9.-]+)", body, re.I):
        if hit.group(1) not in ("localhost", "www.w3.org"):
            hosts.add(hit.group(1))
    return hosts


def test_no_page_or_stylesheet_references_another_host(app: Flask, client: FlaskClient) -> None:
    seen: set[str] = set()
    queue = list(get_routes(app))
    while queue:
        path = queue.pop()
        if path in seen or path == "/exit":
            continue
        seen.add(path)
        resp = client.get(path)
        body = resp.get_data(as_text=True)
        resp.close()
        if resp.status_code != 200:
            continue
        assert not third_party_hosts(body), (path, third_party_hosts(body))
        # pages and stylesheets are scanned here; what scripts actually request is checked
        # in a real browser (tests/test_maps_browser.py, tests/test_intake_browser.py)
        for ref in re.findall(r"""(?:href|src)=["'](/[^"'#?]*)""", body):
            if ref.endswith(".css") or not ref.startswith("/static/"):
                queue.append(ref)
    assert "/static/css/site.css" in seen


def test_quick_exit_leaves_without_referrer(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'id="quick-exit"' in page and 'href="/exit"' in page
    resp = client.get("/exit")
    assert resp.status_code == 303 and resp.headers["Referrer-Policy"] == "no-referrer"


def test_error_pages_never_show_a_traceback(database_url: str) -> None:
    app = make_app(database_url)
    sentinel = "SENTINEL-Traceback-7f3a"

    @app.get("/_boom")
    def _boom() -> str:
        raise RuntimeError(sentinel)

    client = app.test_client()
    resp = client.get("/_boom")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Traceback" not in body and sentinel not in body and "RuntimeError" not in body
    assert "Something went wrong" in body and "Quick exit" in body
    app.extensions["reporter.db"].engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "code"),
    [
        ("get", "/no-such-page", {}, 404),
        ("delete", "/report", {}, 405),
        ("post", "/language", {"data": {"lang": "en"}}, 400),  # no CSRF token
        (
            "post",
            "/language",
            {"data": b"x" * (60 * 1024 * 1024), "content_type": "application/octet-stream"},
            413,
        ),
    ],
)
def test_error_pages_are_styled(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, object], code: int
) -> None:
    resp = getattr(client, method)(path, **kwargs)
    assert resp.status_code == code
    body = resp.get_data(as_text=True)
    assert "Quick exit" in body and "Traceback" not in body
    assert f"{code}" in body


def test_production_refuses_to_serve_without_its_keys(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECEIPT_PEPPER", raising=False)
    production = {
        "REPORTER_MODE": "production",
        "SECRET_KEY": "k" * 40,
        "REDIS_URL": "redis://127.0.0.1:6379",
        "INSTANCE_PATH": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="pepper"):
        make_app(database_url, **production)
    # once `keys init` has made them, it starts
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pepper").write_bytes(b"p" * 32)
    (tmp_path / "keys" / "signing.key").write_bytes(b"s" * 32)
    app = make_app(database_url, **production)
    assert app.extensions["reporter.settings"].is_production
    app.extensions["reporter.db"].engine.dispose()
