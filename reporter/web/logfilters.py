"""Log filters that take the client out of third-party log lines (promise 4; issue 13, 12).

- gunicorn writes "Invalid request from ip=127.0.0.1: <the request text>" for a malformed
  request, and "Error handling request <method> <uri>" with a traceback for its own failures:
  both keep the event, without the address, the request text or the exception's message.
- flask-limiter writes "ratelimit 10 per 10 minutes (s:<session token>) exceeded at endpoint":
  the token is the session's rate-limit key (also readable in her cookie), so it would tie
  log lines to one visitor. The line keeps the limit and the endpoint, never the key.

`install()` adds them to their loggers (gunicorn.conf.py calls it before gunicorn sets up its
logging; reporter.web.extensions calls it for the app). Filters on a logger see every record
logged on it, whatever handler gunicorn or the app attach later.
"""

from __future__ import annotations

import logging
import re

GUNICORN_LOGGER = "gunicorn.error"
LIMITER_LOGGER = "flask-limiter"


class GunicornClientFilter(logging.Filter):
    """Rewrite gunicorn's lines that carry the client's address or request."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if msg.startswith("Invalid request from"):
            record.msg, record.args = "invalid request refused (malformed HTTP)", ()
        elif msg.startswith("Error handling request"):
            kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "?"
            record.msg, record.args = "error handling a request (%s)", (kind,)
            record.exc_info, record.exc_text = None, None
        return True


class RateLimitKeyFilter(logging.Filter):
    """Drop the rate-limit key (a session token) from flask-limiter's lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if (
            msg.startswith("ratelimit ")
            and isinstance(record.args, tuple)
            and len(record.args) == 3
        ):
            limit, _key, scope = record.args
            record.msg, record.args = "ratelimit %s exceeded at %s", (limit, scope)
        else:  # any other line that would name a key (s:<token>, global:...): without it
            text = record.getMessage()
            clean = _KEY.sub("<key>", text)
            if clean != text:
                record.msg, record.args = clean, ()
        return True


_KEY = re.compile(r"\b(?:s|global):[A-Za-z0-9_\-:]+")


def _add_once(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def install() -> None:
    _add_once(logging.getLogger(GUNICORN_LOGGER), GunicornClientFilter)
    _add_once(logging.getLogger(LIMITER_LOGGER), RateLimitKeyFilter)
