"""Backup and restore (issue 7): a backup restored into a fresh database still opens its reports,
its receipts still work, and the backup holds no plaintext and no demo secrets.

Cost: about 3 s (pg_dump, a fresh database, pg_restore).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from reporter import backup, envelope, pgcluster
from reporter.models import Report
from tests.conftest import fresh_database, make_app
from tests.intake_helpers import hidden, receipt_of, secrets_of, submit_plain

SENTINEL = "BACKUP-SENTINEL-7f3a"


@pytest.fixture()
def instance(app: Flask, tmp_path: Path) -> Path:
    """A copy of the app's instance/keys, plus demo secrets that must never be backed up."""
    folder = tmp_path / "instance"
    shutil.copytree(app.extensions["reporter.settings"].instance_path / "keys", folder / "keys")
    (folder / "keys" / "demo-secrets.json").write_text('{"national": "not for backups"}')
    return folder


def test_backup_restores_into_a_fresh_database_and_its_reports_open(
        app: Flask, client: FlaskClient, database_url: str, cluster: Path, instance: Path,
        tmp_path: Path) -> None:
    # Given a stored report with a file, and its receipt
    receipt = receipt_of(submit_plain(client, f"{SENTINEL} they took my phone",
                                      files=[(b"%PDF-1.4 " + SENTINEL.encode(), "slip.pdf",
                                              "application/pdf")]))

    # When the operator makes a backup
    folder = backup.create(database_url, instance, tmp_path / "backups")

    # Then it is private, checked, and holds the dump and the keys but not the demo secrets
    assert folder.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in (folder / "keys").iterdir()) == ["pepper", "signing.key"]
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "README.txt":
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert "ENCRYPTED and OFFLINE" in (folder / "README.txt").read_text()
    assert backup.check(folder)["files"]["database.dump"]
    # and the dump, read back as SQL, holds no plaintext of the report
    sql = subprocess.run([str(pgcluster.bin_dir() / "pg_restore"), "-f", "-",
                          str(folder / "database.dump")], check=True, capture_output=True).stdout
    assert b"CREATE TABLE public.report" in sql and SENTINEL.encode() not in sql

    # When it is restored into a fresh, empty database and a fresh instance folder
    name, fresh_url = fresh_database(cluster)
    restored_instance = tmp_path / "restored"
    try:
        backup.restore(folder, fresh_url, restored_instance)

        # Then the report is there and its envelope and file open with the case key
        engine = create_engine(fresh_url)
        try:
            with Session(engine) as s:
                report = s.scalars(select(Report)).one()
                sk = secrets_of(app)["national"]
                payload = envelope.open_envelope(report.envelope, sk)
                assert payload["narrative"].startswith(SENTINEL)
                att = report.attachments[0]
                assert envelope.open_attachment(att.header, att.body, sk).endswith(
                    SENTINEL.encode())
        finally:
            engine.dispose()

        # and the reporter's receipt still opens her inbox on the restored server
        restored = make_app(fresh_url, INSTANCE_PATH=str(restored_instance))
        try:
            other = restored.test_client()
            page = other.get("/followup").get_data(as_text=True)
            resp = other.post("/followup", data={"csrf_token": hidden(page, "csrf_token"),
                                                 "receipt": receipt})
            assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        finally:
            restored.extensions["reporter.db"].engine.dispose()

        # and a second restore into the now non-empty database is refused
        with pytest.raises(backup.BackupError, match="not empty"):
            backup.restore(folder, fresh_url, restored_instance)
    finally:
        pgcluster.drop_database(cluster, name)


def test_a_damaged_backup_is_refused(app: Flask, database_url: str, instance: Path,
                                     tmp_path: Path) -> None:
    folder = backup.create(database_url, instance, tmp_path / "backups")
    with open(folder / "database.dump", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.check(folder)


def test_make_backup_uses_the_configured_database(app: Flask, database_url: str,
                                                  instance: Path, tmp_path: Path) -> None:
    # `make backup` runs `python -m reporter.backup create` with the service's environment
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)}
    out = subprocess.run([sys.executable, "-m", "reporter.backup",
                          "create", "--out", str(tmp_path / "made")],
                         check=False, capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr
    assert "encrypted and offline" in out.stdout
    (made,) = (tmp_path / "made").iterdir()
    backup.check(made)
