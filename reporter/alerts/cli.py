"""`flask --app wsgi alerts init-key`: make the alerts index key (instance/keys/alerts-index)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from reporter.alerts import index

group = AppGroup("alerts", help="Safety alerts (docs/alerts.md).")


@group.command("init-key")
def init_key() -> None:
    """Create the alerts index key if it is missing (copy it to every app host)."""
    settings = current_app.extensions["reporter.settings"]
    index.index_key(settings.instance_path, create=True)
    click.echo("alerts index key present in instance/keys/alerts-index (keep it with the pepper)")
