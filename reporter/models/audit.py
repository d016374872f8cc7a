"""The append-only, hash-chained audit log of staff actions (promise 6).

Each event's hash covers its id, time, staff id, action, object and the previous event's hash,
so altering, deleting or reordering any event breaks the chain at that point. A database
trigger (migration 0003) also refuses UPDATE and DELETE on the table; `audit verify` catches
what someone with superuser access could still do behind it. Objects name things (a report
id, a staff login, filters), never anything a reporter wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from reporter.models.base import Base, utcnow

GENESIS = "0" * 64
# one writer at a time, so two events never claim the same predecessor
_LOCK = 0x5EC0A0D1

ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "enrol_totp",
        "key_setup",
        "unlock",
        "open",
        "assign",
        "status",
        "message",
        "publish",
        "withdraw",
        "duplicate",
        "export",
        "grant",
        "revoke",
        "rotate",
        "staff_create",
        "staff_update",
        "content_update",
        "purge",
        "open_attachment",
        "release",
        # a report taken by staff for someone else (reporter/verify/intake.py): no content
        "intake",
        # safety alerts (reporter/alerts)
        "alert_draft",
        "alert_approve",
        "alert_reject",
        "alert_withdraw",
        "alert_correct",
        "alert_corroborate",
        "alert_challenge_review",
        "alert_sheet",
        "member_codes",
        "member_revoke",
        "alerts_authorise",
        # partners, referral, outcomes, notifications (issue 17)
        "refer",
        "unrefer",
        "partner_create",
        "outcome",
        "notify_settings",
        "notify_digest",
    }
)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    object: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def event_hash(
    event_id: int, at: str, staff_id: int | None, action: str, obj: str | None, prev: str
) -> str:
    body = json.dumps(
        [event_id, at, staff_id, action, obj, prev], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, staff_id: int | None, action: str, obj: str | None = None) -> None:
    """Append an event in the caller's transaction (committed with the action it records)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action}")
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    event_id = int(session.execute(text("SELECT nextval('audit_event_id_seq')")).scalar_one())
    at = utcnow().replace(microsecond=0)
    session.add(
        AuditEvent(
            id=event_id,
            at=at,
            staff_id=staff_id,
            action=action,
            object=obj,
            prev_hash=prev,
            hash=event_hash(event_id, at.isoformat(), staff_id, action, obj, prev),
        )
    )
    session.flush()


def head(session: Session) -> dict[str, object]:
    """The newest event (id and hash). Signed export manifests carry it, so a copy of the
    chain's head leaves the database: removing newer events later becomes detectable."""
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    return {"event": last.id if last else 0, "hash": last.hash if last else GENESIS}


def contains(session: Session, event_hash_hex: str) -> bool:
    return (
        session.scalars(select(AuditEvent.id).where(AuditEvent.hash == event_hash_hex)).first()
        is not None
    )


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    problem: str | None = None
    event_id: int | None = None


def verify(session: Session) -> Verdict:
    """Walk the chain; name the first broken link."""
    prev = GENESIS
    count = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        count += 1
        if ev.prev_hash != prev:
            return Verdict(
                False,
                count,
                f"event {ev.id} does not follow the event before it "
                "(an event was removed, inserted or reordered)",
                ev.id,
            )
        expected = event_hash(
            ev.id,
            ev.at.astimezone(utcnow().tzinfo).isoformat(),
            ev.staff_id,
            ev.action,
            ev.object,
            ev.prev_hash,
        )
        if ev.hash != expected:
            return Verdict(False, count, f"event {ev.id} was altered", ev.id)
        prev = ev.hash
    return Verdict(True, count)
