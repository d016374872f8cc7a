"""Demo data, refused outside demo mode."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data (demo mode only).")


def _require_demo() -> None:
    if current_app.extensions["reporter.settings"].mode != "demo":
        raise click.ClickException("demo data is only for REPORTER_MODE=demo")


@demo_cli.command("seed")
def seed() -> None:
    """Seed demo data (idempotent)."""
    _require_demo()
    click.echo("demo data ready")
