"""The instance's secret files (instance/keys/) and the keys derived from them.

File reads and writes only, no Flask and no database: the models (sealed columns), the
services and the operations all read the receipt pepper through here. Every server-side key
that is derived from a secret goes through `derive_key` (BLAKE2b keyed with the secret,
personalised per use, PyNaCl), so each use gets its own key and none is written twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import nacl.hash
from nacl.encoding import RawEncoder

from reporter.crypto.signing import KeyMissing

_DERIVED: dict[tuple[bytes, bytes, bytes], bytes] = {}


def keys_dir(instance_path: Path) -> Path:
    return instance_path / "keys"


def write_secret(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (0600, in a 0700 folder)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def pepper(instance_path: Path, override: bytes | None = None) -> bytes:
    """The receipt pepper: `override` (the settings' RECEIPT_PEPPER, read and checked by
    reporter.config), else instance/keys/pepper."""
    if override is not None:
        value = override
    else:
        path = keys_dir(instance_path) / "pepper"
        if not path.exists():
            raise KeyMissing("no receipt pepper: run `flask --app wsgi keys init`")
        value = path.read_bytes()
    if len(value) < 16:
        raise KeyMissing("the receipt pepper is too short")
    return value


def derive_key(secret: bytes, label: bytes, person: bytes) -> bytes:
    """A 32-byte key for one use (`person`, 16 bytes at most) derived from `secret`."""
    slot = (secret, label, person)
    if slot not in _DERIVED:
        _DERIVED[slot] = nacl.hash.blake2b(
            label, key=secret[:64], person=person, digest_size=32, encoder=RawEncoder
        )
    return _DERIVED[slot]
