"""Error pages in the site's style: a clear message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from reporter import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Something in the request was not right"),
          _l("Please go back, check the form and try again.")),
    401: (_l("Please log in"), _l("This page is for Sisonke staff. Log in first.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist. Check the address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"),
          _l("What you sent is too large. Files can be at most the size shown on the form.")),
    429: (_l("Too many tries"),
          _l("The site is busy or you tried many times. Wait a few minutes, then try again. "
             "Your words were not saved, so keep a copy.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing was saved. Please try again in a few minutes.")),
    503: (_l("Not sent, try again"),
          _l("The site cannot save right now. Nothing was saved. Please try again in a few "
             "minutes. If you wrote a long text, copy it first.")),
}


def _wants_json() -> bool:
    """The JSON API (and /keys.json) answers errors in JSON, pages answer in HTML."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def render_error(code: int, detail: str | None = None) -> tuple[str | Response, int]:
    title, advice = MESSAGES.get(code, MESSAGES[500])
    if _wants_json():
        return jsonify(error=str(detail or title), advice=str(advice)), code
    return render_template("error.html", code=code, title=title, advice=advice,
                           detail=detail), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str | Response, int]:
        return render_error(400, str(_l("The form expired or was sent twice. Please open it "
                                        "again and send it once more.")))

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
        log.warning("database unavailable (%s) on %s", type(getattr(exc, "orig", exc)).__name__,
                    request.endpoint)
        return render_error(503)

    @app.errorhandler(InternalServerError)
    def _ise(exc: InternalServerError) -> tuple[str | Response, int]:
        db.discard_session()
        return render_error(500)
