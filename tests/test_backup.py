"""Backup and restore (issues 7 and 13): every backup is sealed to the offline backup key; no
secret of the server is in its files in clear; restored with that key's secret into a fresh
database it still opens its reports with a staff member's key, and its receipts still work.

Cost: about 50 s (several pg_dump, fresh databases and pg_restore runs, `make restore`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import CaseKey, KeyGrant, Report
from reporter.models.staff import Staff
from reporter.ops import backup, pgcluster
from reporter.services import keys
from tests.conftest import fresh_database, make_app
from tests.support.intake import hidden, receipt_of, submit_plain
from tests.support.staff import PASSPHRASE, grant, make_staff

SENTINEL = "BACKUP-SENTINEL-7f3a"
TOTP_SENTINEL = "JBSWY3DPEHPKBACKUPSENTINELTOTP22"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def instance(app: Flask, tmp_path: Path) -> Path:
    """A copy of the app's instance/keys with a backup key of its own, plus demo secrets that
    must never be backed up. The backup secret is kept beside it for the test."""
    folder = tmp_path / "instance"
    shutil.copytree(app.extensions["reporter.settings"].instance_path / "keys", folder / "keys")
    (folder / "keys" / "demo-secrets.json").write_text('{"national": "not for backups"}')
    secret = keys.init_backup_key(folder, replace=True)
    (tmp_path / "backup-secret").write_text(envelope.b64e(secret) + "\n")
    return folder


def _secret(tmp_path: Path) -> bytes:
    return envelope.b64d((tmp_path / "backup-secret").read_text().strip(), 32)


def _forms(data: bytes) -> list[bytes]:
    """A secret as it could appear in a file: raw, hex, base64, base32 without padding."""
    return [data, data.hex().encode(), base64.b64encode(data), base64.b32encode(data).rstrip(b"=")]


def test_a_sealed_backup_holds_no_secret_in_clear_and_restores_for_a_staff_key(
    app: Flask,
    client: FlaskClient,
    database_url: str,
    cluster: Path,
    instance: Path,
    tmp_path: Path,
) -> None:
    # Given a stored report with a file, its receipt, and a moderator holding Gauteng's key
    # whose TOTP secret is a sentinel
    receipt = receipt_of(
        submit_plain(
            client,
            f"{SENTINEL} they took my phone",
            files=[(b"%PDF-1.4 " + SENTINEL.encode(), "slip.pdf", "application/pdf")],
        )
    )
    member = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, member, "GP")
    with app.app_context():
        sess = db.session()
        staff = sess.get(Staff, member.id)
        assert staff is not None
        staff.totp_secret = TOTP_SENTINEL
        sess.commit()
        password_hash = staff.password_hash
    pepper = (instance / "keys" / "pepper").read_bytes()
    signing = (instance / "keys" / "signing.key").read_bytes()
    # every secret in instance/keys (pepper, signing key, and any other kept there)
    secrets = [
        p.read_bytes()
        for p in (instance / "keys").iterdir()
        if p.name not in ("backup.pub", "demo-secrets.json")
    ]

    # When the operator makes a backup
    folder = backup.create(database_url, instance, tmp_path / "backups", segment_bytes=4096)

    # Then it is private, checked, sealed in several segments, and names no plain dump
    assert folder.stat().st_mode & 0o777 == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert "database.dump" not in names and "keys" not in names
    assert backup.INDEX in names and len([n for n in names if n.startswith("dump-")]) > 1
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert "SEALED" in (folder / "README.txt").read_text()
    manifest = backup.check(folder)
    assert manifest["backup_kid"] == envelope.kid(keys.backup_public_key(instance))
    # and no byte of any file gives a secret, a password hash, the TOTP sentinel or the
    # report in clear (nor the dump's own SQL text)
    blob = b"".join(p.read_bytes() for p in folder.iterdir())
    needles = [
        *(form for s in secrets for form in _forms(s)),
        password_hash.encode(),
        TOTP_SENTINEL.encode(),
        SENTINEL.encode(),
        b"CREATE TABLE",
        b"PGDMP",
        b"not for backups",
    ]
    for needle in needles:
        assert needle not in blob, needle[:24]

    # and the wrong secret opens nothing
    with pytest.raises(backup.BackupError, match="does not open"):
        backup.restore(folder, database_url, tmp_path / "x", secret=bytes(32))

    # When it is restored with the backup secret into a fresh database and instance folder
    name, fresh_url = fresh_database(cluster)
    restored_instance = tmp_path / "restored"
    try:
        backup.restore(folder, fresh_url, restored_instance, secret=_secret(tmp_path))

        # Then the instance keys are back, without the demo secrets
        back = {p.name: p.read_bytes() for p in (restored_instance / "keys").iterdir()}
        assert {"backup.pub", "pepper", "signing.key"} <= set(back)
        assert "demo-secrets.json" not in back
        assert back == {
            p.name: p.read_bytes()
            for p in (instance / "keys").iterdir()
            if p.name != "demo-secrets.json"
        }
        assert back["pepper"] == pepper and back["signing.key"] == signing

        # and the moderator's own key (unwrapped with her passphrase from the restored row)
        # opens her grant, whose case key opens the report and its file
        engine = create_engine(fresh_url)
        try:
            with Session(engine) as s:
                # (columns only: the TOTP column opens through the app's pepper, read below)
                wrap = s.scalars(
                    select(Staff.wrapped_secret_key).where(Staff.id == member.id)
                ).one()
                assert wrap is not None
                sk = envelope.unwrap_secret_key(wrap, PASSPHRASE)
                sealed = s.scalars(
                    select(KeyGrant.sealed_key)
                    .join(CaseKey)
                    .where(KeyGrant.staff_id == member.id, CaseKey.scope == "GP")
                ).one()
                case_sk = envelope.b64d(envelope.open_envelope(sealed, sk)["sk"], 32)
                report = s.scalars(select(Report)).one()
                assert report.province == "GP"
                payload = envelope.open_envelope(report.envelope, case_sk)
                assert payload["narrative"].startswith(SENTINEL)
                att = report.attachments[0]
                assert envelope.open_attachment(att.header, att.body, case_sk).endswith(
                    SENTINEL.encode()
                )
                # the TOTP secret is still sealed in the restored row, and opens with the
                # restored pepper
                raw = s.execute(
                    text("SELECT totp_secret FROM staff WHERE id = :i"), {"i": member.id}
                ).scalar_one()
                assert TOTP_SENTINEL not in raw
        finally:
            engine.dispose()

        # and the reporter's receipt still opens her inbox on the restored server, and the
        # moderator's TOTP secret reads back through the restored pepper
        restored = make_app(fresh_url, INSTANCE_PATH=str(restored_instance))
        try:
            other = restored.test_client()
            page = other.get("/followup").get_data(as_text=True)
            wrong = other.post(
                "/followup",
                data={"csrf_token": hidden(page, "csrf_token"), "receipt": "1234 5678 9012 3456"},
            )
            assert wrong.status_code != 303
            page = other.get("/followup").get_data(as_text=True)
            resp = other.post(
                "/followup", data={"csrf_token": hidden(page, "csrf_token"), "receipt": receipt}
            )
            assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
            with restored.app_context():
                again = db.session().get(Staff, member.id)
                assert again is not None and again.totp_secret == TOTP_SENTINEL
        finally:
            restored.extensions["reporter.db"].engine.dispose()

        # and a second restore into the now non-empty database is refused
        with pytest.raises(backup.BackupError, match="not empty"):
            backup.restore(folder, fresh_url, restored_instance, secret=_secret(tmp_path))
    finally:
        pgcluster.drop_database(cluster, name)


def test_a_damaged_or_rearranged_backup_is_refused(
    app: Flask, database_url: str, instance: Path, tmp_path: Path
) -> None:
    folder = backup.create(database_url, instance, tmp_path / "backups", segment_bytes=4096)
    secret = _secret(tmp_path)
    assert backup.verify(folder, secret)["segments"]
    # a changed byte is found by the manifest before any secret is used
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    with open(damaged / "dump-0000.sealed", "r+b") as fh:
        fh.seek(-5, os.SEEK_END)
        fh.write(b"XXXXX")
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.check(damaged)
    # two segments swapped, with a manifest rewritten to match: the sealed index refuses
    swapped = tmp_path / "swapped"
    shutil.copytree(folder, swapped)
    a, b = swapped / "dump-0000.sealed", swapped / "dump-0001.sealed"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    manifest = json.loads((swapped / "MANIFEST.json").read_text())
    manifest["files"] = {
        p.name: backup._sha256(p) for p in swapped.iterdir() if p.name != "MANIFEST.json"
    }
    (swapped / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match="does not belong"):
        backup.verify(swapped, secret)


def test_no_backup_without_a_backup_key(
    app: Flask, database_url: str, instance: Path, tmp_path: Path
) -> None:
    (instance / "keys" / "backup.pub").unlink()
    with pytest.raises(backup.BackupError, match="keys backup-init"):
        backup.create(database_url, instance, tmp_path / "backups")
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


def test_make_backup_and_restore_commands(
    app: Flask, database_url: str, cluster: Path, instance: Path, tmp_path: Path
) -> None:
    # `make backup` runs `python -m reporter.ops.backup create` with the service's environment
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)}
    env.pop("BACKUP_SECRET", None)
    env.pop("BACKUP_SECRET_FILE", None)
    out = subprocess.run(
        [sys.executable, "-m", "reporter.ops.backup", "create", "--out", str(tmp_path / "made")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "sealed to the offline backup key" in out.stdout
    (made,) = (tmp_path / "made").iterdir()
    backup.check(made)
    # restoring without a secret (no terminal) is refused, with what to do
    name, fresh_url = fresh_database(cluster)
    try:
        env2 = {**env, "DATABASE_URL": fresh_url, "INSTANCE_PATH": str(tmp_path / "r")}
        out = subprocess.run(
            [sys.executable, "-m", "reporter.ops.backup", "restore", str(made)],
            check=False,
            capture_output=True,
            text=True,
            env=env2,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 1 and "BACKUP_SECRET_FILE" in out.stderr
        # `make restore BACKUP=... BACKUP_SECRET_FILE=...` reads the secret from the file
        out = subprocess.run(
            ["make", "-s", "restore", f"BACKUP={made}"],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            env={**env2, "BACKUP_SECRET_FILE": str(tmp_path / "backup-secret")},
        )
        assert out.returncode == 0, out.stderr
        engine = create_engine(fresh_url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM case_key")).scalar_one() >= 11
        finally:
            engine.dispose()
    finally:
        pgcluster.drop_database(cluster, name)


def test_keys_backup_init_prints_the_secret_once_and_stores_the_public_half(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    instance_keys = app.extensions["reporter.settings"].instance_path / "keys"
    before = (instance_keys / "backup.pub").read_text()
    refused = runner.invoke(args=["keys", "backup-init"])
    assert refused.exit_code != 0 and "exists already" in refused.output
    try:
        made = runner.invoke(args=["keys", "backup-init", "--replace"])
        assert made.exit_code == 0, made.output
        secret_line = [ln.strip() for ln in made.output.splitlines() if len(ln.strip()) == 44]
        assert len(secret_line) == 1
        secret = envelope.b64d(secret_line[0], 32)
        from nacl.public import PrivateKey

        stored = (instance_keys / "backup.pub").read_text().strip()
        assert stored == envelope.b64e(bytes(PrivateKey(secret).public_key))
        assert secret_line[0] not in "".join(
            p.read_text(errors="replace") for p in instance_keys.iterdir() if p.is_file()
        )
    finally:
        (instance_keys / "backup.pub").write_text(before)


def test_keys_init_prints_the_backup_secret_once_and_keeps_only_its_public_half(
    cluster: Path, tmp_path: Path
) -> None:
    from nacl.public import PrivateKey

    from reporter.ops import migrate

    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    fresh = make_app(url, INSTANCE_PATH=str(tmp_path / "inst"))
    try:
        out = fresh.test_cli_runner().invoke(args=["keys", "init"])
        assert out.exit_code == 0, out.output
        assert "BACKUP KEY" in out.output and "OFFLINE RECOVERY KEY" in out.output
        lines = [ln.strip() for ln in out.output.splitlines() if len(ln.strip()) == 44]
        assert len(lines) == 2  # the recovery secret, then the backup secret
        secret = envelope.b64d(lines[1], 32)
        folder = tmp_path / "inst" / "keys"
        assert (folder / "backup.pub").read_text().strip() == envelope.b64e(
            bytes(PrivateKey(secret).public_key)
        )
        for path in folder.iterdir():
            assert secret not in path.read_bytes() and lines[1].encode() not in path.read_bytes()
        # and a backup made now opens with that secret only
        made = backup.create(url, tmp_path / "inst", tmp_path / "b")
        assert backup.verify(made, secret)["keys"]
    finally:
        fresh.extensions["reporter.db"].engine.dispose()
        pgcluster.drop_database(cluster, name)
