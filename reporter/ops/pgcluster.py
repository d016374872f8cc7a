"""The app's own PostgreSQL + PostGIS cluster, used when no DATABASE_URL is configured.

The cluster lives under instance/ (or, when the `postgres` system user cannot reach instance/,
in a private directory under /var/tmp with a pointer file in instance/), listens on a Unix
socket only (no TCP at all), and is created and started on first use with the system's own
PostgreSQL binaries. initdb and pg_ctl refuse to run as root, so as root they run as `postgres`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess  # noqa: S404 - running the system's PostgreSQL binaries is the point
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SUPERUSER = "reporter"
DEMO_DB = "reporter"


class ClusterError(RuntimeError):
    """The private cluster cannot be created or started; the message says what to do."""


def bin_dir() -> Path:
    """The newest installed PostgreSQL server's binaries (Debian layout), or PATH's."""
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if (p / "bin" / "initdb").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("initdb")
    if not found:
        raise ClusterError("PostgreSQL server binaries not found: apt-get install postgresql")
    return Path(found).parent


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_as_owner(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    if _as_root():
        args = ["/usr/sbin/runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=False, capture_output=True, text=True, **kw)  # noqa: S603


def _postgres_can_reach(path: Path) -> bool:
    probe = subprocess.run(  # noqa: S603
        ["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/test", "-x", str(path)],
        check=False,
        capture_output=True,
    )
    return probe.returncode == 0


def data_dir(instance_path: Path) -> Path:
    """Where the cluster's data lives; decided once and remembered in instance/pgdata.path."""
    pointer = instance_path / "pgdata.path"
    if pointer.exists():
        return Path(pointer.read_text().strip())
    instance_path.mkdir(parents=True, exist_ok=True)
    target = instance_path / "pgdata"
    if _as_root() and not _postgres_can_reach(instance_path):
        digest = hashlib.sha256(str(instance_path.resolve()).encode()).hexdigest()[:12]
        target = Path("/var/tmp") / f"reporter-pgdata-{digest}"  # noqa: S108 - private, 0700
    pointer.write_text(str(target) + "\n")
    return target


def socket_dir(instance_path: Path) -> Path:
    return data_dir(instance_path)


def url(instance_path: Path, dbname: str = DEMO_DB) -> str:
    return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={socket_dir(instance_path)}"


@contextmanager
def _lock(instance_path: Path) -> Iterator[None]:
    instance_path.mkdir(parents=True, exist_ok=True)
    with open(instance_path / ".pgcluster.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _init(pgdata: Path) -> None:
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _as_root():
        pw = pwd.getpwnam("postgres")
        os.chown(pgdata, pw.pw_uid, pw.pw_gid)
    os.chmod(pgdata, 0o700)
    res = _run_as_owner(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=reject",
        ]
    )
    if res.returncode != 0:
        raise ClusterError(f"initdb failed: {res.stderr.strip()[-500:]}")
    conf = pgdata / "postgresql.conf"
    with open(conf, "a") as fh:
        # Unix socket only, owner-only socket, and no statement text or client detail in logs.
        fh.write(
            "\n# reporter: private cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{pgdata}'\n"
            "unix_socket_permissions = 0700\n"
            "log_connections = off\nlog_disconnections = off\n"
            "log_min_error_statement = panic\nlog_statement = 'none'\n"
            "max_connections = 100\n"
        )


def is_running(pgdata: Path) -> bool:
    if not (pgdata / "PG_VERSION").exists():
        return False
    res = _run_as_owner([str(bin_dir() / "pg_ctl"), "-D", str(pgdata), "status"])
    return res.returncode == 0


def start(instance_path: Path) -> Path:
    """Create the cluster if needed and start it; idempotent and safe across processes."""
    with _lock(instance_path):
        pgdata = data_dir(instance_path)
        if not (pgdata / "PG_VERSION").exists():
            _init(pgdata)
        if not is_running(pgdata):
            res = _run_as_owner(
                [
                    str(bin_dir() / "pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-l",
                    str(pgdata / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            if res.returncode != 0:
                raise ClusterError(f"pg_ctl start failed: {res.stderr.strip()[-500:]}")
        return pgdata


def stop(instance_path: Path) -> None:
    with _lock(instance_path):
        pgdata = data_dir(instance_path)
        if is_running(pgdata):
            _run_as_owner(
                [str(bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
            )


def restart(instance_path: Path) -> None:
    """Used by the load benchmark to restart the database in the middle of a run."""
    pgdata = data_dir(instance_path)
    _run_as_owner(
        [
            str(bin_dir() / "pg_ctl"),
            "-D",
            str(pgdata),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "restart",
            "-l",
            str(pgdata / "server.log"),
        ]
    )


def psql(instance_path: Path, sql: str, dbname: str = "postgres") -> str:
    res = subprocess.run(  # noqa: S603
        [
            str(bin_dir() / "psql"),
            "-h",
            str(socket_dir(instance_path)),
            "-U",
            SUPERUSER,
            "-d",
            dbname,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise ClusterError(f"psql failed: {res.stderr.strip()[-500:]}")
    return res.stdout


def ensure_database(instance_path: Path, dbname: str = DEMO_DB) -> str:
    """Start the cluster, create the database with PostGIS if missing; return its URL."""
    start(instance_path)
    if not dbname.replace("_", "").isalnum():
        raise ClusterError("database names are letters, digits and underscores only")
    for _ in range(50):
        try:
            # dbname was checked above to be [A-Za-z0-9_] only
            exists = psql(instance_path, f"SELECT 1 FROM pg_database WHERE datname='{dbname}'")  # noqa: S608
            break
        except ClusterError:
            time.sleep(0.1)
    else:
        raise ClusterError("the private cluster does not answer")
    if not exists.strip():
        psql(instance_path, f'CREATE DATABASE "{dbname}"')
    try:
        psql(instance_path, "CREATE EXTENSION IF NOT EXISTS postgis", dbname)
    except ClusterError as exc:
        raise ClusterError(
            "PostGIS is not installed for this PostgreSQL. Install it with: "
            "sudo apt-get install postgresql-15-postgis-3 (match your PostgreSQL major version)"
        ) from exc
    return url(instance_path, dbname)


def drop_database(instance_path: Path, dbname: str) -> None:
    psql(instance_path, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
