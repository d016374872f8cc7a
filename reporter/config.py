"""Settings: defaults, then instance/config.py, then the environment, then the caller's overrides.

Everything security-relevant is validated once, at start-up, into a frozen dataclass, so a
deployment with a missing secret fails before it serves a single request.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limits import parse_many

from reporter.domain.catalogs import review_state

MODES = ("production", "demo", "test")
# Languages with a catalog under reporter/translations (English is the source). A deployment
# enables those it has had reviewed (LANGUAGES); the demo enables all. See docs/translations.md.
AVAILABLE_LANGUAGES = ("en", "zu", "xh", "af", "st", "tn", "nso", "ts", "ss", "ve", "nr")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the app refuses to start."""


DEFAULT_REPORT_KEYWORDS = {
    "REPORT": "en",
    "BIKA": "zu",
    "CHAZA": "xh",
    "RAPPORTEER": "af",
    "TLALEHA": "st",
    "BEGA": "tn",
    "BEGELA": "nso",
    "VIKA": "ts",
    "VHIGA": "ve",
}  # siSwati and isiNdebele readers' BIKA gets isiZulu
DEFAULT_CALLME_KEYWORDS = {
    "CALL ME": "en",
    "PLEASE CALL ME": "en",
    "CALLME": "en",
    "NGISHAYELE": "zu",
    "NDIFOWUNELE": "xh",
    "BEL MY": "af",
    "MPHOUNELE": "st",
    "MPHONELE": "tn",
    "NTLHOLELE": "nso",
    "NDZI RINGELE": "ts",
    "MPFOUNELE": "ve",
    "NGIFOWUNELE": "nr",
}


@dataclass(frozen=True)
class GatewaySettings:
    """USSD and SMS gateways (docs/channels.md). `key` None: every /gateway/... is 403."""

    key: str | None = None
    ussd_code: str = "*120*000#"
    sms_api_url: str = "https://api.africastalking.com"
    sms_username: str | None = None
    sms_api_key: str | None = None
    sms_sender: str | None = None
    site_address: str | None = None
    # a call-back request with no province (an SMS) is sealed to this province's key too
    callback_province: str = "WC"
    redis_url: str | None = None
    report_keywords: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_REPORT_KEYWORDS))
    callme_keywords: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CALLME_KEYWORDS))


def _keywords(name: str, value: Any, default: dict[str, str]) -> dict[str, str]:
    """`KEYWORD:lang,KEYWORD:lang` (or a dict), upper-cased; each language needs a catalog."""
    if value in (None, ""):
        return dict(default)
    pairs = (
        value.items()
        if isinstance(value, dict)
        else (
            part.rsplit(":", 1) if ":" in part else (part, "en")
            for part in str(value).split(",")
            if part.strip()
        )
    )
    out = {" ".join(str(k).upper().split()): str(v).strip() for k, v in pairs}
    if any(v not in AVAILABLE_LANGUAGES or not k for k, v in out.items()):
        raise ConfigError(
            f"{name}: KEYWORD:language pairs, languages from {', '.join(AVAILABLE_LANGUAGES)}"
        )
    return out


def _gateway(raw: dict[str, Any], mode: str) -> GatewaySettings:
    key = raw.get("GATEWAY_KEY") or ("demo-gateway-key" if mode == "demo" else None)
    if key and mode == "production" and (len(str(key)) < 24 or key == "demo-gateway-key"):
        raise ConfigError("GATEWAY_KEY is the demo value or too short (at least 24 characters)")
    province = str(raw.get("GATEWAY_CALLBACK_PROVINCE") or "WC")
    if province not in ("EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC"):
        raise ConfigError("GATEWAY_CALLBACK_PROVINCE must be a province code (GP, WC, ...)")
    return GatewaySettings(
        key=str(key) if key else None,
        ussd_code=str(raw.get("USSD_CODE") or "*120*000#"),
        sms_api_url=str(raw.get("SMS_API_URL") or "https://api.africastalking.com").rstrip("/"),
        sms_username=raw.get("SMS_USERNAME") or None,
        sms_api_key=raw.get("SMS_API_KEY") or None,
        sms_sender=raw.get("SMS_SENDER") or None,
        site_address=raw.get("SITE_ADDRESS") or None,
        callback_province=province,
        redis_url=raw.get("REDIS_URL") or None,
        report_keywords=_keywords(
            "SMS_REPORT_KEYWORDS", raw.get("SMS_REPORT_KEYWORDS"), DEFAULT_REPORT_KEYWORDS
        ),
        callme_keywords=_keywords(
            "SMS_CALLME_KEYWORDS", raw.get("SMS_CALLME_KEYWORDS"), DEFAULT_CALLME_KEYWORDS
        ),
    )


