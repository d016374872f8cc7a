"""What the staff and member views share: the settings, the index key, whether alerts are on."""

from __future__ import annotations

import logging
import re

from flask import abort, current_app, request

from reporter.alerts import index, store
from reporter.config import Settings
from reporter.crypto.signing import KeyMissing
from reporter.models import db

log = logging.getLogger(__name__)
DESCRIPTION_MAX = 500
AREA_MAX = 80


def settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def key() -> bytes:
    """The alerts index key; created on first use outside production (production: `flask
    --app wsgi alerts init-key`, copied to every host like the receipt pepper)."""
    cfg = settings()
    cached = current_app.extensions.get("reporter.alerts_key")
    if cached:
        return cached
    try:
        value = index.index_key(cfg.instance_path, create=not cfg.is_production)
        current_app.extensions["reporter.alerts_key"] = value
        return value
    except KeyMissing:
        log.warning("alerts refused: no alerts index key")
        abort(503)


def switched_on() -> bool:
    """ALERTS_ENABLED and an authorisation recorded by an admin."""
    return settings().alerts_enabled and store.authorised(db.session()) is not None


def require_on() -> None:
    if not switched_on():
        abort(404)


_ID = re.compile(r"[0-9a-f]{20}")


def valid_id(value: str) -> bool:
    """Report and alert ids are 20 lowercase hex digits (reporter.models.base.random_id)."""
    return bool(_ID.fullmatch(value or ""))


def refuse_nul() -> None:
    """A NUL character cannot be stored in PostgreSQL text: refuse it in any field (400)."""
    if any("\x00" in v for v in (*request.args.values(), *request.form.values())):
        abort(400)
