"""Single-use report forms, and the receipt shown again after a reload.

A form id is random, carries the hour it was issued and a MAC under the server's secret, so
showing the form stores nothing (no database write per page view, nothing to flood). When a
report is accepted, the form id's keyed hash is stored in the same transaction as the report,
with the receipt sealed under a key derived from the form id itself. A second post of the same
form (a double tap, a resend after the network dropped, Back and Send again) then gets the same
receipt back instead of making a second report, even when both posts arrive together: the
second one waits on the unique hash until the first commits.

The sealed receipt is wiped RECEIPT_SHOWN_MINUTES after the report arrived; the hash alone stays
until the form id expires (FORM_HOURS after the hour it was issued), so a resend after that
says "already received" without a receipt. No row says which report a form id made.

After acceptance the receipt is kept for the same few minutes in her session cookie, sealed
under a key only the server holds, so the receipt page survives a reload (Android reloads a
tab when she switches to Contacts to save the number). "I have written it down" drops it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Any

from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.secret import SecretBox
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.models.private import IntakeToken

FORM_HOURS = 24
RECEIPT_SHOWN_MINUTES = 10
SHOWN_KEY = "shown"


class FormTokenInvalid(ValueError):
    """Not a form id we issued, or too old."""


class AlreadyAccepted(Exception):
    """This form was accepted before; `receipt` is set while it may still be shown."""

    def __init__(self, shown: Shown | None) -> None:
        super().__init__("form already accepted")
        self.shown = shown


@dataclass(frozen=True)
class Shown:
    receipt: str
    channel: str
    files: int


def _key(secret_key: str, purpose: bytes) -> bytes:
    return blake2b(secret_key.encode(), person=purpose, digest_size=32, encoder=RawEncoder)


def _mac(key: bytes, data: bytes) -> bytes:
    return blake2b(data, key=key, digest_size=16, encoder=RawEncoder)


def _hour(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // 3600)


class FormTokens:
    """Issue and check form ids; seal and open what a form id made."""

    def __init__(self, secret_key: str) -> None:
        self._mac_key = _key(secret_key, b"form-id-mac")
        self._hash_key = _key(secret_key, b"form-id-hash")
        self._seal_key = _key(secret_key, b"form-id-seal")
        self._shown = SecretBox(_key(secret_key, b"receipt-shown"))

    def issue(self) -> str:
        body = secrets.token_bytes(16) + struct.pack(">I", _hour())
        return envelope.b64e(body + _mac(self._mac_key, body))

    def check(self, token: str) -> str:
        """Return the token if we issued it within FORM_HOURS, else raise FormTokenInvalid."""
        try:
            raw = envelope.b64d(token or "", 36)
        except envelope.EnvelopeError as exc:
            raise FormTokenInvalid() from exc
        body, mac = raw[:20], raw[20:]
        if not secrets.compare_digest(mac, _mac(self._mac_key, body)):
            raise FormTokenInvalid()
        issued = struct.unpack(">I", body[16:20])[0]
        if not 0 <= _hour() - issued <= FORM_HOURS:
            raise FormTokenInvalid()
        return token

    def expires_at(self, token: str) -> dt.datetime:
        """The hour after which the form id is refused anyway (not when it was sent)."""
        issued = struct.unpack(">I", envelope.b64d(token, 36)[16:20])[0]
        return dt.datetime.fromtimestamp((issued + FORM_HOURS + 1) * 3600, dt.UTC)

    def lookup(self, token: str) -> str:
        return blake2b(token.encode(), key=self._hash_key, digest_size=32).decode()

    def _box(self, token: str) -> SecretBox:
        return SecretBox(
            blake2b(token.encode(), key=self._seal_key, digest_size=32, encoder=RawEncoder)
        )

    def row(self, token: str, shown: Shown) -> IntakeToken:
        blob = json.dumps({"r": shown.receipt, "ch": shown.channel, "n": shown.files}).encode()
        return IntakeToken(
            token_hash=self.lookup(token),
            sealed_receipt=bytes(self._box(token).encrypt(blob)),
            receipt_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=RECEIPT_SHOWN_MINUTES),
            expires_at=self.expires_at(token),
        )

    def open_row(self, token: str, row: IntakeToken) -> Shown | None:
        if row.sealed_receipt is None or row.receipt_until < dt.datetime.now(dt.UTC):
            return None
        try:
            data = json.loads(self._box(token).decrypt(row.sealed_receipt))
        except (CryptoError, ValueError):
            return None
        return Shown(str(data["r"]), str(data["ch"]), int(data["n"]))

    # the receipt kept in her session for a reload
    def remember(self, flask_session: Any, shown: Shown) -> None:
        blob = json.dumps(
            {
                "r": shown.receipt,
                "ch": shown.channel,
                "n": shown.files,
                "exp": int(time.time()) + RECEIPT_SHOWN_MINUTES * 60,
            }
        ).encode()
        flask_session[SHOWN_KEY] = envelope.b64e(bytes(self._shown.encrypt(blob)))

    def recall(self, flask_session: Any) -> Shown | None:
        sealed = flask_session.get(SHOWN_KEY)
        if not isinstance(sealed, str):
            return None
        try:
            data = json.loads(self._shown.decrypt(envelope.b64d(sealed)))
        except (CryptoError, ValueError, envelope.EnvelopeError):
            flask_session.pop(SHOWN_KEY, None)
            return None
        if int(data.get("exp", 0)) < time.time():
            flask_session.pop(SHOWN_KEY, None)
            return None
        return Shown(str(data["r"]), str(data["ch"]), int(data["n"]))


def tidy(session: Session) -> None:
    """Wipe receipts past their few minutes and forget expired form ids (cheap, indexed)."""
    now = dt.datetime.now(dt.UTC)
    session.execute(
        update(IntakeToken)
        .where(IntakeToken.receipt_until < now, IntakeToken.sealed_receipt.is_not(None))
        .values(sealed_receipt=None)
    )
    session.execute(delete(IntakeToken).where(IntakeToken.expires_at < now))
