"""TOTP secrets are stored sealed, under a key kept outside the database (issue 13).

A stolen database plus a cracked password must not give a full log-in, so `staff.totp_secret`
holds `v1:` + base64(secretbox(secret)) and never the secret itself. The key is derived from
the receipt pepper (BLAKE2b keyed with it, personalised for this use): the pepper already lives
in the instance secret store (instance/keys/pepper or RECEIPT_PEPPER), every app server shares
it, and backups carry it beside the database. All cryptography is PyNaCl's.

`SealedTotp` is the column type: the models read and write the plain secret, the database only
ever sees the sealed form. A value without the `v1:` prefix is a secret from before this
change; it is still read (and sealed when next written); migration 0007 seals every such row.
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.hash
import nacl.secret
import nacl.utils
from sqlalchemy import LargeBinary, String
from sqlalchemy.types import TypeDecorator

from reporter.crypto.secretfiles import derive_key, pepper

log = logging.getLogger(__name__)
PREFIX = "v1:"
_PERSON = b"reporter-totp-v1"  # 16 bytes: BLAKE2b's personalisation


class TotpSealError(ValueError):
    """A sealed TOTP secret could not be opened (wrong key or altered value)."""


def key_from_pepper(pepper: bytes) -> bytes:
    return derive_key(pepper, b"totp-secret", _PERSON)


def instance_key(instance_path: Path, override: bytes | None = None) -> bytes:
    """`override`: the settings' RECEIPT_PEPPER, when set (else instance/keys/pepper)."""
    return key_from_pepper(pepper(instance_path, override))


def _app_key() -> bytes:
    from flask import current_app

    settings = current_app.extensions["reporter.settings"]
    return instance_key(settings.instance_path, settings.receipt_pepper)


def seal(secret: str, key: bytes) -> str:
    box = nacl.secret.SecretBox(key)
    sealed = box.encrypt(secret.encode(), nacl.utils.random(box.NONCE_SIZE))
    return PREFIX + base64.b64encode(bytes(sealed)).decode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def open_sealed(value: str, key: bytes) -> str:
    if not is_sealed(value):
        return value  # from before sealing (migration 0006 seals these)
    try:
        raw = base64.b64decode(value[len(PREFIX) :], validate=True)
        return nacl.secret.SecretBox(key).decrypt(raw).decode()
    except (binascii.Error, nacl.exceptions.CryptoError, UnicodeDecodeError) as exc:
        raise TotpSealError("the TOTP secret cannot be opened with this server's key") from exc


class SealedTotp(TypeDecorator[str]):
    """A TOTP secret, sealed on its way into the database and opened on its way out."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None or (isinstance(value, str) and is_sealed(value)):
            return value
        return seal(str(value), _app_key())

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        try:
            return open_sealed(str(value), _app_key())
        except TotpSealError:
            # another server's key (a changed pepper): her codes cannot match, so she cannot
            # log in until an admin resets her TOTP; every other page keeps working
            log.error("a TOTP secret cannot be opened with this server's key")
            return None


# --- staff email addresses (issue 17): their own key, derived from the same pepper -----------

_MAIL_PERSON = b"reporter-mail-v1"  # 16 bytes: BLAKE2b's personalisation


def _mail_key() -> bytes:
    from flask import current_app

    settings = current_app.extensions["reporter.settings"]
    return derive_key(
        pepper(settings.instance_path, settings.receipt_pepper), b"staff-email", _MAIL_PERSON
    )


def seal_text(value: str) -> bytes:
    return bytes(nacl.secret.SecretBox(_mail_key()).encrypt(value.encode()))


def open_text(value: bytes) -> str | None:
    try:
        return nacl.secret.SecretBox(_mail_key()).decrypt(value).decode()
    except (nacl.exceptions.CryptoError, UnicodeDecodeError):
        log.error("a staff email address cannot be opened with this server's key")
        return None


class SealedText(TypeDecorator[str]):
    """Text sealed (secretbox) under a key derived from the receipt pepper, like TOTP secrets
    but with its own derived key: used for staff email addresses."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else seal_text(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else open_text(bytes(value))
