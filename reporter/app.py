"""The application factory and its request plumbing (reporter/__init__.py re-exports
create_app lazily, so importing reporter.crypto loads no Flask)."""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path
from typing import Any

from flask import Config, Flask, request
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from reporter import __version__
from reporter.config import DEFAULTS, build_settings, read_environment
from reporter.models import db
from reporter.web import errors, extensions, i18n, security
from reporter.web.extensions import csrf, limiter


def aria_for(field: Any, hint: str | None = None) -> dict[str, str]:
    """Tie a field's error message (first) and its hint, by id, to it for screen readers."""
    ids = [f"{field.id}-error"] if getattr(field, "errors", None) else []
    ids += [hint] if hint else []
    out = {"aria-describedby": " ".join(ids)} if ids else {}
    if getattr(field, "errors", None):
        out["aria-invalid"] = "true"
    return out


class ReporterFlask(Flask):
    """Flask whose error log names the exception type and the code path, never its message.

    Exception messages can quote user input (a narrative in a ValueError, a parameter in a
    DBAPI error); the traceback's file and line numbers are enough to debug.
    """

    def log_exception(self, exc_info: Any) -> None:
        exc_type, _exc, tb = exc_info
        frames = "; ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb))
        self.logger.error(
            "unhandled %s at %s [%s]",
            exc_type.__name__ if exc_type else "?",
            request.endpoint,
            frames,
        )


def _require_keys(settings: Any) -> None:
    """Production refuses to serve without its keys on disk (the receipt pepper and the
    signing key). Command-line use is exempt: `flask --app wsgi keys init` makes them."""
    import click

    from reporter.config import ConfigError
    from reporter.crypto.signing import load_signing_key
    from reporter.services.keys import KeyMissing, pepper

    if not settings.is_production or click.get_current_context(silent=True) is not None:
        return
    try:
        pepper(settings.instance_path, settings.receipt_pepper)
        load_signing_key(settings.instance_path)
    except KeyMissing as exc:
        raise ConfigError(f"{exc} (refusing to start in production mode)") from exc


def _raw_config(app: Flask, config: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults, then instance/config.py, then the environment, then `config`."""
    raw: dict[str, Any] = dict(DEFAULTS)
    from_instance = Config(app.instance_path)
    from_instance.from_pyfile("config.py", silent=True)
    raw.update(from_instance)
    raw.update(read_environment())
    raw.update(config or {})
    return raw


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then the environment, then `config`."""
    # INSTANCE_PATH from the caller or the environment (gunicorn, systemd), else ./instance
    app = ReporterFlask(
        "reporter",
        instance_relative_config=True,
        instance_path=(config or {}).get("INSTANCE_PATH")
        or os.environ.get("INSTANCE_PATH")
        or None,
    )
    from reporter.web.upload import IntakeRequest

    # uploads are sealed in memory as they stream in, never spooled to a temp file
    app.request_class = IntakeRequest
    raw = _raw_config(app, config)
    instance_path = Path(app.instance_path)
    settings = build_settings(raw, instance_path)
    app.extensions["reporter.settings"] = settings
    _require_keys(settings)
    _configure(app, settings, raw)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    security.quiet_werkzeug()

    _init_extensions(app, settings, instance_path)
    _register_blueprints(app)
    _add_template_globals(app, settings)
    return app


def _configure(app: Flask, settings: Any, raw: dict[str, Any]) -> None:
    """Flask's and the extensions' settings, taken from `settings`; ProxyFix behind nginx."""
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        # a Redis that hangs must not hang intake: give up after a second, then the limiter
        # falls back to per-process memory (IN_MEMORY_FALLBACK below)
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if settings.ratelimit_storage_uri.startswith("redis")
            else {}
        ),
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_ENABLED=settings.csrf_enabled,  # off only in test mode (build_settings)
        # Flask-WTF's HTTPS check wants a same-site Referer on every POST, and this site sends
        # none by design (Referrer-Policy: no-referrer): with it on, every form failed behind
        # TLS (tests/test_deploy.py). The token and the SameSite=Strict cookie remain.
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="en",
        TESTING=settings.mode == "test" and bool(raw.get("TESTING")),
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    if settings.trust_proxy:
        # only the scheme is taken from nginx; never a forwarded client address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=1, x_host=0)  # type: ignore[method-assign]


def _add_template_globals(app: Flask, settings: Any) -> None:
    """What every template may use: the CSP nonce, the settings, the version, the languages."""

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "csp_nonce": security.csp_nonce,
            "settings": settings,
            "version": __version__,
            "language_names": i18n.LANGUAGE_NAMES,
            "current_locale": lambda: str(get_locale() or "en"),
            "aria": aria_for,
        }


def _init_extensions(app: Flask, settings: Any, instance_path: Path) -> None:
    """The database (the private cluster when no DATABASE_URL), CSRF, the limiter, the
    security headers, the error pages and the precompressed assets."""
    url = settings.database_url
    if not url:  # demo, test, or production with PRIVATE_CLUSTER=1 (build_settings)
        from reporter.ops import pgcluster

        url = pgcluster.ensure_database(instance_path)
    db.init_app(app, url)

    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    extensions.init_app(app)  # per-session rate tokens, and a 429 that keeps her words
    from reporter.web import compress

    compress.init_app(app)  # precompressed assets; public pages only (docs/operations.md)


def _register_blueprints(app: Flask) -> None:
    """Every blueprint and command; the /<lang>/ addresses after the blueprints."""
    from reporter.export import bp as export_bp
    from reporter.forms import bp as forms_bp
    from reporter.forms import site as views
    from reporter.maps import bp as maps_bp
    from reporter.maps import openapi
    from reporter.ops import cli
    from reporter.verify import bp as verify_bp

    app.register_blueprint(views.bp)
    app.register_blueprint(forms_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(maps_bp)
    app.register_blueprint(export_bp)
    app.register_blueprint(openapi.bp)
    from reporter.gateway import bp as gateway_bp

    app.register_blueprint(gateway_bp)  # USSD and SMS callbacks (issue 15)
    from reporter.alerts import cli as alerts_cli
    from reporter.alerts import member as alerts_member
    from reporter.alerts import staff as alerts_staff

    app.register_blueprint(alerts_staff.bp)  # /staff/alerts (default-deny)
    app.register_blueprint(alerts_member.bp)  # /alerts, members only; 404 while switched off
    alerts_member.init_app(app)
    app.cli.add_command(alerts_cli.group)
    # after the blueprints: adds the /<lang>/ addresses of the public pages
    i18n.init_app(app)
    cli.init_app(app)