@dataclass(frozen=True)
class Settings:
    mode: str
    secret_key: str
    database_url: str | None
    ratelimit_storage_uri: str
    onion_address: str | None
    instance_path: Path
    receipt_days: int = 365
    receipt_argon2_time_cost: int = 3
    receipt_argon2_memory_kib: int = 65536
    password_argon2_time_cost: int = 3
    password_argon2_memory_kib: int = 65536
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 3
    k_anonymity: int = 5
    privacy_radius_m: float = 2000.0
    count_noise_epsilon: float | None = None
    # public aggregates change only at releases (docs/maps.md): every N months, on the 1st at
    # 00:00 UTC, covering months that ended at least RELEASE_LAG_MONTHS before
    release_every_months: int = 1
    release_lag_months: int = 1
    tile_url: str | None = None
    tile_attribution: str | None = None
    staff_idle_minutes: int = 30
    # absolute lifetime of a staff session, however active (finding 13.2)
    staff_session_hours: int = 8
    trust_proxy: bool = False
    retention_days: int = 180
    languages: tuple[str, ...] = ("en",)
    # catalogs not yet reviewed by a native speaker are served only when this is on (off by
    # default in production); those left out are listed here (docs/translations.md)
    serve_draft_languages: bool = True
    withheld_languages: tuple[str, ...] = ()
    quick_exit_url: str = "https://www.google.com/"
    # the browser tab's title on public pages: neutral, so the tab switcher and the history
    # do not say what the site is (None: a translated "Notes")
    page_title: str | None = None
    # safety alerts (issue 16, docs/alerts.md): off until the Information Regulator's prior
    # authorisation (POPIA s 57(1)(b)); the index key lives in instance/keys/alerts-index
    alerts_enabled: bool = False
    alert_expiry_months: int = 6
    member_code_months: int = 12
    # staff notifications (issue 17, reporter/services/notify.py): off unless SMTP_URL is set
    smtp_url: str | None = None
    notify_from: str = "reporter@localhost"
    digest_hour: int = 6
    # gateways (issue 15, docs/channels.md): one key in every /gateway/... callback URL
    gateway: GatewaySettings = field(default_factory=lambda: GatewaySettings())
    # rate limits (flask-limiter strings, checked with limits.parse_many at start-up), set
    # under their X_ names (RATE_LIMITS); per session unless "global" (one bucket for all)
    report_limit: str = "5 per 10 minutes;30 per day"
    report_global_limit: str = "300 per minute"
    receipt_limit: str = "10 per 10 minutes"
    receipt_global_limit: str = "60 per minute"
    verify_limit: str = "10 per 10 minutes"
    verify_global_limit: str = "60 per minute"
    staff_login_limit: str = "120 per minute"
    alert_check_daily: str = "200 per day"
    alert_check_global: str = "300 per minute"
    ussd_session_limit: str = "60 per 3 minutes"
    ussd_global_limit: str = "3000 per minute"
    sms_global_limit: str = "120 per minute"
    # receipts derived ahead of need for USSD (reporter/gateway/pool.py)
    ussd_receipt_pool: int = 6
    # alert checks per hour and code before each waits (reporter.alerts.store.FREE_CHECKS)
    alert_free_checks: int = 10
    # a session this old has "history" (reporter.web.extensions.HISTORY_SECONDS)
    history_seconds: float = 5.0
    # CSRF protection and rate limits: only REPORTER_MODE=test may switch them off
    csrf_enabled: bool = True
    ratelimit_enabled: bool = True
    # production without DATABASE_URL uses the private cluster only when asked by name
    private_cluster: bool = False
    # RECEIPT_PEPPER (hex) in place of instance/keys/pepper (reporter/crypto/secretfiles.py)
    receipt_pepper: bytes | None = field(default=None, repr=False)

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def max_content_length(self) -> int:
        # every attachment plus the form and the sealing overhead; nginx enforces the same.
        return self.max_attachments * (self.max_attachment_bytes + 1024 * 1024) + 2 * 1024 * 1024


