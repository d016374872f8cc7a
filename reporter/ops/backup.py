"""Backup and restore: `make backup` / `make restore BACKUP=dir` (python -m reporter.ops.backup).

Every backup is sealed to the offline backup key (issue 13): `keys init` (or, for a deployment
made before this, `keys backup-init`) prints its secret once and keeps only the public half in
instance/keys/backup.pub. Nothing secret is ever written to disk in clear: pg_dump's output is
streamed into the sealer and pg_restore is fed from the opener.

A backup is a folder named by its UTC time, owner-only (0700, files 0600), holding:

- dump-NNNN.sealed: the pg_dump (custom format) of the whole database, in segments of at most
  32 MiB, each sealed like an attachment (reporter.crypto.envelope.AttachmentSealer: a fresh content
  key per segment wrapped to the backup key, 1 MiB authenticated chunks, the last one marked).
  Each file is one line of header JSON, then the sealed body;
- index.sealed.json: a report envelope (reporter.crypto.envelope.seal) to the backup key holding the
  instance keys (the receipt pepper, the Ed25519 signing key, the backup public key; never the
  demo secrets), the segments in order with each header's key commitment (so a segment cannot
  be dropped, reordered or swapped for one of another backup) and the dump's SHA-256;
- MANIFEST.json (clear: format, time, the backup key's kid, SHA-256 of every file, so damage is
  found before the secret is asked for) and README.txt.

What a backup holds once opened: report contents, files and messages only as ciphertext (the
case-key secrets are never on the server); the routing metadata of DESIGN.md section 4, the
published aggregates, the audit log, staff accounts (login names, Argon2id password hashes,
TOTP secrets sealed under a key derived from the pepper), the pepper and the signing key.
Without the backup secret it holds none of these in clear.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import json
import os
import shutil
import subprocess  # noqa: S404 - pg_dump and pg_restore are the tools for the job
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from flask import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from reporter.config import read_environment, receipt_pepper
from reporter.crypto import envelope
from reporter.ops import pgcluster
from reporter.services import keys

FORMAT = 2
SEGMENT_BYTES = 32 << 20
CHUNK_BYTES = 1 << 20
INDEX = "index.sealed.json"
EXCLUDED_KEYS = ("demo-secrets.json",)
NOTE = """\
This folder is a backup of a Sisonke reports server, made {when}.

It is SEALED to the organisation's offline backup key (kid {kid}): without that key's secret,
printed once by `flask --app wsgi keys init` or `keys backup-init` and kept offline, nothing in
it can be read. Once opened it holds the database (report contents only as ciphertext; staff
accounts, password hashes, the audit log) and the receipt pepper and signing key.

dump-*.sealed       the database (pg_dump, custom format), sealed in segments
index.sealed.json   the instance keys and the list of segments, sealed
MANIFEST.json       SHA-256 of every file (checked before the secret is asked for)

Keep it offline, apart from the backup secret and the paper recovery key. Restore with:
    make restore BACKUP=<this folder>        (asks for the backup secret, or reads
                                              BACKUP_SECRET_FILE / BACKUP_SECRET)
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


