"""The reporter's inbox: receipt log-in, reading messages, answering.

The receipt never goes into a cookie. After a receipt log-in, the session holds a random
inbox id, the receipt's row id and its wrapping key sealed under a key derived from the
server's secret, valid for INBOX_MINUTES after her last page view. The database holds only the
inbox id's keyed hash and its expiry (no key): "Close my inbox", Quick exit and expiry delete
that row, after which a copy of the cookie opens nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.secret import SecretBox
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reporter.crypto import envelope, receipts
from reporter.domain.enums import Direction
from reporter.models.private import InboxSession, Message, Receipt, Report
from reporter.services.keys import Keyring

SESSION_KEY = "inbox"
INBOX_MINUTES = 15
# what her inbox lists: messages addressed to her, and her own answers; never a staff note
SHOWN_DIRECTIONS: dict[str, str] = {
    Direction.TO_REPORTER: "staff",
    Direction.FROM_REPORTER: "reporter",
}


@dataclass(frozen=True)
class Opened:
    receipt: Receipt
    report: Report
    wrap_key: bytes


@dataclass(frozen=True)
class ShownMessage:
    author: str  # "staff" or "reporter"
    sent_on: dt.date
    text: str


def login(session: Session, text: str, hashing: receipts.Hashing) -> Opened:
    """Raise ReceiptMalformed or ReceiptUnknown; wrong and expired take the same path."""
    receipt_text = receipts.normalise(text)
    derived = receipts.derive(receipt_text, hashing)
    row = session.scalars(
        select(Receipt).where(
            Receipt.lookup_hash == derived.lookup, Receipt.expires_on >= dt.date.today()
        )
    ).first()
    if row is None:
        raise receipts.ReceiptUnknown()
    report = session.get(Report, row.report_id)
    if report is None:
        raise receipts.ReceiptUnknown()
    return Opened(row, report, derived.wrap_key)


def _session_box(secret_key: str) -> SecretBox:
    key = blake2b(
        secret_key.encode(), person=b"inbox-session", digest_size=32, encoder=receipts._raw
    )
    return SecretBox(key)


def _id_hash(inbox_id: str, secret_key: str) -> str:
    key = blake2b(secret_key.encode(), person=b"inbox-id", digest_size=32, encoder=receipts._raw)
    return blake2b(inbox_id.encode(), key=key, digest_size=32).decode()


def _until() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=INBOX_MINUTES)


def remember(flask_session: Any, session: Session, opened: Opened, secret_key: str) -> None:
    """Open her inbox: the key in her cookie, only the session's existence in the database."""
    inbox_id = secrets.token_urlsafe(18)
    session.execute(delete(InboxSession).where(InboxSession.expires_at < dt.datetime.now(dt.UTC)))
    session.add(
        InboxSession(
            id_hash=_id_hash(inbox_id, secret_key),
            receipt_id=opened.receipt.id,
            expires_at=_until(),
        )
    )
    session.commit()
    sealed = _session_box(secret_key).encrypt(opened.wrap_key)
    flask_session[SESSION_KEY] = {
        "i": inbox_id,
        "r": opened.receipt.id,
        "k": envelope.b64e(bytes(sealed)),
        "exp": int(time.time()) + INBOX_MINUTES * 60,
    }


def forget(flask_session: Any, session: Session | None = None, secret_key: str = "") -> None:
    """Close her inbox: the cookie's part, and (given the database) the server's part."""
    ref = flask_session.pop(SESSION_KEY, None)
    if session is not None and isinstance(ref, dict) and isinstance(ref.get("i"), str):
        session.execute(
            delete(InboxSession).where(InboxSession.id_hash == _id_hash(ref["i"], secret_key))
        )
        session.commit()


def resume(flask_session: Any, session: Session, secret_key: str) -> Opened | None:
    """Her open inbox, kept open for INBOX_MINUTES more; None if closed or expired."""
    ref = flask_session.get(SESSION_KEY)
    if (
        not isinstance(ref, dict)
        or int(ref.get("exp", 0)) < time.time()
        or not isinstance(ref.get("i"), str)
    ):
        forget(flask_session)
        return None
    live = session.get(InboxSession, _id_hash(ref["i"], secret_key))
    if live is None or live.expires_at < dt.datetime.now(dt.UTC):
        forget(flask_session, session, secret_key)
        return None
    try:
        wrap_key = _session_box(secret_key).decrypt(envelope.b64d(str(ref["k"])))
    except (CryptoError, envelope.EnvelopeError, KeyError):
        forget(flask_session, session, secret_key)
        return None
    row = session.get(Receipt, int(ref["r"]))
    if row is None or row.id != live.receipt_id or row.expires_on < dt.date.today():
        forget(flask_session, session, secret_key)
        return None
    report = session.get(Report, row.report_id)
    if report is None:
        return None
    live.expires_at = _until()
    session.commit()
    flask_session[SESSION_KEY] = {**ref, "exp": int(time.time()) + INBOX_MINUTES * 60}
    return Opened(row, report, wrap_key)


def messages(opened: Opened) -> list[ShownMessage]:
    """Open each message addressed to her with her reply key, in this request's memory only."""
    sk = receipts.unwrap_reply_key(opened.receipt.wrapped_reply_key, opened.wrap_key)
    shown = []
    for msg in opened.report.messages:
        author = SHOWN_DIRECTIONS.get(msg.direction)
        if author is None:
            continue  # a staff-only note: never listed, not even as "cannot be shown"
        try:
            text = str(envelope.open_envelope(msg.envelope, sk).get("text", ""))
        except envelope.EnvelopeError:
            continue  # not sealed to her key: not hers to see
        shown.append(ShownMessage(author, msg.sent_on, text))
    return shown


def reply_recipients(opened: Opened, keyring: Keyring) -> list[bytes]:
    """Who her answer is sealed to: the case keys of her report, and her own reply key."""
    return [
        *keyring.recipients(opened.report.province),
        envelope.b64d(opened.receipt.reply_public_key, 32),
    ]


def reply(session: Session, opened: Opened, keyring: Keyring, text: str) -> None:
    """Seal her answer here (no-JavaScript path) to the case keys and to her own reply key."""
    env = envelope.seal(
        {"v": 1, "from": "reporter", "text": text}, reply_recipients(opened, keyring)
    )
    store_reply(session, opened, env)


def check_sealed_reply(opened: Opened, keyring: Keyring, raw: str) -> dict[str, Any]:
    """An answer sealed in her browser: well formed and addressed to every required key."""
    import json

    if len(raw) > 200_000:
        raise envelope.EnvelopeInvalid("too large")
    try:
        env = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise envelope.EnvelopeInvalid("not JSON") from exc
    required = [
        *keyring.required_kids(opened.report.province),
        envelope.kid(envelope.b64d(opened.receipt.reply_public_key, 32)),
    ]
    envelope.validate(env, required)
    return env


def store_reply(session: Session, opened: Opened, env: dict[str, Any]) -> None:
    session.add(
        Message(report_id=opened.report.id, direction=Direction.FROM_REPORTER, envelope=env)
    )
    session.commit()
