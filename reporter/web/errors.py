"""Error pages in the site's style: a clear message, never a traceback.

Three layers, so that a reporter never meets a bare English "Internal Server Error":

1. Flask's error handlers below render `error.html` (which extends `base.html`) in the page's
   language for every HTTP error the app raises, including werkzeug's 413 while a multipart
   body is parsed, CSRF failures, a database that cannot take the request (503) and any
   unexpected exception (500).
2. `LastResort` wraps the WSGI app: an exception that escapes Flask itself (a teardown that
   fails, an error inside an error handler) still gets the styled page, not gunicorn's.
3. `write_static_pages` renders the same template once, at install time, into plain files for
   nginx (`python -m reporter.web.errors pages --out /srv/reporter/errors`): nginx's own answers
   (413 for a body over `client_max_body_size`, 408 for a connection too slow, 502/504 when the
   app is down or too slow) are then our page in her language (deploy/nginx/reporter.conf),
   even while the app is not running.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from reporter.models import db

log = logging.getLogger(__name__)

_NOT_SENT = _l("Not sent, try again")
_BAD_REQUEST = (
    _l("Something in the request was not right"),
    _l("Please go back, check the form and try again."),
)
_CANNOT_SAVE = (
    _NOT_SENT,
    _l(
        "The site cannot save right now. Nothing was saved. Please try again in a few "
        "minutes. If you wrote a long text, copy it first."
    ),
)
# When the answer was lost on the way, the report may or may not have been stored (promise 7:
# never lost, at worst a duplicate for moderators to join): say so rather than guess.
_UNSURE = (
    _l("No answer in time"),
    _l(
        "If you did not see a receipt number, please send your report again in a few "
        "minutes. If you wrote a long text, copy it first. If it arrives twice, we join "
        "the two."
    ),
)

MESSAGES = {
    400: _BAD_REQUEST,
    401: (_l("Please log in"), _l("This page is for Sisonke staff. Log in first.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Check the address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    408: (
        _NOT_SENT,
        _l(
            "The connection was too slow or was cut. Nothing was saved. Please try again. If "
            "you wrote a long text, copy it first."
        ),
    ),
    413: (
        _l("Too large"),
        _l(
            "Nothing was saved: what you sent is too large. Go back and send fewer or smaller "
            "files (the limit is shown on the form)."
        ),
    ),
    414: _BAD_REQUEST,
    431: _BAD_REQUEST,
    429: (
        _l("Too many tries"),
        _l(
            "The site is busy or you tried many times. Wait a few minutes, then try again. "
            "Your words were not saved, so keep a copy."
        ),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing was saved. Please try again in a few minutes."),
    ),
    502: _CANNOT_SAVE,
    503: _CANNOT_SAVE,
    504: _UNSURE,
}

# The answers nginx makes itself (deploy/nginx/reporter.conf `error_page`), one file per
# language and code. 500 is the last-resort page (`LastResort`), which cannot know either.
STATIC_CODES = (400, 404, 408, 413, 414, 429, 500, 502, 503, 504)

# When even the template cannot be rendered: still calm, still no trace, still styled.
FALLBACK_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta name="referrer" content="no-referrer"><title>Error</title>'
    '<link rel="stylesheet" href="/static/css/site.css"></head><body><main id="main">'
    "<h1>No answer in time</h1><p>If you did not see a receipt number, please send your "
    "report again in a few minutes. If you wrote a long text, copy it first.</p>"
    '<p><a href="/">Go to the home page</a></p></main></body></html>'
)


def _wants_json() -> bool:
    """The JSON API (and /keys.json) answers errors in JSON, pages answer in HTML."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def render_error(code: int, detail: str | None = None) -> tuple[str | Response, int]:
    title, advice = MESSAGES.get(code, MESSAGES[500])
    if _wants_json():
        return jsonify(error=str(detail or title), advice=str(advice)), code
    try:
        return render_template(
            "error.html", code=code, title=title, advice=advice, detail=detail
        ), code
    except Exception as exc:  # noqa: BLE001 - an error page must never fail into a traceback
        log.error("error page %s could not be rendered (%s)", code, type(exc).__name__)
        return FALLBACK_HTML, code


