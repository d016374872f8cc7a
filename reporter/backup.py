"""Backup and restore: `make backup` / `make restore BACKUP=dir` (python -m reporter.backup).

A backup is a folder named by its UTC time, owner-only (0700, files 0600), holding:

- database.dump: pg_dump of the whole database in custom format. What reporters wrote is in
  it only as ciphertext (envelopes, attachments, messages, wrapped keys); in clear it holds the
  routing metadata of DESIGN.md section 4, the published (coarse, displaced) incidents and
  aggregates, the audit log, and the staff accounts (login names, password hashes, TOTP
  secrets);
- keys/: instance/keys without the demo secrets: the receipt pepper and the organisation's
  Ed25519 signing key. Whoever holds the pepper can test guessed receipts offline, and the
  signing key signs evidence bundles: store every backup encrypted and offline;
- MANIFEST.json (SHA-256 of every file; checked before a restore) and README.txt.

The case-key secrets are not in a backup (the server never holds them): staff keep theirs
wrapped under their passphrases (in the database), and the recovery secret is on paper.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess  # noqa: S404 - pg_dump and pg_restore are the tools for the job
import sys
from pathlib import Path
from typing import Any

from flask import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from reporter import pgcluster
from reporter.config import read_environment

EXCLUDED_KEYS = ("demo-secrets.json",)
NOTE = """\
This folder is a backup of a Sisonke reports server, made {when}.

database.dump  pg_dump (custom format). Report contents, attachments and messages are in it
               only as ciphertext; the published incidents and aggregates are public anyway.
               It also holds staff accounts (login names, password hashes, TOTP secrets) and
               the audit log.
keys/          the receipt pepper and the organisation's signing key. These are secrets.

Store this folder ENCRYPTED and OFFLINE (an encrypted disk kept in a safe; never a shared
drive or a cloud folder in clear). Restore with:  make restore BACKUP=<this folder>
"""


class BackupError(RuntimeError):
    """A backup or restore cannot go ahead; the message says why."""


def libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments (and PGPASSWORD) from a SQLAlchemy URL."""
    u = make_url(url)
    args = []
    host = u.query.get("host") or u.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        args += ["-h", str(host)]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    if not u.database:
        raise BackupError("the database URL names no database")
    env = {"PGPASSWORD": u.password} if u.password else {}
    return [*args, "-d", u.database], env


def _tool(name: str) -> str:
    return str(pgcluster.bin_dir() / name)


def _run(args: list[str], extra_env: dict[str, str]) -> None:
    # noqa below: a fixed PostgreSQL tool and arguments built here, never a shell
    res = subprocess.run(args, check=False, capture_output=True, text=True,  # noqa: S603
                         env={**os.environ, **extra_env})
    if res.returncode != 0:
        # pg_* messages name objects, never row data
        raise BackupError(f"{Path(args[0]).name} failed: {res.stderr.strip()[-800:]}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _private_file(path: Path) -> None:
    os.chmod(path, 0o600)


def create(url: str, instance_path: Path, out: Path) -> Path:
    """Write a new backup folder under `out`; return it."""
    when = dt.datetime.now(dt.UTC)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = out / f"reporter-{when:%Y%m%dT%H%M%SZ}"
    folder.mkdir(mode=0o700)
    conn, env = libpq_args(url)
    dump = folder / "database.dump"
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          "--file", str(dump), *conn], env)
    _private_file(dump)
    keys = instance_path / "keys"
    (folder / "keys").mkdir(mode=0o700)
    if keys.is_dir():
        for item in sorted(keys.iterdir()):
            if item.is_file() and item.name not in EXCLUDED_KEYS:
                shutil.copyfile(item, folder / "keys" / item.name)
                _private_file(folder / "keys" / item.name)
    (folder / "README.txt").write_text(NOTE.format(when=f"{when:%Y-%m-%d %H:%M} UTC"))
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "MANIFEST.json")
    manifest = {"created": when.isoformat(timespec="seconds"), "format": 1,
                "files": {str(p.relative_to(folder)): _sha256(p) for p in files}}
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    _private_file(folder / "MANIFEST.json")
    return folder


def check(folder: Path) -> dict[str, Any]:
    """Refuse a backup whose files are missing or changed since it was made."""
    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} has no readable MANIFEST.json") from exc
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{name} is missing or damaged in {folder}")
    if "database.dump" not in manifest.get("files", {}):
        raise BackupError(f"{folder} holds no database dump")
    return manifest


def _empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()
    return not names


def restore(folder: Path, url: str, instance_path: Path, *, replace_keys: bool = False) -> None:
    """Restore into an EMPTY database (created, with PostGIS available) and instance/keys."""
    check(folder)
    if not _empty(url):
        raise BackupError("the target database is not empty; restore into a fresh one")
    keys_dir = instance_path / "keys"
    for item in sorted((folder / "keys").iterdir()):
        target = keys_dir / item.name
        if target.exists() and target.read_bytes() != item.read_bytes() and not replace_keys:
            raise BackupError(f"{target} exists and differs; move it away first "
                              "(or pass --replace-keys)")
    conn, env = libpq_args(url)
    _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", *conn, str(folder / "database.dump")], env)
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for item in sorted((folder / "keys").iterdir()):
        shutil.copyfile(item, keys_dir / item.name)
        _private_file(keys_dir / item.name)


def configured_database(instance: Path) -> str:
    """DATABASE_URL as the app reads it (environment, then instance/config.py), else the
    private cluster's database under `instance` (started if needed)."""
    from_instance = Config(str(instance))
    from_instance.from_pyfile("config.py", silent=True)
    url = read_environment().get("DATABASE_URL") or from_instance.get("DATABASE_URL")
    return str(url) if url else pgcluster.ensure_database(instance)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporter.backup",
                                     description="Back up or restore the database and keys.")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create", help="write a new backup folder")
    make.add_argument("--out", type=Path, help="folder for backups (default instance/backups)")
    back = sub.add_parser("restore", help="restore a backup folder into an empty database")
    back.add_argument("folder", type=Path)
    back.add_argument("--replace-keys", action="store_true")
    args = parser.parse_args(argv)

    instance = Path(os.environ.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    url = configured_database(instance)
    try:
        if args.command == "create":
            folder = create(url, instance, (args.out or instance / "backups").resolve())
            print(f"backup written to {folder}")
            print("It holds secrets (pepper, signing key): store it encrypted and offline.")
        else:
            restore(args.folder.resolve(), url, instance,
                    replace_keys=args.replace_keys)
            print(f"restored {args.folder} into the configured database and {instance}/keys")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
