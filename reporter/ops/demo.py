"""Demo data, refused outside demo mode."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.domain.enums import Channel, Role
from reporter.models import db
from reporter.models.private import CaseKey, Report
from reporter.models.staff import Staff
from reporter.services import keys, staffing

demo_cli = AppGroup("demo", help="Demo data (demo mode only).")

DEMO_REPORTS = [
    (
        "GP",
        ["extortion", "confiscation"],
        ["saps"],
        "Two officers stopped me near the taxi rank, took R300 and my condoms as 'evidence', "
        "and let me go without a charge.",
    ),
    ("WC", ["physical_assault"], ["client"], "A client beat me and refused to pay."),
    (
        "KZN",
        ["complaint_refused"],
        ["saps"],
        "I went to the station to open a case and they laughed and told me to leave.",
    ),
    (
        "EC",
        ["unlawful_arrest", "sexual_assault"],
        ["metro_police"],
        "Held overnight in a van; one officer demanded sex to let me go.",
    ),
]


def _require_demo() -> None:
    if current_app.extensions["reporter.settings"].mode != "demo":
        raise click.ClickException("demo data is only for REPORTER_MODE=demo")


@demo_cli.command("seed")
def seed() -> None:
    """Seed demo keys, reports and published incidents (idempotent)."""
    _require_demo()
    settings = current_app.extensions["reporter.settings"]
    sess = db.session()
    if sess.scalar(select(func.count()).select_from(CaseKey)) == 0:
        result = keys.init_keys(sess, settings.instance_path, demo=True)
        click.echo("demo keys created (secrets in instance/keys/demo-secrets.json, demo only)")
        del result
    if sess.scalar(select(func.count()).select_from(Report)) == 0:
        from reporter.domain.payload import make_payload
        from reporter.services import intake

        ring = keys.load_keyring(sess)
        last = dt.date.today().replace(day=1) - dt.timedelta(days=1)  # last month
        for province, cats, perps, text in DEMO_REPORTS:
            # the same payload builder as every channel (domain/payload.py): checked, padded
            payload = make_payload(
                categories=cats,
                perpetrators=perps,
                year=last.year,
                month=last.month,
                province=province,
                narrative=text,
                consent_contact=True,
                channel=Channel.WEB_NOJS,
            )
            sub = intake.Submission(
                province, Channel.WEB_NOJS, envelope.seal(payload, ring.recipients(province))
            )
            receipt = intake.accept(sess, sub, settings)
            click.echo(f"demo report in {province}: receipt {receipt}")
    seed_staff(sess, settings.instance_path)
    from reporter.maps.seed import seed_incidents

    made = seed_incidents(sess)
    sess.commit()
    if made:
        click.echo(f"demo incidents published: {made}")
    click.echo("demo data ready; demo staff logins are listed in README.md")
    click.echo(
        "USSD and SMS callbacks: POST /gateway/ussd?key=demo-gateway-key and "
        "/gateway/sms?key=demo-gateway-key (docs/channels.md)"
    )


# Documented in README.md. Refused outside demo mode: these secrets are public.
DEMO_STAFF: tuple[tuple[str, list[str], list[str], str, str, str], ...] = (
    # login, roles, provinces, password, TOTP secret, unlock passphrase
    (
        "admin",
        [Role.ADMIN],
        [],
        "demo-admin-password",
        "JBSWY3DPEHPK3PXPADMINAAA",
        "demo admin passphrase",
    ),
    (
        "coordinator",
        [Role.COORDINATOR],
        [],
        "demo-coordinator-password",
        "JBSWY3DPEHPK3PXPCOORDAAA",
        "demo coordinator passphrase",
    ),
    (
        "moderator",
        [Role.MODERATOR],
        ["GP", "KZN"],
        "demo-moderator-password",
        "JBSWY3DPEHPK3PXPMODERAAA",
        "demo moderator passphrase",
    ),
    (
        "advocate",
        [Role.ADVOCATE],
        [],
        "demo-advocate-password",
        "JBSWY3DPEHPK3PXPADVOCAAA",
        "demo advocate passphrase",
    ),
)


def seed_staff(sess: Session, instance_path: Path) -> None:
    """One staff member per role with a key pair (wrapped under her demo passphrase) and the
    case keys her role needs, granted from the demo-only secrets file. Accounts and grants go
    through the admin's rules (reporter/services/staffing.py), audited like hers."""
    if sess.scalar(select(func.count()).select_from(Staff)):
        return
    secrets = keys.demo_secrets(instance_path)
    case_keys = {k.scope: k for k in sess.scalars(select(CaseKey).where(CaseKey.active))}
    for login, roles, provinces, password, totp, passphrase in DEMO_STAFF:
        staff, pk = _demo_account(sess, login, roles, provinces, password, totp, passphrase)
        for scope in sorted(staffing.scopes_allowed(sess, staff) & set(case_keys)):
            sealed = envelope.seal({"scope": scope, "sk": envelope.b64e(secrets[scope])}, [pk])
            staffing.grant(sess, case_keys[scope], staff, sealed, None)
    sess.commit()
    click.echo("demo staff created: " + ", ".join(s[0] for s in DEMO_STAFF))


def _demo_account(
    sess: Session,
    login: str,
    roles: list[str],
    provinces: list[str],
    password: str,
    totp: str,
    passphrase: str,
) -> tuple[Staff, bytes]:
    """Her account, with her authenticator confirmed and her key set up (demo only: these
    secrets are public), and her public key."""
    from nacl.public import PrivateKey

    sk = PrivateKey.generate()
    staff = staffing.create_staff(
        sess,
        login=login,
        roles=roles,
        provinces=provinces,
        password=password,
        actor_id=None,
        change_password=False,
        totp_secret=totp,
        totp_confirmed=True,
        public_key=envelope.b64e(bytes(sk.public_key)),
        wrapped_secret_key=envelope.wrap_secret_key(bytes(sk), passphrase),
    )
    return staff, bytes(sk.public_key)
