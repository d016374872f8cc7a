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


@group.command("init-sms-key")
def init_sms_key() -> None:
    """Create the alerts-SMS key pair: the web app needs the .pub, only the job the .key."""
    from reporter.alerts import sms

    settings = current_app.extensions["reporter.settings"]
    sms.init_keys(settings.instance_path)
    click.echo("instance/keys/alerts-sms.pub (web) and alerts-sms.key (the sending job only)")


@group.command("send-sms")
def send_sms() -> None:
    """Send newly approved alerts to the members of their province who asked for SMS."""
    from reporter.alerts import sms
    from reporter.models import db
    from reporter.services.gateways import AfricasTalkingSender

    settings = current_app.extensions["reporter.settings"]
    g = settings.gateway
    if not (settings.alerts_enabled and g.sms_username and g.sms_api_key):
        raise click.ClickException("alerts or the SMS sender are not configured")
    sender = AfricasTalkingSender(g.sms_api_url, g.sms_username, g.sms_api_key, g.sms_sender)
    alerts, messages = sms.send_pending(
        db.session(), sms.secret_key(settings.instance_path), sender
    )
    db.session().commit()
    click.echo(f"{alerts} alert(s), {messages} SMS sent")