DEFAULTS: dict[str, Any] = {
    "REPORTER_MODE": "production",
    "RATELIMIT_STORAGE_URI": None,
    "DATABASE_URL": None,
    "ONION_ADDRESS": None,
    "SECRET_KEY": None,
}

# The rate-limit and tuning settings under their X_ names (instance/config.py or the caller),
# each a typed Settings field; any other X_ name is refused as a typo.
RATE_LIMITS: dict[str, str] = {
    "X_REPORT_LIMIT": "report_limit",
    "X_REPORT_GLOBAL_LIMIT": "report_global_limit",
    "X_RECEIPT_LIMIT": "receipt_limit",
    "X_RECEIPT_GLOBAL_LIMIT": "receipt_global_limit",
    "X_VERIFY_LIMIT": "verify_limit",
    "X_VERIFY_GLOBAL_LIMIT": "verify_global_limit",
    "X_STAFF_LOGIN_LIMIT": "staff_login_limit",
    "X_ALERT_CHECK_DAILY": "alert_check_daily",
    "X_ALERT_CHECK_GLOBAL": "alert_check_global",
    "X_USSD_SESSION_LIMIT": "ussd_session_limit",
    "X_USSD_GLOBAL_LIMIT": "ussd_global_limit",
    "X_SMS_GLOBAL_LIMIT": "sms_global_limit",
}
X_NAMES = (*RATE_LIMITS, "X_USSD_RECEIPT_POOL", "X_ALERT_FREE_CHECKS", "X_HISTORY_SECONDS")

# Names read from the environment when set (they win over instance/config.py).
ENV_NAMES = (
    "REPORTER_MODE",
    "SECRET_KEY",
    "DATABASE_URL",
    "PRIVATE_CLUSTER",
    "RECEIPT_PEPPER",
    "REDIS_URL",
    "GATEWAY_KEY",
    "USSD_CODE",
    "SMS_API_URL",
    "SMS_USERNAME",
    "SMS_API_KEY",
    "SMS_SENDER",
    "SMS_REPORT_KEYWORDS",
    "SMS_CALLME_KEYWORDS",
    "SITE_ADDRESS",
    "GATEWAY_CALLBACK_PROVINCE",
    "RATELIMIT_STORAGE_URI",
    "ONION_ADDRESS",
    "TRUST_PROXY",
    "TILE_URL",
    "TILE_ATTRIBUTION",
    "K_ANONYMITY",
    "PRIVACY_RADIUS_M",
    "RECEIPT_DAYS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_ATTACHMENTS",
    "LANGUAGES",
    "SERVE_DRAFT_LANGUAGES",
    "QUICK_EXIT_URL",
    "PAGE_TITLE",
    "RETENTION_DAYS",
    "STAFF_IDLE_MINUTES",
    "STAFF_SESSION_HOURS",
    "COUNT_NOISE_EPSILON",
    "RELEASE_EVERY_MONTHS",
    "RELEASE_LAG_MONTHS",
    "ALERTS_ENABLED",
    "ALERT_EXPIRY_MONTHS",
    "MEMBER_CODE_MONTHS",
    "SMTP_URL",
    "NOTIFY_FROM",
    "DIGEST_HOUR",
)