def _failed(name: str, stderr: IO[bytes]) -> BackupError:
    stderr.seek(0)
    # pg_* messages name objects, never row data
    text = stderr.read().decode(errors="replace").strip()[-800:]
    return BackupError(f"{name} failed: {text}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _private_file(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _instance_keys(instance_path: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    folder = keys.keys_dir(instance_path)
    if folder.is_dir():
        for item in sorted(folder.iterdir()):
            if item.is_file() and item.name not in EXCLUDED_KEYS and item.suffix != ".tmp":
                found[item.name] = item.read_bytes()
    env_pepper = receipt_pepper(read_environment().get("RECEIPT_PEPPER"))
    if env_pepper and "pepper" not in found:
        found["pepper"] = env_pepper  # restored as a file; either works
    return found


class _SegmentWriter:
    """Seal a byte stream into dump-NNNN.sealed files of at most SEGMENT_BYTES of plaintext."""

    def __init__(self, folder: Path, pk: bytes, segment_bytes: int) -> None:
        self.folder, self.pk, self.limit = folder, pk, segment_bytes
        self.segments: list[dict[str, str]] = []
        self.digest = hashlib.sha256()
        self._fh: IO[bytes] | None = None
        self._sealer: envelope.AttachmentSealer | None = None
        self._used = 0

    def _open(self) -> None:
        name = f"dump-{len(self.segments):04d}.sealed"
        self._sealer = envelope.AttachmentSealer([self.pk], CHUNK_BYTES)
        header = self._sealer.header()
        self._fh = _private_file(self.folder / name)
        self._fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        self.segments.append({"file": name, "kc": header["kc"]})
        self._used = 0

    def _close(self) -> None:
        assert self._fh is not None and self._sealer is not None
        self._fh.write(self._sealer.finish())
        self._fh.close()
        self._fh, self._sealer = None, None

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        view = memoryview(data)
        while view:
            if self._sealer is None:
                self._open()
            assert self._sealer is not None and self._fh is not None
            take = min(len(view), self.limit - self._used)
            self._fh.write(self._sealer.update(bytes(view[:take])))
            self._used += take
            view = view[take:]
            if self._used >= self.limit:
                self._close()

    def finish(self) -> None:
        if self._sealer is None and not self.segments:
            self._open()
        if self._sealer is not None:
            self._close()


def create(url: str, instance_path: Path, out: Path, *, segment_bytes: int = SEGMENT_BYTES) -> Path:
    """Write a new sealed backup folder under `out`; return it."""
    try:
        pk = keys.backup_public_key(instance_path)
    except keys.KeyMissing as exc:
        raise BackupError(str(exc)) from exc
    when = dt.datetime.now(dt.UTC)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = out / f"reporter-{when:%Y%m%dT%H%M%SZ}"
    folder.mkdir(mode=0o700)
    conn, env = libpq_args(url)
    writer = _SegmentWriter(folder, pk, segment_bytes)
    with tempfile.TemporaryFile() as errors:
        # noqa below: a fixed PostgreSQL tool and arguments built here, never a shell
        proc = subprocess.Popen(  # noqa: S603
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", *conn],
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, **env},
        )
        assert proc.stdout is not None
        for block in iter(lambda: proc.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
            writer.write(block)
        proc.stdout.close()
        if proc.wait() != 0:
            shutil.rmtree(folder)
            raise _failed("pg_dump", errors)
    writer.finish()
    index = {
        "format": FORMAT,
        "created": when.isoformat(timespec="seconds"),
        "keys": {name: envelope.b64e(data) for name, data in _instance_keys(instance_path).items()},
        "segments": writer.segments,
        "dump_sha256": writer.digest.hexdigest(),
    }
    with _private_file(folder / INDEX) as fh:
        fh.write(json.dumps(envelope.seal(index, [pk])).encode())
    with _private_file(folder / "README.txt") as fh:
        fh.write(NOTE.format(when=f"{when:%Y-%m-%d %H:%M} UTC", kid=envelope.kid(pk)).encode())
    files = sorted(p for p in folder.iterdir() if p.is_file())
    manifest = {
        "created": when.isoformat(timespec="seconds"),
        "format": FORMAT,
        "backup_kid": envelope.kid(pk),
        "files": {p.name: _sha256(p) for p in files},
    }
    with _private_file(folder / "MANIFEST.json") as fh:
        fh.write(json.dumps(manifest, indent=1, sort_keys=True).encode())
    return folder


def check(folder: Path) -> dict[str, Any]:
    """Refuse a backup whose files are missing or changed since it was made (no secret
    needed; the sealed files are authenticated again when opened)."""
    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} has no readable MANIFEST.json") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{folder} is not a sealed backup of format {FORMAT}; an older "
            "backup folder is plain pg_dump output (pg_restore it by hand)"
        )
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{name} is missing or damaged in {folder}")
    if INDEX not in manifest.get("files", {}):
        raise BackupError(f"{folder} holds no sealed index")
    return manifest


def open_index(folder: Path, secret: bytes) -> dict[str, Any]:
    """Open the sealed index with the backup secret; refuse a wrong secret plainly."""
    check(folder)
    try:
        env = json.loads((folder / INDEX).read_text())
        index = envelope.open_envelope(env, secret)
    except envelope.NotARecipient as exc:
        raise BackupError("the backup secret does not open this backup") from exc
    except (ValueError, OSError) as exc:
        raise BackupError(f"{INDEX} is damaged: {exc}") from exc
    if index.get("format") != FORMAT or not index.get("segments"):
        raise BackupError(f"{INDEX} is not a backup index")
    return index


def _segments(folder: Path, index: dict[str, Any], secret: bytes) -> Iterator[bytes]:
    for seg in index["segments"]:
        path = folder / Path(str(seg["file"])).name
        try:
            raw = path.read_bytes()
            line, _, body = raw.partition(b"\n")
            header = json.loads(line)
        except (OSError, ValueError) as exc:
            raise BackupError(f"{path.name} is missing or damaged") from exc
        if not isinstance(header, dict) or header.get("kc") != seg["kc"]:
            raise BackupError(f"{path.name} does not belong to this backup")
        try:
            yield envelope.open_attachment(header, body, secret)
        except envelope.EnvelopeError as exc:
            raise BackupError(f"{path.name} is damaged: {exc}") from exc


