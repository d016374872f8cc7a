"""Keys: the case keys (national, one per province), the offline recovery key, the receipt
pepper and the organisation's Ed25519 signing key.

The server holds only public halves of case keys. `keys init` seals each case-key secret to the
recovery key alone (so only the holder of the paper recovery secret, or staff granted a key in
their browser, can open reports) and prints the recovery secret once. In demo mode only, the
secrets are also written to instance/keys/demo-secrets.json so the demo can be explored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.crypto.secretfiles import keys_dir, pepper
from reporter.crypto.secretfiles import write_secret as _write_secret
from reporter.crypto.signing import KeyMissing
from reporter.domain.enums import KeyScope
from reporter.domain.vocabulary import PROVINCES
from reporter.models.private import CaseKey

# KeyMissing lives in reporter/crypto/signing.py so that reporter/export can load the signing key
# without importing the report models; it is re-exported here for everything else.
__all__ = [
    "KeyMissing",
    "Keyring",
    "PublicKey",
    "backup_public_key",
    "init_backup_key",
    "init_keys",
    "keys_dir",
    "load_keyring",
    "pepper",
]

NATIONAL = KeyScope.NATIONAL
RECOVERY = KeyScope.RECOVERY


@dataclass(frozen=True)
class PublicKey:
    scope: str
    kid: str
    pk: bytes

    def as_json(self) -> dict[str, str]:
        return {"kid": self.kid, "pk": envelope.b64e(self.pk)}


@dataclass(frozen=True)
class Keyring:
    """The active public keys; complete by construction (every province, national, recovery)."""

    national: PublicKey
    recovery: PublicKey
    provinces: dict[str, PublicKey]

    def __post_init__(self) -> None:
        missing = sorted(set(PROVINCES) - set(self.provinces))
        if missing:
            raise KeyMissing(f"no case key for province(s) {', '.join(missing)}")
        for key in (self.national, self.recovery, *self.provinces.values()):
            if len(key.pk) != 32 or envelope.kid(key.pk) != key.kid:
                raise KeyMissing(f"the {key.scope} key is damaged")

    def recipients(self, province: str) -> list[bytes]:
        """Every report is sealed to the national key, its province's key and the recovery key."""
        return [self.national.pk, self.provinces[province].pk, self.recovery.pk]

    def required_kids(self, province: str) -> set[str]:
        return {self.national.kid, self.provinces[province].kid, self.recovery.kid}

    def as_json(self) -> dict[str, object]:
        return {
            "v": 1,
            "national": self.national.as_json(),
            "recovery": self.recovery.as_json(),
            "provinces": {code: key.as_json() for code, key in sorted(self.provinces.items())},
        }


def load_keyring(session: Session) -> Keyring:
    rows = session.scalars(select(CaseKey).where(CaseKey.active.is_(True))).all()
    by_scope = {
        row.scope: PublicKey(row.scope, row.kid, envelope.b64d(row.public_key, 32)) for row in rows
    }
    if NATIONAL not in by_scope or RECOVERY not in by_scope:
        raise KeyMissing("no national or recovery key: run `flask --app wsgi keys init`")
    return Keyring(
        by_scope[NATIONAL],
        by_scope[RECOVERY],
        {code: by_scope[code] for code in PROVINCES if code in by_scope},
    )


BACKUP_PUBLIC = "backup.pub"


def backup_public_key(instance_path: Path) -> bytes:
    """The offline backup key's public half (instance/keys/backup.pub, base64): every backup
    is sealed to it (reporter/ops/backup.py). Its secret is printed once and kept offline."""
    path = keys_dir(instance_path) / BACKUP_PUBLIC
    if not path.exists():
        raise KeyMissing(
            "no backup key: run `flask --app wsgi keys backup-init` and keep the "
            "secret it prints offline"
        )
    try:
        return envelope.b64d(path.read_text().strip(), 32)
    except envelope.EnvelopeError as exc:
        raise KeyMissing(f"{path} is damaged") from exc


def init_backup_key(instance_path: Path, *, replace: bool = False) -> bytes:
    """Make the offline backup key pair; store only the public half; return the secret (to be
    printed once, never stored). Refuses to replace an existing key unless `replace`."""
    path = keys_dir(instance_path) / BACKUP_PUBLIC
    if path.exists() and not replace:
        raise KeyMissing(
            f"a backup key exists already ({path}); pass --replace to make a new "
            "one (older backups still need the old secret)"
        )
    sk = PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(envelope.b64e(bytes(sk.public_key)) + "\n")
    os.chmod(tmp, 0o644)
    tmp.replace(path)
    return bytes(sk)


@dataclass(frozen=True)
class InitResult:
    recovery_secret: bytes
    case_secrets: dict[str, bytes]  # scope -> secret; returned to the caller, never stored
    backup_secret: bytes | None = None  # None when a backup key existed already


def init_keys(session: Session, instance_path: Path, *, demo: bool = False) -> InitResult:
    """Create every key that is missing. Existing keys are never replaced (use rotation)."""
    existing = {row.scope for row in session.scalars(select(CaseKey)).all()}
    if existing:
        raise KeyMissing("keys already exist; refusing to replace them")
    recovery = PrivateKey.generate()
    recovery_pk = bytes(recovery.public_key)
    session.add(
        CaseKey(
            scope=RECOVERY, kid=envelope.kid(recovery_pk), public_key=envelope.b64e(recovery_pk)
        )
    )
    case_secrets: dict[str, bytes] = {}
    for scope in (NATIONAL, *PROVINCES):
        sk = PrivateKey.generate()
        pk = bytes(sk.public_key)
        case_secrets[scope] = bytes(sk)
        sealed = envelope.seal({"scope": scope, "sk": envelope.b64e(bytes(sk))}, [recovery_pk])
        session.add(
            CaseKey(
                scope=scope,
                kid=envelope.kid(pk),
                public_key=envelope.b64e(pk),
                sealed_secret=sealed,
            )
        )
    session.commit()

    folder = keys_dir(instance_path)
    if not (folder / "pepper").exists():
        _write_secret(folder / "pepper", os.urandom(32))
    if not (folder / "signing.key").exists():
        _write_secret(folder / "signing.key", bytes(SigningKey.generate()))
    backup_secret = None if (folder / BACKUP_PUBLIC).exists() else init_backup_key(instance_path)
    if demo:
        secrets_doc = {scope: envelope.b64e(sk) for scope, sk in case_secrets.items()}
        secrets_doc[RECOVERY] = envelope.b64e(bytes(recovery))
        if backup_secret:
            secrets_doc["backup"] = envelope.b64e(backup_secret)
        _write_secret(folder / "demo-secrets.json", json.dumps(secrets_doc, indent=1).encode())
    return InitResult(bytes(recovery), case_secrets, backup_secret)


def demo_secrets(instance_path: Path) -> dict[str, bytes]:
    path = keys_dir(instance_path) / "demo-secrets.json"
    if not path.exists():
        raise KeyMissing("no demo secrets (demo mode only)")
    return {k: envelope.b64d(v, 32) for k, v in json.loads(path.read_text()).items()}
