"""Demo data, refused outside demo mode."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from reporter import db, envelope, keys
from reporter.models import CaseKey, Report

demo_cli = AppGroup("demo", help="Demo data (demo mode only).")

DEMO_REPORTS = [
    ("GP", ["extortion", "confiscation"], ["saps"],
     "Two officers stopped me near the taxi rank, took R300 and my condoms as 'evidence', "
     "and let me go without a charge."),
    ("WC", ["physical_assault"], ["client"], "A client beat me and refused to pay."),
    ("KZN", ["complaint_refused"], ["saps"],
     "I went to the station to open a case and they laughed and told me to leave."),
    ("EC", ["unlawful_arrest", "sexual_assault"], ["metro_police"],
     "Held overnight in a van; one officer demanded sex to let me go."),
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
        from reporter.forms import intake

        ring = keys.load_keyring(sess)
        for province, cats, perps, text in DEMO_REPORTS:
            payload = {"v": 1, "categories": cats, "perpetrators": perps,
                       "when": {"year": 2026, "month": 10, "day": None}, "province": province,
                       "place": {"town_id": None, "town": None, "text": None}, "pin": None,
                       "narrative": text, "perpetrator_details": "",
                       "consent": {"contact": True, "legal": False}, "attachments": [],
                       "language": "en"}
            sub = intake.Submission(province, "web-nojs",
                                    envelope.seal(payload, ring.recipients(province)))
            receipt = intake.accept(sess, sub, settings)
            click.echo(f"demo report in {province}: receipt {receipt}")
    try:
        from reporter.maps.seed import seed_incidents
    except ImportError:
        pass
    else:
        seed_incidents(sess)
        sess.commit()
    click.echo("demo data ready")
