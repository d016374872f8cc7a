"""Receipts: 16 random digits, shown once. Stored only as a lookup hash; the reporter's reply
key is wrapped under a key derived from the receipt, so the server can open her inbox only
while she is logged in with it.

One Argon2id per use (receipt + server pepper) gives a 32-byte root; two keyed BLAKE2b
derivations split it into the lookup hash (stored) and the wrapping key (never stored).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

from reporter.crypto import envelope

DIGITS = 16
_NOT_DIGITS = re.compile(r"[\s\-.]")


class ReceiptUnknown(LookupError):
    """No live receipt matches (wrong and expired look exactly alike)."""


class ReceiptMalformed(ValueError):
    """Not 16 digits."""


@dataclass(frozen=True)
class Derived:
    lookup: str
    wrap_key: bytes


@dataclass(frozen=True)
class Hashing:
    pepper: bytes
    time_cost: int
    memory_kib: int


def new_receipt() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def normalise(text: str) -> str:
    digits = _NOT_DIGITS.sub("", text or "")
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        raise ReceiptMalformed("A receipt is 16 digits.")
    return digits


def grouped(receipt: str) -> str:
    return " ".join(receipt[i : i + 4] for i in range(0, DIGITS, 4))


# At most this many Argon2id runs at once per process: with gthread workers every thread could
# otherwise hold 64 MiB at the same moment (3 workers x 8 threads = 1.5 GiB); the two cores
# cannot run more than two anyway, so the others wait a few milliseconds instead.
_ARGON2_AT_ONCE = threading.BoundedSemaphore(2)


def derive(receipt: str, h: Hashing) -> Derived:
    with _ARGON2_AT_ONCE:
        root = hash_secret_raw(
            receipt.encode(),
            h.pepper,
            time_cost=h.time_cost,
            memory_cost=h.memory_kib,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        )
    lookup = blake2b(b"", key=root, person=b"receipt-lookup", encoder=_raw).hex()
    wrap = blake2b(b"", key=root, person=b"receipt-wrapkey", digest_size=32, encoder=_raw)
    return Derived(lookup, wrap)


_raw = RawEncoder  # nacl encoder that returns bytes unchanged


@dataclass(frozen=True)
class ReplyKey:
    public_key: str
    wrapped: dict[str, str]


def new_reply_key(wrap_key: bytes) -> ReplyKey:
    sk = PrivateKey.generate()
    nonce = random_bytes(SecretBox.NONCE_SIZE)
    ct = SecretBox(wrap_key).encrypt(bytes(sk), nonce).ciphertext
    return ReplyKey(
        envelope.b64e(bytes(sk.public_key)),
        {"nonce": envelope.b64e(nonce), "ct": envelope.b64e(ct)},
    )


def unwrap_reply_key(wrapped: dict[str, str], wrap_key: bytes) -> bytes:
    return SecretBox(wrap_key).decrypt(
        envelope.b64d(wrapped["ct"]), envelope.b64d(wrapped["nonce"], 24)
    )


def expiry(days: int, today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()) + dt.timedelta(days=days)
