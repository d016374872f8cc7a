"""Staff operations from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from reporter.crypto import envelope
from reporter.domain.vocabulary import PROVINCES
from reporter.models import audit, db
from reporter.services import staffing
from reporter.web.auth import ROLES

staff_cli = AppGroup("staff", help="Staff accounts.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@staff_cli.command("create")
@click.option("--login", required=True)
@click.option(
    "--role", "roles", multiple=True, type=click.Choice(ROLES), default=["admin"], show_default=True
)
@click.option("--province", "provinces", multiple=True, type=click.Choice(list(PROVINCES)))
@click.password_option(help="Her first password (prompted for, never echoed).")
def staff_create(
    login: str, roles: tuple[str, ...], provinces: tuple[str, ...], password: str
) -> None:
    """Create a staff account (the first admin). She enrols TOTP at her first log-in. The same
    rules as the admin page (reporter/services/staffing.py); the password is the one typed
    here, so she is not asked to change it."""
    sess = db.session()
    try:
        staffing.create_staff(
            sess,
            login=login,
            roles=roles,
            provinces=provinces,
            password=password,
            actor_id=None,
            change_password=False,
        )
    except staffing.StaffRefused as exc:
        raise click.ClickException(str(exc)) from exc
    sess.commit()
    click.echo(
        f"created {login} ({', '.join(roles)}); she sets up TOTP and her key at first log-in"
    )


@audit_cli.command("verify")
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="HASH",
    help="An audit head from a signed export manifest; it must still be in the chain.",
)
def audit_verify(heads: tuple[str, ...]) -> None:
    """Exit 0 when the chain holds; otherwise name the first broken link and exit 1."""
    sess = db.session()
    verdict = audit.verify(sess)
    if not verdict.ok:
        click.echo(f"AUDIT LOG BROKEN: {verdict.problem}", err=True)
        raise SystemExit(1)
    for anchored in heads:
        if not audit.contains(sess, anchored.strip().lower()):
            click.echo(
                f"AUDIT LOG BROKEN: the anchored event {anchored[:16]}… is no longer in "
                "the chain (events were removed from its end)",
                err=True,
            )
            raise SystemExit(1)
    click.echo(f"audit log intact: {verdict.events} events")


@click.command("recovery-open")
@click.argument("report_id")
@with_appcontext
def recovery_open(report_id: str) -> None:
    """Open a report offline with the recovery key's secret (typed at the prompt), for when
    every passphrase is lost. Prints the report as JSON on stdout; run it on a trusted
    machine, never on the server in normal operation."""
    from reporter.models.private import Report

    secret = click.prompt("Recovery secret", hide_input=True)
    try:
        sk = envelope.b64d(secret.strip(), 32)
        report = db.session().get(Report, report_id)
        if report is None or report.envelope is None:
            raise click.ClickException("no such report, or its envelope was purged")
        payload = envelope.open_envelope(report.envelope, sk)
    except envelope.EnvelopeError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(db.session(), None, "open", f"{report_id}:recovery")
    db.session().commit()
    click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
