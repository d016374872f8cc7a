"""Gateways (issue 15, docs/channels.md): USSD and SMS through an aggregator's callbacks.

Default-deny like the staff side: every endpoint of this blueprint needs the gateway key in
`?key=` (compared in constant time); a view not marked with @gateway_view is refused too.
A wrong or missing key gets 403 with an empty body, nothing else. The caller's phone number
is never the key to anything.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request

bp = Blueprint("gateway", __name__, url_prefix="/gateway")
F = TypeVar("F", bound=Callable[..., Any])


def gateway_view(view: F) -> F:
    """Mark a view as a gateway callback (key-checked); unmarked views are 403."""
    view._gateway_callback = True  # type: ignore[attr-defined]
    return view


def key_ok(given: str | None) -> bool:
    expected = current_app.extensions["reporter.settings"].gateway.key
    if not expected or not given:
        hmac.compare_digest(b"x" * 32, (given or "").encode()[:32].ljust(32, b"\0"))
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.before_request
def _default_deny() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    if not getattr(view, "_gateway_callback", False) or not key_ok(request.args.get("key")):
        return Response(b"", status=403, mimetype="text/plain")
    return None


from reporter.gateway import routes  # noqa: E402,F401  (registers the views)
