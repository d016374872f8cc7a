"""Staff notifications that leak nothing (issue 17, docs/partners.md "Notifications").

Off unless SMTP_URL is set. Every message has the same subject and one of three fixed bodies;
none names a province, a category, a count, a report or a reporter. What they tell is only
that there is (or may be) work:

- the daily digest, sent by `flask --app wsgi notify digest` (a systemd timer runs it every
  hour; it sends only at DIGEST_HOUR UTC and once a day), by each staff member's choice:
  `always` (every day, whether or not there is anything new: its arrival tells nothing) or
  `activity` (only on days with something new for her: its arrival tells that there is);
- a notice when a report is assigned to her by someone else, when the reporter answers on a
  report assigned to her, and, for a partner's staff, when a case is referred to them.

Staff email addresses are personal data: stored sealed (secretbox) under a key derived from the
receipt pepper, like TOTP secrets, so a copy of the database alone does not give them; the
sending server and the mail system see them, of course.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import secrets
import smtplib
import ssl
import threading
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from flask import Flask, current_app, g, has_app_context
from flask.cli import AppGroup
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, attributes

from reporter.domain import policy
from reporter.domain.enums import Direction, Role

log = logging.getLogger(__name__)

SUBJECT = "Sisonke reports: staff site"
# Each body is padded to BODY_LENGTH characters, so all three have one length on the wire.
BODY_LENGTH = 480
DIGEST_ALWAYS = (
    "This is your daily message from the Sisonke reports staff site. It is sent every day at "
    "the same time, whether or not there is anything new for you, so it says nothing about "
    "your work. Log in to see your queue."
)
DIGEST_ACTIVITY = (
    "There is new activity for you on the Sisonke reports staff site. Log in to see it. You "
    "chose to get this message only on days when there is something new for you."
)
NOTICE = (
    "Something on the Sisonke reports staff site needs you: a report was assigned to you, a "
    "reporter answered, or a case was referred to your organisation. Log in to see it."
)
FOOTER = (
    "\n\nThis message never says what the work is. To change what you get, open "
    "Notifications on the staff site.\n"
)

_THREADS: list[threading.Thread] = []


def current_settings() -> Any:
    return current_app.extensions["reporter.settings"]


# --- messages ----------------------------------------------------------------------------------


def body(text: str) -> str:
    """A fixed-length body: the text, the footer, then spaces to BODY_LENGTH."""
    out = text + FOOTER
    assert len(out) <= BODY_LENGTH, len(out)
    return out + " " * (BODY_LENGTH - len(out))


def message(to: str, text: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg["From"] = sender
    msg["To"] = to
    # fixed-format headers: the same length every time (no host name, no sequence)
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))
    msg["Message-ID"] = f"<{secrets.token_hex(16)}@reporter.invalid>"
    msg.set_content(body(text), cte="7bit")
    return msg


def _connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port or 465, timeout=20, context=ssl.create_default_context()
        )
    elif parts.scheme in ("smtp", "smtp+starttls"):
        smtp = smtplib.SMTP(
            host, port or (587 if parts.scheme == "smtp+starttls" else 25), timeout=20
        )
        if parts.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
    else:
        raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    if parts.username:
        smtp.login(unquote(parts.username), unquote(parts.password or ""))
    return smtp


def send(settings: Any, messages: list[EmailMessage]) -> int:
    """Send over one connection; the number sent. Failures are logged without addresses."""
    if not settings.smtp_url or not messages:
        return 0
    sent = 0
    try:
        with _connect(settings.smtp_url) as smtp:
            for msg in messages:
                try:
                    smtp.send_message(msg)
                    sent += 1
                except smtplib.SMTPException:
                    log.warning("a staff notification was refused by the mail server")
    except (OSError, smtplib.SMTPException, ValueError):
        log.warning("the mail server could not be reached; notifications not sent")
    return sent


# --- notices -----------------------------------------------------------------------------------


def _addresses(sess: Session, staff_ids: Iterable[int], *, notices: bool) -> list[str]:
    from reporter.models.partners import StaffNotify
    from reporter.models.staff import Staff

    ids = sorted(set(staff_ids))
    if not ids:
        return []
    q = (
        select(StaffNotify)
        .join(Staff, Staff.id == StaffNotify.staff_id)
        .where(StaffNotify.staff_id.in_(ids), Staff.disabled.is_(False))
    )
    if notices:
        q = q.where(StaffNotify.notices.is_(True))
    return [row.email for row in sess.scalars(q) if row.email]


def _notice_now(app: Flask, staff_ids: list[int]) -> None:
    from reporter.models import db

    with app.app_context():
        settings = app.extensions["reporter.settings"]
        with db.database().sessions() as sess:
            to = _addresses(sess, staff_ids, notices=True)
        send(settings, [message(a, NOTICE, settings.notify_from) for a in to])


def notice(staff_ids: Iterable[int]) -> None:
    """A fixed notice to each of them who wants notices, sent in the background after the
    request's work is committed (the sender waits for no mail server)."""
    ids = sorted({int(i) for i in staff_ids if i is not None})
    if not ids or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.extensions["reporter.settings"].smtp_url:
        return
    thread = threading.Thread(target=_notice_now, args=(app, ids), daemon=True)
    _THREADS[:] = [t for t in _THREADS if t.is_alive()]
    _THREADS.append(thread)
    thread.start()


