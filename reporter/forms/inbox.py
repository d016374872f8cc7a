"""The reporter's inbox: receipt log-in, reading messages, answering.

The receipt never goes into a cookie. After a receipt log-in, the session holds only the
receipt's row id and its wrapping key sealed under a key derived from the server's secret,
valid for a few minutes; logging out or the browser closing ends it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.secret import SecretBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import envelope, receipts
from reporter.keys import Keyring
from reporter.models import Message, Receipt, Report

SESSION_KEY = "inbox"
INBOX_MINUTES = 15


@dataclass(frozen=True)
class Opened:
    receipt: Receipt
    report: Report
    wrap_key: bytes


@dataclass(frozen=True)
class ShownMessage:
    direction: str
    sent_on: dt.date
    text: str | None


def login(session: Session, text: str, hashing: receipts.Hashing) -> Opened:
    """Raise ReceiptMalformed or ReceiptUnknown; wrong and expired take the same path."""
    receipt_text = receipts.normalise(text)
    derived = receipts.derive(receipt_text, hashing)
    row = session.scalars(select(Receipt).where(
        Receipt.lookup_hash == derived.lookup, Receipt.expires_on >= dt.date.today())).first()
    if row is None:
        raise receipts.ReceiptUnknown()
    report = session.get(Report, row.report_id)
    if report is None:
        raise receipts.ReceiptUnknown()
    return Opened(row, report, derived.wrap_key)


def _session_box(secret_key: str) -> SecretBox:
    key = blake2b(secret_key.encode(), person=b"inbox-session", digest_size=32,
                  encoder=receipts._raw)
    return SecretBox(key)


def remember(flask_session: Any, opened: Opened, secret_key: str) -> None:
    sealed = _session_box(secret_key).encrypt(opened.wrap_key)
    flask_session[SESSION_KEY] = {"r": opened.receipt.id, "k": envelope.b64e(bytes(sealed)),
                                  "exp": int(time.time()) + INBOX_MINUTES * 60}


def forget(flask_session: Any) -> None:
    flask_session.pop(SESSION_KEY, None)


def resume(flask_session: Any, session: Session, secret_key: str) -> Opened | None:
    ref = flask_session.get(SESSION_KEY)
    if not isinstance(ref, dict) or int(ref.get("exp", 0)) < time.time():
        forget(flask_session)
        return None
    try:
        wrap_key = _session_box(secret_key).decrypt(envelope.b64d(str(ref["k"])))
    except (CryptoError, envelope.EnvelopeError, KeyError):
        forget(flask_session)
        return None
    row = session.get(Receipt, int(ref["r"]))
    if row is None or row.expires_on < dt.date.today():
        forget(flask_session)
        return None
    report = session.get(Report, row.report_id)
    if report is None:
        return None
    return Opened(row, report, wrap_key)


def messages(opened: Opened) -> list[ShownMessage]:
    """Open each message with the reporter's reply key, in this request's memory only."""
    sk = receipts.unwrap_reply_key(opened.receipt.wrapped_reply_key, opened.wrap_key)
    shown = []
    for msg in opened.report.messages:
        try:
            text = str(envelope.open_envelope(msg.envelope, sk).get("text", ""))
        except envelope.EnvelopeError:
            text = None  # not addressed to her (e.g. a staff-only note)
        shown.append(ShownMessage(msg.direction, msg.sent_on, text))
    return shown


def reply(session: Session, opened: Opened, keyring: Keyring, text: str) -> None:
    """Seal her answer to the case keys and to her own reply key (so she sees the thread)."""
    recipients = [*keyring.recipients(opened.report.province),
                  envelope.b64d(opened.receipt.reply_public_key, 32)]
    env = envelope.seal({"v": 1, "from": "reporter", "text": text}, recipients)
    session.add(Message(report_id=opened.report.id, direction="from_reporter", envelope=env))
    session.commit()
