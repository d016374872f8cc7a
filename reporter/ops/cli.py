"""Operations from the command line: flask --app wsgi <group> <command>."""

from __future__ import annotations

from typing import Any, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from reporter.models import db
from reporter.ops import migrate

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
    from reporter.ops import pgcluster

    if current_app.extensions["reporter.settings"].database_url:
        click.echo("DATABASE_URL is set; nothing to stop")
        return
    db.database().engine.dispose()
    pgcluster.stop(current_app.extensions["reporter.settings"].instance_path)
    click.echo("private cluster stopped")


keys_cli = AppGroup("keys", help="Case keys, recovery key, pepper and signing key.")


@keys_cli.command("init")
def keys_init() -> None:
    """Create the case keys (national + 9 provinces), recovery key, pepper and signing key."""
    from reporter.crypto import envelope
    from reporter.services import keys

    settings = current_app.extensions["reporter.settings"]
    try:
        result = keys.init_keys(db.session(), settings.instance_path, demo=settings.mode == "demo")
    except keys.KeyMissing as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        "Case keys created for: national, "
        + ", ".join(sorted(s for s in result.case_secrets if s != keys.NATIONAL))
    )
    click.echo("")
    click.echo("OFFLINE RECOVERY KEY: write this down on paper now. It is shown only once.")
    click.echo("Whoever holds it can open every report; keep it in a safe, offline.")
    click.echo("")
    click.echo("    " + envelope.b64e(result.recovery_secret))
    click.echo("")
    if result.backup_secret:
        _echo_backup_secret(result.backup_secret)


def _echo_backup_secret(secret: bytes) -> None:
    from reporter.crypto import envelope

    click.echo("BACKUP KEY: every `make backup` is sealed to it; `make restore` asks for it.")
    click.echo("Write it down (or store it offline, apart from the backups). Shown only once.")
    click.echo("")
    click.echo("    " + envelope.b64e(secret))
    click.echo("")


@keys_cli.command("backup-init")
@click.option(
    "--replace",
    is_flag=True,
    help="Make a new backup key although one exists (older backups keep the old one).",
)
def keys_backup_init(replace: bool) -> None:
    """Create the offline backup key (for a deployment made before backups were sealed)."""
    from reporter.services import keys

    settings = current_app.extensions["reporter.settings"]
    try:
        secret = keys.init_backup_key(settings.instance_path, replace=replace)
    except keys.KeyMissing as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_backup_secret(secret)


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Delete expired receipts, and report envelopes, files and messages a number of days
    (RETENTION_DAYS, default 180) after a final status; published incidents stay."""
    import datetime as dt

    from sqlalchemy import CursorResult, delete, update

    from reporter.domain.enums import FINAL_STATUSES
    from reporter.models import audit
    from reporter.models.private import Attachment, Message, Receipt, Report

    settings = current_app.extensions["reporter.settings"]
    sess = db.session()
    gone = cast(
        CursorResult[Any], sess.execute(delete(Receipt).where(Receipt.expires_on < dt.date.today()))
    ).rowcount
    cutoff = dt.date.today() - dt.timedelta(days=settings.retention_days)
    old = select(Report.id).where(
        Report.status.in_(FINAL_STATUSES), Report.final_on <= cutoff, Report.purged.is_(False)
    )
    ids = list(sess.scalars(old))
    if ids:
        sess.execute(delete(Attachment).where(Attachment.report_id.in_(ids)))
        sess.execute(delete(Message).where(Message.report_id.in_(ids)))
        sess.execute(delete(Receipt).where(Receipt.report_id.in_(ids)))
        sess.execute(update(Report).where(Report.id.in_(ids)).values(envelope=None, purged=True))
    audit.record(sess, None, "purge", f"receipts={gone} reports={len(ids)}")
    sess.commit()
    click.echo(f"expired receipts removed: {gone}")
    click.echo(f"reports purged after {settings.retention_days} days: {len(ids)}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(purge)
    from reporter.verify.cli import audit_cli, recovery_open, staff_cli

    app.cli.add_command(staff_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(recovery_open)
    from reporter.verify.publication import incidents_cli, withdraw_cli

    app.cli.add_command(withdraw_cli)
    app.cli.add_command(incidents_cli)
    from reporter.ops import demo

    app.cli.add_command(demo.demo_cli)
    from reporter.export.cli import export_cli

    app.cli.add_command(export_cli)
    from reporter.services.notify import notify_cli

    app.cli.add_command(notify_cli)
    from reporter.ops.catalogs_cli import translations_cli

    app.cli.add_command(translations_cli)
