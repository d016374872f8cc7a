"""Extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from flask import session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf import CSRFProtect

PER_SESSION_KEY = "rl"


def session_key() -> str:
    """Rate-limit key: the visitor's random session token, never the client address.

    Behind an onion service every client is 127.0.0.1, and an address is identifying; a
    request without a session (a bot that drops cookies) shares one bucket with all the others.
    """
    token = session.get(PER_SESSION_KEY)
    return f"s:{token}" if token else "s:none"


def global_key() -> str:
    return "global"


csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=session_key, default_limits=[], headers_enabled=False)
