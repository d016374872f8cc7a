"""Audit findings of issue 13: each test fails when its finding comes back.

Numbers in the test names are the finding numbers of issue 13's "Audit findings".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import Flask

from reporter.config import ConfigError, build_settings, read_environment
from tests.conftest import make_app

# --- 11: open redirect through the language switcher -----------------------------------------


def _csrf(client, path: str = "/report") -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert m
    return m.group(1)


@pytest.mark.parametrize("target", ["/zu//evil.example", "/zu//evil.example/report",
                                    "//evil.example",
                                    "/zu/\\evil.example", "/\\evil.example", "/\t/evil.example",
                                    "/zu/\t/evil.example", "https://evil.example/", "/zu///evil"])
def test_11_language_switch_never_leaves_the_site(app_factory: Callable[..., Flask],
                                                 target: str) -> None:
    app = app_factory(LANGUAGES="zu,xh")
    client = app.test_client()
    resp = client.post("/language", data={"lang": "xh", "next": target,
                                          "csrf_token": _csrf(client)})
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and "\t" not in location
    assert urlsplit(location).netloc == "" and not urlsplit(location).scheme


def test_11_language_switch_keeps_a_local_page(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES="zu,xh")
    client = app.test_client()
    resp = client.post("/language", data={"lang": "xh", "next": "/zu/followup",
                                          "csrf_token": _csrf(client)})
    assert resp.headers["Location"] == "/followup"


# --- 13: Onion-Location from the raw path ----------------------------------------------------


@pytest.mark.parametrize("path", ["/report%0d%0aSet-Cookie:%20x=1", "/%E2%80%A8x", "/a%0Ab",
                                  "/?q=%0d%0a", "/r%C3%A9port"])
def test_13_onion_location_survives_encoded_line_breaks(database_url: str, path: str) -> None:
    onion = "a" * 56 + ".onion"
    app = make_app(database_url, ONION_ADDRESS=onion)
    try:
        resp = app.test_client().get(path)
        assert resp.status_code in (200, 404), resp.status_code
        header = resp.headers["Onion-Location"]
        assert header.startswith(f"http://{onion}/")
        assert not any(c in header for c in "\r\n\u2028 ")
        assert "Set-Cookie" not in resp.headers
    finally:
        app.extensions["reporter.db"].engine.dispose()


def test_13_onion_location_keeps_the_page(database_url: str) -> None:
    onion = "b" * 56 + ".onion"
    app = make_app(database_url, ONION_ADDRESS=onion)
    try:
        resp = app.test_client().get("/map?category=extortion&from=2024-01")
        assert resp.headers["Onion-Location"] == (
            f"http://{onion}/map?category=extortion&from=2024-01")
    finally:
        app.extensions["reporter.db"].engine.dispose()


# --- 15: settings from the environment -------------------------------------------------------


def _settings(tmp_path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    raw = {"REPORTER_MODE": "test", "SECRET_KEY": "x" * 40, **read_environment(env)}
    return build_settings(raw, tmp_path)


def test_15_readme_settings_are_read_from_the_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = _settings(tmp_path, {"QUICK_EXIT_URL": "https://weather.example/",
                             "RETENTION_DAYS": "30", "STAFF_IDLE_MINUTES": "12",
                             "COUNT_NOISE_EPSILON": "0.5", "STAFF_SESSION_HOURS": "4"})
    assert s.quick_exit_url == "https://weather.example/"
    assert (s.retention_days, s.staff_idle_minutes, s.staff_session_hours) == (30, 12, 4)
    assert s.count_noise_epsilon == 0.5


@pytest.mark.parametrize(("value", "on"), [("0", False), ("false", False), ("no", False),
                                           ("off", False), ("1", True), ("true", True),
                                           ("Yes", True)])
def test_15_trust_proxy_is_a_strict_boolean(tmp_path, value: str, on: bool) -> None:  # type: ignore[no-untyped-def]
    assert _settings(tmp_path, {"TRUST_PROXY": value}).trust_proxy is on


def test_15_trust_proxy_0_does_not_trust_the_proxy(database_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUST_PROXY", "0")
    app = make_app(database_url)
    try:
        resp = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in resp.headers
    finally:
        app.extensions["reporter.db"].engine.dispose()


@pytest.mark.parametrize("env", [{"TRUST_PROXY": "maybe"}, {"RETENTION_DAYS": "thirty"},
                                 {"K_ANONYMITY": "5.5"}, {"RECEIPT_DAYS": "x"},
                                 {"STAFF_IDLE_MINUTES": "0"}, {"COUNT_NOISE_EPSILON": "nan"},
                                 {"COUNT_NOISE_EPSILON": "-1"},
                                 {"MAX_ATTACHMENT_BYTES": "10MB"},
                                 {"REPORTER_MOD": "demo"}, {"REPORTER_RETENTION_DAYS": "3"}])
def test_15_a_bad_setting_is_a_config_error(tmp_path, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        _settings(tmp_path, env)