def wait(timeout: float = 10.0) -> None:
    """Wait for notices in flight (tests, and the CLI before it exits)."""
    for thread in list(_THREADS):
        thread.join(timeout)


# Assignments and reporters' answers are noticed wherever they happen (the staff queue, the
# reporter's inbox), without those modules knowing about mail: after a flush, the session
# remembers who should hear; after the commit, they are told.

_PENDING = "reporter.services.notify.pending"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: Any) -> None:
    from reporter.models.private import Message, Report

    actor = g.get("staff").id if has_app_context() and g.get("staff") is not None else None
    pending: set[int] = session.info.setdefault(_PENDING, set())
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Report):
            added = attributes.get_history(obj, "assigned_to").added
            pending.update(i for i in added if i is not None and i != actor)
        elif (
            isinstance(obj, Message)
            and obj in session.new
            and obj.direction == Direction.FROM_REPORTER
        ):
            assignee = session.scalar(select(Report.assigned_to).where(Report.id == obj.report_id))
            if assignee is not None:
                pending.add(assignee)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        notice(pending)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- the daily digest --------------------------------------------------------------------------


def has_activity(sess: Session, staff: Any, since: dt.date) -> bool:
    """Is there anything new for her on or after `since` (dates only: the server keeps no
    times)? New reports of her provinces, answers on reports assigned to her, referrals to her
    organisation."""
    from reporter.models.partners import PartnerStaff, Referral
    from reporter.models.private import Message, Report

    roles = set(staff.roles)
    if Role.PARTNER in roles:
        org = sess.get(PartnerStaff, staff.id)
        return (
            org is not None
            and sess.scalar(
                select(Referral.id)
                .where(Referral.partner_id == org.partner_id, Referral.referred_on >= since)
                .limit(1)
            )
            is not None
        )
    checks: list[Select[tuple[Any]]] = []
    visible = policy.visible_provinces(roles, staff.provinces)
    if visible is None:
        checks.append(select(Report.id).where(Report.received_on >= since))
    elif visible:
        checks.append(
            select(Report.id).where(Report.received_on >= since, Report.province.in_(visible))
        )
    checks.append(
        select(Message.id)
        .join(Report, Report.id == Message.report_id)
        .where(
            Report.assigned_to == staff.id,
            Message.direction == Direction.FROM_REPORTER,
            Message.sent_on >= since,
        )
    )
    return any(sess.scalar(q.limit(1)) is not None for q in checks)


def digest(sess: Session, settings: Any, today: dt.date | None = None) -> int:
    """Send today's digest to everyone who chose one and has not had today's; the number sent."""
    from reporter.models.partners import StaffNotify
    from reporter.models.staff import Staff

    today = today or dt.datetime.now(dt.UTC).date()
    out: list[EmailMessage] = []
    rows = sess.execute(
        select(StaffNotify, Staff)
        .join(Staff, Staff.id == StaffNotify.staff_id)
        .where(Staff.disabled.is_(False), StaffNotify.digest != "off")
        .with_for_update(of=StaffNotify)
    ).all()
    for choice, staff in rows:
        if choice.last_digest_on is not None and choice.last_digest_on >= today:
            continue
        since = choice.last_digest_on or (today - dt.timedelta(days=1))
        if choice.email and choice.digest == "always":
            out.append(message(choice.email, DIGEST_ALWAYS, settings.notify_from))
        elif choice.email and choice.digest == "activity" and has_activity(sess, staff, since):
            out.append(message(choice.email, DIGEST_ACTIVITY, settings.notify_from))
        choice.last_digest_on = today
    sess.commit()
    return send(settings, out)


# --- the command (a systemd timer runs it every hour: deploy/systemd/reporter-digest.*) --------

notify_cli = AppGroup("notify", help="Staff notifications (off unless SMTP_URL is set).")


@notify_cli.command("digest")
@click.option(
    "--any-hour",
    is_flag=True,
    help="Send now even if this is not DIGEST_HOUR (tests, a first try).",
)
def digest_command(any_hour: bool) -> None:
    """Send the daily digest, at DIGEST_HOUR UTC only and once a day; other hours do nothing,
    so that the send time is fixed however often the timer fires."""
    from reporter.models import audit, db

    settings = current_settings()
    now = dt.datetime.now(dt.UTC)
    if not settings.smtp_url:
        click.echo("SMTP_URL is not set: notifications are off.")
        return
    if now.hour != settings.digest_hour and not any_hour:
        click.echo(f"not the digest hour ({settings.digest_hour:02d}:00 UTC): nothing sent")
        return
    sess = db.session()
    sent = digest(sess, settings, now.date())
    audit.record(sess, None, "notify_digest", f"sent={sent}")
    sess.commit()
    click.echo(f"digest messages sent: {sent}")