# An environment name with this prefix that is not a setting is a typo (REPORTER_MOD=demo):
# refused at start-up rather than silently ignored.
ENV_PREFIX = "REPORTER_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, value: Any) -> bool:
    """Strict booleans: 1/true/yes/on or 0/false/no/off (so TRUST_PROXY=0 means off)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {value!r}")


def receipt_pepper(value: Any) -> bytes | None:
    """RECEIPT_PEPPER: hex of at least 16 bytes, or None when not set."""
    if value in (None, ""):
        return None
    try:
        out = bytes.fromhex(str(value).strip())
    except ValueError as exc:
        raise ConfigError(
            "RECEIPT_PEPPER must be hexadecimal (e.g. from "
            "`python -c 'import os; print(os.urandom(32).hex())'`)"
        ) from exc
    if len(out) < 16:
        raise ConfigError("RECEIPT_PEPPER is too short (at least 16 bytes: 32 hex digits)")
    return out


def _rate_limit(name: str, value: Any, default: str) -> str:
    """A flask-limiter limit string (`5 per 10 minutes;30 per day`), checked now, not at the
    first request."""
    if value is None or value == "":
        return default
    text = str(value).strip()
    try:
        parse_many(text)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a rate limit such as '10 per minute' or "
            f"'5 per 10 minutes;30 per day', not {value!r}"
        ) from exc
    return text


def _switch(raw: dict[str, Any], name: str, mode: str) -> bool:
    """A protection that is on unless switched off, and only test mode may switch it off."""
    value = raw.get(name)
    on = True if value is None or value == "" else parse_bool(name, value)
    if not on and mode != "test":
        raise ConfigError(
            f"{name} is off: only REPORTER_MODE=test may switch it off "
            f"(refusing to start in {mode} mode)"
        )
    return on


def _demo_secret(instance_path: Path) -> str:
    """Demo mode keeps a generated secret in instance/ (git-ignored); production never does."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def build_settings(raw: dict[str, Any], instance_path: Path) -> Settings:
    """Validate the merged raw mapping into Settings or raise ConfigError."""
    mode = str(raw.get("REPORTER_MODE") or "production")
    if mode not in MODES:
        raise ConfigError(f"REPORTER_MODE must be one of {', '.join(MODES)}")

    secret = _secret_key(raw, mode, instance_path)
    storage = _ratelimit_storage(raw, mode)

    def num(name: str, default: Any, kind: type, minimum: float | None = None) -> Any:
        return _number(raw, name, default, kind, minimum)

    k, radius, epsilon = _privacy(raw, num)
    langs, serve_drafts, withheld = _languages(raw, mode)
    typos = sorted(n for n in raw if str(n).startswith("X_") and n not in X_NAMES)
    if typos:
        raise ConfigError(f"unknown setting(s): {', '.join(typos)} (known: {', '.join(X_NAMES)})")
    defaults = Settings.__dataclass_fields__
    limits: dict[str, Any] = {
        attr: _rate_limit(name, raw.get(name), str(defaults[attr].default))
        for name, attr in RATE_LIMITS.items()
    }
    database_url, private_cluster = _database(raw, mode)

    return Settings(
        mode=mode,
        secret_key=str(secret),
        database_url=database_url,
        ratelimit_storage_uri=str(storage),
        onion_address=raw.get("ONION_ADDRESS") or None,
        instance_path=instance_path,
        **_counts_and_times(num),
        k_anonymity=k,
        privacy_radius_m=radius,
        count_noise_epsilon=epsilon,
        tile_url=raw.get("TILE_URL") or None,
        tile_attribution=raw.get("TILE_ATTRIBUTION") or None,
        trust_proxy=parse_bool("TRUST_PROXY", raw.get("TRUST_PROXY")),
        languages=tuple(langs),
        serve_draft_languages=serve_drafts,
        withheld_languages=withheld,
        quick_exit_url=str(raw.get("QUICK_EXIT_URL") or "https://www.google.com/"),
        page_title=(str(raw["PAGE_TITLE"]).strip()[:60] or None) if raw.get("PAGE_TITLE") else None,
        alerts_enabled=parse_bool("ALERTS_ENABLED", raw.get("ALERTS_ENABLED")),
        smtp_url=_smtp_url(raw.get("SMTP_URL")),
        notify_from=str(raw.get("NOTIFY_FROM") or "reporter@localhost"),
        gateway=_gateway(raw, mode),
        **limits,
        csrf_enabled=_switch(raw, "WTF_CSRF_ENABLED", mode),
        ratelimit_enabled=_switch(raw, "RATELIMIT_ENABLED", mode),
        private_cluster=private_cluster,
        receipt_pepper=receipt_pepper(raw.get("RECEIPT_PEPPER")),
    )


