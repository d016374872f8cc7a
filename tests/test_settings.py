"""Settings escape no validation (issue 14): every setting typed in `Settings` and checked once in
build_settings; CSRF and rate limits stay on outside test mode; strict booleans and numbers;
RECEIPT_PEPPER read with the settings; production names its database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from reporter.config import (
    RATE_LIMITS,
    ConfigError,
    Settings,
    build_settings,
    read_environment,
)
from reporter.crypto.secretfiles import pepper
from reporter.crypto.signing import KeyMissing
from tests.conftest import make_app

PRODUCTION = {
    "REPORTER_MODE": "production",
    "SECRET_KEY": "x" * 40,
    "REDIS_URL": "redis://127.0.0.1:6379",
    "DATABASE_URL": "postgresql+psycopg://db.invalid/reporter",
}
TEST = {"REPORTER_MODE": "test", "SECRET_KEY": "x" * 40}


def csrf_of(client, path: str) -> str:  # type: ignore[no-untyped-def]
    # here, not from the test helpers (which are moving): the form's CSRF token
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert m
    return m.group(1)


def settings(tmp_path: Path, raw: dict[str, object], env: dict[str, str] | None = None) -> Settings:
    return build_settings({**raw, **read_environment(env or {})}, tmp_path)


# --- 1: rate limits and the other tuning settings are typed fields -------------------------


def test_extra_is_gone_and_every_rate_limit_has_a_typed_default(tmp_path: Path) -> None:
    s = settings(tmp_path, TEST)
    assert not hasattr(s, "extra")
    assert s.report_limit == "5 per 10 minutes;30 per day"
    assert (s.report_global_limit, s.receipt_limit, s.staff_login_limit) == (
        "300 per minute",
        "10 per 10 minutes",
        "120 per minute",
    )
    assert (s.ussd_receipt_pool, s.alert_free_checks, s.history_seconds) == (6, 10, 5.0)


def test_tuning_defaults_match_the_modules_that_use_them() -> None:
    from reporter.alerts.store import FREE_CHECKS
    from reporter.web.extensions import HISTORY_SECONDS

    fields = Settings.__dataclass_fields__
    assert fields["alert_free_checks"].default == FREE_CHECKS
    assert fields["history_seconds"].default == HISTORY_SECONDS


def test_a_rate_limit_is_read_into_its_field(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        {
            **TEST,
            "X_REPORT_LIMIT": "2 per minute",
            "X_REPORT_GLOBAL_LIMIT": "100/minute",
            "X_USSD_RECEIPT_POOL": "0",
            "X_ALERT_FREE_CHECKS": 1000,
            "X_HISTORY_SECONDS": 1,
        },
    )
    assert (s.report_limit, s.report_global_limit) == ("2 per minute", "100/minute")
    assert (s.ussd_receipt_pool, s.alert_free_checks, s.history_seconds) == (0, 1000, 1.0)


@pytest.mark.parametrize("name", sorted(RATE_LIMITS))
@pytest.mark.parametrize("value", ["lots", "5 per fortnight", "per minute", "5 per minute;x"])
def test_a_rate_limit_that_does_not_parse_is_a_config_error(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, {**TEST, name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [("X_USSD_RECEIPT_POOL", "six"), ("X_ALERT_FREE_CHECKS", "-1"), ("X_HISTORY_SECONDS", "soon")],
)
def test_a_bad_tuning_number_is_a_config_error(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, {**TEST, name: value})


def test_an_unknown_x_setting_is_a_typo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="X_REPORT_LIMT"):
        settings(tmp_path, {**TEST, "X_REPORT_LIMT": "1 per minute"})


def test_the_typed_limit_is_the_one_enforced(app_factory) -> None:  # type: ignore[no-untyped-def]
    app: Flask = app_factory(X_RECEIPT_LIMIT="1 per minute")
    client = app.test_client()
    codes = [
        client.post(
            "/followup",
            data={"csrf_token": csrf_of(client, "/followup"), "receipt": "1234 5678 9012 3456"},
        ).status_code
        for _ in range(2)
    ]
    assert codes[0] != 429 and codes[1] == 429, codes


# --- 2: CSRF and rate limits can be switched off in test mode only ---------------------------


@pytest.mark.parametrize("name", ["WTF_CSRF_ENABLED", "RATELIMIT_ENABLED"])
@pytest.mark.parametrize("value", [False, "0", "false", "off"])
@pytest.mark.parametrize("mode", ["production", "demo"])
def test_protections_cannot_be_switched_off_outside_test_mode(
    tmp_path: Path, name: str, value: object, mode: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, {**PRODUCTION, "REPORTER_MODE": mode, name: value})


@pytest.mark.parametrize("mode", ["production", "demo"])
def test_protections_are_on_by_default_and_may_be_said_on(tmp_path: Path, mode: str) -> None:
    s = settings(tmp_path, {**PRODUCTION, "REPORTER_MODE": mode})
    assert s.csrf_enabled and s.ratelimit_enabled
    s = settings(
        tmp_path,
        {**PRODUCTION, "REPORTER_MODE": mode, "WTF_CSRF_ENABLED": "1", "RATELIMIT_ENABLED": True},
    )
    assert s.csrf_enabled and s.ratelimit_enabled


def test_test_mode_may_switch_them_off(database_url: str) -> None:
    s = build_settings({**TEST, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": "0"}, Path("/x"))
    assert not s.csrf_enabled and not s.ratelimit_enabled
    app = make_app(database_url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    try:
        assert app.config["WTF_CSRF_ENABLED"] is False
        assert app.config["RATELIMIT_ENABLED"] is False
    finally:
        app.extensions["reporter.db"].engine.dispose()


def test_a_protection_that_is_not_a_boolean_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WTF_CSRF_ENABLED"):
        settings(tmp_path, {**TEST, "WTF_CSRF_ENABLED": "sometimes"})


# --- 3: strict booleans and numbers ---------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "", "OFF", " No "])
def test_trust_proxy_false_values(tmp_path: Path, value: str) -> None:
    assert settings(tmp_path, {**TEST, "TRUST_PROXY": value}).trust_proxy is False


def test_trust_proxy_0_from_the_environment_is_false(tmp_path: Path) -> None:
    assert settings(tmp_path, TEST, {"TRUST_PROXY": "0"}).trust_proxy is False
    assert settings(tmp_path, TEST, {"TRUST_PROXY": "1"}).trust_proxy is True


@pytest.mark.parametrize(
    "name", ["TRUST_PROXY", "ALERTS_ENABLED", "SERVE_DRAFT_LANGUAGES", "PRIVATE_CLUSTER"]
)
def test_a_boolean_that_is_not_one_is_a_config_error_naming_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, TEST, {name: "maybe"})


@pytest.mark.parametrize(
    "name",
    [
        "MAX_ATTACHMENT_BYTES",
        "MAX_ATTACHMENTS",
        "K_ANONYMITY",
        "RECEIPT_DAYS",
        "RETENTION_DAYS",
        "STAFF_IDLE_MINUTES",
        "STAFF_SESSION_HOURS",
        "RELEASE_EVERY_MONTHS",
        "RELEASE_LAG_MONTHS",
        "ALERT_EXPIRY_MONTHS",
        "MEMBER_CODE_MONTHS",
        "DIGEST_HOUR",
        "PRIVACY_RADIUS_M",
        "COUNT_NOISE_EPSILON",
    ],
)
def test_a_bad_number_is_a_config_error_naming_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, TEST, {name: "abc"})


@pytest.mark.parametrize(
    "name",
    [
        "RECEIPT_ARGON2_TIME_COST",
        "RECEIPT_ARGON2_MEMORY_KIB",
        "PASSWORD_ARGON2_TIME_COST",
        "PASSWORD_ARGON2_MEMORY_KIB",
    ],
)
def test_a_bad_number_from_instance_config_is_a_config_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings(tmp_path, {**TEST, name: "abc"})


def test_max_attachment_bytes_abc_is_not_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MAX_ATTACHMENT_BYTES") as caught:
        settings(tmp_path, TEST, {"MAX_ATTACHMENT_BYTES": "abc"})
    assert not isinstance(caught.value, ValueError)


# --- 4: RECEIPT_PEPPER is a setting ----------------------------------------------------------


def test_receipt_pepper_is_read_with_the_settings(tmp_path: Path) -> None:
    value = bytes(range(32))
    s = settings(tmp_path, TEST, {"RECEIPT_PEPPER": value.hex()})
    assert s.receipt_pepper == value
    assert value.hex() not in repr(s)
    assert settings(tmp_path, TEST).receipt_pepper is None


@pytest.mark.parametrize("value", ["not hex", "abc", "00" * 15])
def test_a_bad_receipt_pepper_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="RECEIPT_PEPPER"):
        settings(tmp_path, TEST, {"RECEIPT_PEPPER": value})


def test_pepper_takes_the_settings_value_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECEIPT_PEPPER", "11" * 32)
    with pytest.raises(KeyMissing):
        pepper(tmp_path)  # no file, and os.environ is not read here
    assert pepper(tmp_path, b"\x22" * 32) == b"\x22" * 32
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pepper").write_bytes(b"p" * 32)
    assert pepper(tmp_path) == b"p" * 32  # the file is the fallback


def test_the_app_hashes_receipts_with_the_settings_pepper(database_url: str) -> None:
    from reporter.services import intake

    value = bytes(range(100, 132))
    app = make_app(database_url, RECEIPT_PEPPER=value.hex())
    try:
        with app.app_context():
            assert intake.hashing(app.extensions["reporter.settings"]).pepper == value
    finally:
        app.extensions["reporter.db"].engine.dispose()


# --- 5: production names its database --------------------------------------------------------


def test_production_without_database_url_refuses(tmp_path: Path) -> None:
    raw = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    with pytest.raises(ConfigError, match="DATABASE_URL.*PRIVATE_CLUSTER"):
        settings(tmp_path, raw)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        settings(tmp_path, {**raw, "PRIVATE_CLUSTER": "0"})


def test_production_may_ask_for_the_private_cluster_by_name(tmp_path: Path) -> None:
    raw = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    s = settings(tmp_path, raw, {"PRIVATE_CLUSTER": "1"})
    assert s.is_production and s.private_cluster and s.database_url is None


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_keep_their_own_cluster(tmp_path: Path, mode: str) -> None:
    s = settings(tmp_path, {"REPORTER_MODE": mode, "SECRET_KEY": "x" * 40})
    assert s.database_url is None and not s.private_cluster
