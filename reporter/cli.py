"""Operations from the command line: flask --app wsgi <group> <command>."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from reporter import db, migrate

db_cli = AppGroup("db", help="Database: migrations and the private cluster.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(db.database().engine, revision)
    click.echo(f"database at {migrate.current(db.database().engine)}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(db.database().engine, revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers only)."""
    migrate.revision(db.database().engine, message)


@db_cli.command("stop")
def db_stop() -> None:
    """Stop the private cluster under instance/ (no-op with DATABASE_URL)."""
    from reporter import pgcluster

    if current_app.extensions["reporter.settings"].database_url:
        click.echo("DATABASE_URL is set; nothing to stop")
        return
    db.database().engine.dispose()
    pgcluster.stop(current_app.extensions["reporter.settings"].instance_path)
    click.echo("private cluster stopped")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    from reporter import demo

    app.cli.add_command(demo.demo_cli)