def _secret_key(raw: dict[str, Any], mode: str, instance_path: Path) -> str:
    secret = raw.get("SECRET_KEY")
    if not secret:
        if mode == "production":
            raise ConfigError("SECRET_KEY is not set; refusing to start in production mode")
        secret = _demo_secret(instance_path)
    if mode == "production" and len(str(secret)) < 32:
        raise ConfigError("SECRET_KEY is too short (at least 32 characters)")
    return str(secret)


def _ratelimit_storage(raw: dict[str, Any], mode: str) -> str:
    storage = raw.get("RATELIMIT_STORAGE_URI") or raw.get("REDIS_URL")
    if not storage:
        if mode == "production":
            raise ConfigError(
                "REDIS_URL is not set; production needs shared rate-limit storage "
                "(e.g. redis://127.0.0.1:6379)"
            )
        storage = "memory://"
    return str(storage)


def _number(
    raw: dict[str, Any], name: str, default: Any, kind: type, minimum: float | None = None
) -> Any:
    """The setting `name` as an int or a float (kind), `default` when unset, checked."""
    value = raw.get(name, default)
    if value is None or value == "":
        value = default
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        raise ConfigError(f"{name} must be a whole number")
    try:
        out = kind(str(value).strip()) if isinstance(value, str) else kind(value)
    except (TypeError, ValueError) as exc:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {value!r}") from exc
    if kind is float and not math.isfinite(out):
        raise ConfigError(f"{name} must be a finite number")
    if minimum is not None and out < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}")
    return out


def _privacy(raw: dict[str, Any], num: Callable[..., Any]) -> tuple[int, float, float | None]:
    """k, the location noise radius and the count noise epsilon (None: no count noise)."""
    k = num("K_ANONYMITY", 5, int)
    if k < 2:
        raise ConfigError("K_ANONYMITY must be at least 2")
    radius = num("PRIVACY_RADIUS_M", 2000.0, float)
    if radius <= 0:
        raise ConfigError("PRIVACY_RADIUS_M must be positive")
    noise = raw.get("COUNT_NOISE_EPSILON")
    epsilon = None if noise in (None, "") else num("COUNT_NOISE_EPSILON", None, float)
    if epsilon is not None and epsilon <= 0:
        raise ConfigError("COUNT_NOISE_EPSILON must be positive")
    return k, radius, epsilon


