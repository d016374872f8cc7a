"""The organisation's Ed25519 signing key, which signs export bundles (docs/exports.md).

Kept apart from reporter/services/keys.py, which reads the case keys from the report models:
the export package may load this key without being able to reach anything a reporter wrote
(DESIGN.md section 3). Only the secret's file lives in instance/keys/; the public half is derived.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey


class KeyMissing(RuntimeError):
    """A key the platform needs is not there; run `flask --app wsgi keys init`."""


def signing_key_path(instance_path: Path) -> Path:
    return instance_path / "keys" / "signing.key"


def load_signing_key(instance_path: Path) -> SigningKey:
    """The signing key from instance/keys/signing.key (32 raw bytes), or KeyMissing."""
    path = signing_key_path(instance_path)
    if not path.exists():
        raise KeyMissing("no signing key: run `flask --app wsgi keys init`")
    seed = path.read_bytes()
    if len(seed) != 32:
        raise KeyMissing("the signing key is damaged (expected 32 bytes)")
    return SigningKey(seed)


def public_key_b64(key: VerifyKey) -> str:
    """The public key as published at /.well-known/reporter-signing-key."""
    return base64.b64encode(bytes(key)).decode("ascii")


def parse_public_key(text: str) -> VerifyKey:
    """A public key written as base64 of its 32 bytes (surrounding whitespace ignored)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("the public key is not base64") from exc
    if len(raw) != 32:
        raise ValueError("the public key must be 32 bytes")
    return VerifyKey(raw)


def fingerprint(key: VerifyKey) -> str:
    """SHA-256 of the raw public key in hex, in groups of four, for reading aloud."""
    digest = hashlib.sha256(bytes(key)).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))