def verify(folder: Path, secret: bytes) -> dict[str, Any]:
    """Open every part of a backup without restoring it; return the index."""
    index = open_index(folder, secret)
    digest = hashlib.sha256()
    for plain in _segments(folder, index, secret):
        digest.update(plain)
    if digest.hexdigest() != index["dump_sha256"]:
        raise BackupError("the database dump does not match its digest in the index")
    return index


def _empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()
    return not names


def restore(
    folder: Path, url: str, instance_path: Path, *, secret: bytes, replace_keys: bool = False
) -> None:
    """Restore into an EMPTY database (created, with PostGIS available) and instance/keys.
    Every segment is opened and checked before pg_restore starts."""
    index = verify(folder, secret)
    saved = {name: envelope.b64d(value) for name, value in index["keys"].items()}
    keys_dir = keys.keys_dir(instance_path)
    for name, data in saved.items():
        target = keys_dir / Path(name).name
        if target.exists() and target.read_bytes() != data and not replace_keys:
            raise BackupError(
                f"{target} exists and differs; move it away first (or pass --replace-keys)"
            )
    if not _empty(url):
        raise BackupError("the target database is not empty; restore into a fresh one")
    conn, env = libpq_args(url)
    with tempfile.TemporaryFile() as errors:
        # noqa below: a fixed PostgreSQL tool and arguments built here, never a shell
        proc = subprocess.Popen(  # noqa: S603
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                *conn,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={**os.environ, **env},
        )
        assert proc.stdin is not None
        try:
            for plain in _segments(folder, index, secret):
                proc.stdin.write(plain)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()  # nothing is committed: --single-transaction
            proc.wait()
            raise
        if proc.wait() != 0:
            raise _failed("pg_restore", errors)
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, data in saved.items():
        target = keys_dir / Path(name).name
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        with _private_file(tmp) as fh:
            fh.write(data)
        tmp.replace(target)


def configured_database(instance: Path) -> str:
    """DATABASE_URL as the app reads it (environment, then instance/config.py), else the
    private cluster's database under `instance` (started if needed)."""
    from_instance = Config(str(instance))
    from_instance.from_pyfile("config.py", silent=True)
    url = read_environment().get("DATABASE_URL") or from_instance.get("DATABASE_URL")
    return str(url) if url else pgcluster.ensure_database(instance)


def read_secret(secret_file: Path | None) -> bytes:
    """The backup secret: --secret-file, BACKUP_SECRET_FILE, BACKUP_SECRET, or a hidden
    prompt when a terminal is attached."""
    path = secret_file or (
        Path(os.environ["BACKUP_SECRET_FILE"]) if os.environ.get("BACKUP_SECRET_FILE") else None
    )
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise BackupError(f"cannot read the backup secret from {path}") from exc
    elif os.environ.get("BACKUP_SECRET"):
        text = os.environ["BACKUP_SECRET"]
    elif sys.stdin.isatty():
        text = getpass.getpass("Backup secret (printed by `keys init` / `keys backup-init`): ")
    else:
        raise BackupError(
            "no backup secret: type it at the prompt, or set BACKUP_SECRET_FILE or BACKUP_SECRET"
        )
    try:
        return envelope.b64d(text.strip(), 32)
    except envelope.EnvelopeError as exc:
        raise BackupError("that is not a backup secret (44 characters of base64)") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reporter.ops.backup",
        description="Back up or restore the database and keys.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create", help="write a new sealed backup folder")
    make.add_argument("--out", type=Path, help="folder for backups (default instance/backups)")
    back = sub.add_parser("restore", help="restore a backup folder into an empty database")
    back.add_argument("folder", type=Path)
    back.add_argument("--replace-keys", action="store_true")
    back.add_argument("--secret-file", type=Path)
    test = sub.add_parser("verify", help="open every part of a backup without restoring it")
    test.add_argument("folder", type=Path)
    test.add_argument("--secret-file", type=Path)
    args = parser.parse_args(argv)

    instance = Path(os.environ.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    try:
        if args.command == "create":
            url = configured_database(instance)
            folder = create(url, instance, (args.out or instance / "backups").resolve())
            print(f"backup written to {folder}")
            print("It is sealed to the offline backup key; restoring needs that key's secret.")
        elif args.command == "verify":
            index = verify(args.folder.resolve(), read_secret(args.secret_file))
            print(
                f"backup {args.folder} opens: {len(index['segments'])} segment(s), "
                f"keys {', '.join(sorted(index['keys']))}"
            )
        else:
            secret = read_secret(args.secret_file)
            url = configured_database(instance)
            restore(
                args.folder.resolve(), url, instance, secret=secret, replace_keys=args.replace_keys
            )
            print(f"restored {args.folder} into the configured database and {instance}/keys")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