def _languages(raw: dict[str, Any], mode: str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """The languages served, whether draft catalogs are served, and the ones withheld."""
    langs = raw.get("LANGUAGES") or (AVAILABLE_LANGUAGES if mode == "demo" else ("en",))
    if isinstance(langs, str):
        langs = tuple(x.strip() for x in langs.split(",") if x.strip())
    unknown = [x for x in langs if x not in AVAILABLE_LANGUAGES]
    if unknown:
        raise ConfigError(
            f"LANGUAGES: no catalog for {', '.join(unknown)}; "
            f"choose from {', '.join(AVAILABLE_LANGUAGES)}"
        )
    # English is the source language: always served, first, so nothing is ever untranslated
    langs = ("en", *dict.fromkeys(x for x in langs if x != "en"))
    # a production site serves only catalogs a native speaker reviewed, unless told otherwise
    drafts_raw = raw.get("SERVE_DRAFT_LANGUAGES")
    serve_drafts = (
        mode != "production"
        if drafts_raw in (None, "")
        else parse_bool("SERVE_DRAFT_LANGUAGES", drafts_raw)
    )
    withheld = () if serve_drafts else tuple(x for x in langs if not review_state(x).reviewed)
    langs = tuple(x for x in langs if x not in withheld)
    return tuple(langs), serve_drafts, withheld


def _database(raw: dict[str, Any], mode: str) -> tuple[str | None, bool]:
    """DATABASE_URL (None: the private cluster under INSTANCE_PATH) and PRIVATE_CLUSTER."""
    database_url = raw.get("DATABASE_URL") or None
    private_cluster = parse_bool("PRIVATE_CLUSTER", raw.get("PRIVATE_CLUSTER"))
    if mode == "production" and not database_url and not private_cluster:
        raise ConfigError(
            "DATABASE_URL is not set; production needs its database "
            "(postgresql+psycopg://...), or PRIVATE_CLUSTER=1 to use the private cluster "
            "under INSTANCE_PATH (one host only)"
        )
    return database_url, private_cluster


def _counts_and_times(num: Callable[..., Any]) -> dict[str, Any]:
    """The numeric settings: sizes, hashing costs, periods and durations, tuning."""
    return dict(
        receipt_days=num("RECEIPT_DAYS", 365, int, 1),
        receipt_argon2_time_cost=num("RECEIPT_ARGON2_TIME_COST", 3, int),
        receipt_argon2_memory_kib=num("RECEIPT_ARGON2_MEMORY_KIB", 65536, int),
        password_argon2_time_cost=num("PASSWORD_ARGON2_TIME_COST", 3, int),
        password_argon2_memory_kib=num("PASSWORD_ARGON2_MEMORY_KIB", 65536, int),
        max_attachment_bytes=num("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, int, 1),
        max_attachments=num("MAX_ATTACHMENTS", 3, int, 0),
        release_every_months=_release_every(num("RELEASE_EVERY_MONTHS", 1, int, 1)),
        release_lag_months=num("RELEASE_LAG_MONTHS", 1, int, 0),
        staff_idle_minutes=num("STAFF_IDLE_MINUTES", 30, int, 1),
        staff_session_hours=num("STAFF_SESSION_HOURS", 8, int, 1),
        retention_days=num("RETENTION_DAYS", 180, int, 1),
        alert_expiry_months=num("ALERT_EXPIRY_MONTHS", 6, int, 1),
        member_code_months=num("MEMBER_CODE_MONTHS", 12, int, 1),
        digest_hour=_digest_hour(num("DIGEST_HOUR", 6, int, 0)),
        ussd_receipt_pool=num("X_USSD_RECEIPT_POOL", 6, int, 0),
        alert_free_checks=num("X_ALERT_FREE_CHECKS", 10, int, 0),
        history_seconds=num("X_HISTORY_SECONDS", 5.0, float, 0),
    )


def _smtp_url(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not text.startswith(("smtp://", "smtp+starttls://", "smtps://")):
        raise ConfigError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    return text


def _digest_hour(hour: int) -> int:
    if not 0 <= hour <= 23:
        raise ConfigError("DIGEST_HOUR must be an hour from 0 to 23 (UTC)")
    return hour


def _release_every(months: int) -> int:
    if months not in (1, 2, 3, 4, 6, 12):
        raise ConfigError("RELEASE_EVERY_MONTHS must be one of 1, 2, 3, 4, 6, 12")
    return months


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings set in the environment, as text (build_settings parses and checks them).

    Raises ConfigError for a REPORTER_* name that is no setting (a typo must not be ignored).
    """
    environ = os.environ if environ is None else environ
    unknown = sorted(n for n in environ if n.startswith(ENV_PREFIX) and n not in ENV_NAMES)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) in the environment: {', '.join(unknown)} "
            f"(known: {', '.join(ENV_NAMES)})"
        )
    return {name: environ[name] for name in ENV_NAMES if name in environ and environ[name] != ""}
