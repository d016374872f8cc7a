"""Extensions, created unbound here and bound to the app in create_app().

Rate limits are keyed by the visitor's random session token, never by the client address
(behind an onion service every client is 127.0.0.1, and an address is identifying). Global caps
(what the CPU can do) are split into two buckets (finding 13.6), so a flood of fresh sessions
cannot shut out a reporter who is already on the page:

- `global:fresh`: requests whose session is new (no token, or a token younger than
  HISTORY_SECONDS) or absent;
- `global:seen`: requests whose session got its token at least HISTORY_SECONDS earlier (she
  loaded the form, then typed), or, for the staff log-in, a browser with her device mark.

A flood from sessions that each wait HISTORY_SECONDS still reaches the seen bucket; it costs
the attacker a page load and the wait per session, and each session keeps its own limits.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf import CSRFProtect

PER_SESSION_KEY = "rl"
SINCE_KEY = "rl_t"
HISTORY_SECONDS = 5


def session_key() -> str:
    """Rate-limit key: the visitor's random session token, never the client address.

    A request without a session (a bot that drops cookies) shares one bucket with all the
    others. The key is never logged (reporter.web.logfilters drops flask-limiter's lines).
    """
    token = session.get(PER_SESSION_KEY)
    return f"s:{token}" if token else "s:none"


def _history_seconds() -> float:
    settings = current_app.extensions.get("reporter.settings")
    return float(getattr(settings, "history_seconds", HISTORY_SECONDS))


def has_history() -> bool:
    """The session has been here a while: its token was made HISTORY_SECONDS or more ago."""
    since = session.get(SINCE_KEY)
    if not session.get(PER_SESSION_KEY) or not isinstance(since, int | float):
        return False
    return 0 <= time.time() - since and time.time() - since >= _history_seconds()


def _known_staff_browser() -> bool:
    if not request.path.startswith("/staff/") or "staff_device" not in request.cookies:
        return False
    from reporter.web.auth import device_marked

    return device_marked()


def global_key() -> str:
    """The key of a global cap: one bucket for fresh sessions, one for sessions with history."""
    return "global:seen" if has_history() or _known_staff_browser() else "global:fresh"


def ensure_rate_token() -> None:
    """A random per-session token (and when it was made) that keys the per-session limits."""
    if PER_SESSION_KEY not in session:
        session[PER_SESSION_KEY] = secrets.token_urlsafe(12)
    if not isinstance(session.get(SINCE_KEY), int | float):
        session[SINCE_KEY] = int(time.time())


# --- a 429 keeps what she typed --------------------------------------------------------------

# endpoint -> a function giving the page to answer a rate-limited POST with (the form as she
# left it, with a message); the blueprint that owns the form registers it (on_rate_limited).
RATE_LIMITED_PAGES: dict[str, Callable[[], Any]] = {}
# never echoed back: secrets and what identifies the request
_NOT_ECHOED = {"csrf_token", "password", "code", "passphrase"}


def on_rate_limited(endpoint: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register the page that answers a refused (429) POST to `endpoint`: typically the form
    re-rendered from request.form with a "wait, then send again" message. Return the body
    (status 429 is set here) or (body, status)."""

    def register(view: Callable[[], Any]) -> Callable[[], Any]:
        RATE_LIMITED_PAGES[endpoint] = view
        return view

    return register


def kept_fields() -> list[tuple[str, str]]:
    """The text fields of a refused POST, to give back to her (never files or secrets)."""
    if request.method != "POST" or request.mimetype not in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return []
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in _NOT_ECHOED and isinstance(value, str) and len(value) <= 100_000
    ]


def rate_limited(exc: Exception) -> Any:
    """The answer to a rate-limited request: JSON for scripts, the form as she left it where
    its blueprint registered one, else a page that gives back what she typed and can send it
    again once she has waited."""
    from reporter.web.errors import MESSAGES, render_error

    if (
        request.headers.get("X-Requested-With") == "fetch"
        or request.path.startswith("/api/")
        or request.path.endswith(".json")
        or request.is_json
    ):
        title, advice = MESSAGES[429]
        return jsonify(error=str(title), advice=str(advice), retry=True), 429
    page = RATE_LIMITED_PAGES.get(request.endpoint or "") if request.method == "POST" else None
    if page is not None:
        answer = page()
        body, status = answer if isinstance(answer, tuple) else (answer, 429)
        return body, status
    fields = kept_fields()
    if not fields or request.path.startswith("/staff/"):
        return render_error(429)
    title, advice = MESSAGES[429]
    return render_template(
        "rate_limited.html",
        code=429,
        title=title,
        advice=advice,
        fields=fields,
        action=request.path,
    ), 429


def init_app(app: Flask) -> None:
    """The per-session token for every session that already holds a form (its CSRF token),
    and the 429 answer. Called by create_app after errors.init_app."""

    @app.after_request
    def _rate_token(resp: Response) -> Response:
        if "csrf_token" in session:
            ensure_rate_token()
        return resp

    app.register_error_handler(429, rate_limited)
    from reporter.web import logfilters

    logfilters.install()  # flask-limiter's lines without the session's key


csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=session_key, default_limits=[], headers_enabled=False)