class LastResort:
    """WSGI middleware: whatever escapes Flask becomes the styled 500 page, never gunicorn's.

    Flask's handlers catch everything raised by views and hooks; what is left is an exception
    from a teardown function or from an error handler itself. The page cannot know whether a
    report was stored (the failure may come after the commit), so it says what to do either way.
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = False

        def tracked(*args: Any, **kwargs: Any) -> Any:
            nonlocal started
            started = True
            return start_response(*args, **kwargs)

        try:
            return self.wsgi_app(environ, tracked)
        except Exception as exc:  # noqa: BLE001 - the point of this layer
            log.error("unhandled %s outside the error handlers", type(exc).__name__)
            body = self.page(str(environ.get("PATH_INFO") or "/"))
            # PEP 3333: a second start_response needs exc_info; the server then replaces the
            # first status and headers (nothing was sent yet: the body was never returned)
            start_response(
                "500 Internal Server Error",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                    (
                        "Content-Security-Policy",
                        "default-src 'none'; style-src 'self'; "
                        "script-src 'self'; img-src 'self'; "
                        "form-action 'self'; frame-ancestors 'none'",
                    ),
                    ("Referrer-Policy", "no-referrer"),
                    ("X-Content-Type-Options", "nosniff"),
                ],
                sys.exc_info() if started else None,
            )
            return [body]

    def page(self, path: str) -> bytes:
        try:
            return render_in_language(
                self.app, 500, _lang_of(self.app, path), advice=(MESSAGES[500][0], _UNSURE[1])
            ).encode()
        except Exception:  # noqa: BLE001 - fall back to the built-in page
            return FALLBACK_HTML.encode()


def _lang_of(app: Flask, path: str) -> str:
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in app.extensions["reporter.settings"].languages else "en"


def render_in_language(
    app: Flask, code: int, lang: str, advice: tuple[Any, Any] | None = None
) -> str:
    """`error.html` for `code` as a page in `lang` would show it (the home page's address in
    that language gives the locale and the language links)."""
    title, text = advice or MESSAGES.get(code, MESSAGES[500])
    path = "/" if lang == "en" else f"/{lang}/"
    with app.test_request_context(path, headers={"Accept-Language": lang}):
        return render_template("error.html", code=code, title=title, advice=text, detail=None)


def write_static_pages(app: Flask, out: Path, codes: Iterable[int] = STATIC_CODES) -> list[Path]:
    """`out/<lang>/<code>.html` for every language nginx may ask for (all available ones: a
    language the deployment did not enable gets the English page), for nginx's `error_page`.

    Quick exit on the 5xx pages goes straight to the deployment's neutral site: they are shown
    when the app may be down, and the app's `/exit` would then be one more error page. On the
    others the app is up, and its `/exit` also closes her inbox on the server."""
    from reporter.config import AVAILABLE_LANGUAGES

    settings = app.extensions["reporter.settings"]
    written: list[Path] = []
    for lang in AVAILABLE_LANGUAGES:
        folder = out / lang
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        for code in codes:
            html = render_in_language(app, code, lang if lang in settings.languages else "en")
            if code >= 500:
                html = _direct_quick_exit(html, settings.quick_exit_url)
            target = folder / f"{code}.html"
            target.write_text(html, encoding="utf-8")
            target.chmod(0o644)
            written.append(target)
    return written


_EXIT_LINK = re.compile(r'(id="quick-exit" href=")[^"]*(")')


def _direct_quick_exit(html: str, url: str) -> str:
    from markupsafe import escape

    new, count = _EXIT_LINK.subn(lambda m: f"{m.group(1)}{escape(url)}{m.group(2)}", html)
    if count != 1:
        raise RuntimeError("the Quick exit link was not found in the error page")
    return new


def init_app(app: Flask) -> None:
    app.wsgi_app = LastResort(app, app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str | Response, int]:
        return render_error(
            400,
            str(
                _l(
                    "The form expired or was sent twice. Please open it "
                    "again and send it once more."
                )
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str | Response, int]:
        code = exc.code or 500
        if code >= 500:
            db.discard_session()
        detail = getattr(exc, "reporter_message", None)
        return render_error(code, detail)

    # A restart or a dead connection (OperationalError, InterfaceError) and a full pool
    # (TimeoutError) all mean "the database cannot take this now": a 503, never a receipt.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _db_down(exc: Exception) -> tuple[str | Response, int]:
        db.discard_session()
        # the class name only: a DBAPI message can quote the statement and its parameters
        log.warning(
            "database unavailable (%s) on %s",
            type(getattr(exc, "orig", exc)).__name__,
            request.endpoint,
        )
        return render_error(503)

    @app.errorhandler(InternalServerError)
    def _ise(exc: InternalServerError) -> tuple[str | Response, int]:
        db.discard_session()
        return render_error(500)
