"""Real servers on this machine, for the benchmarks (bench/) and the tests that need them (faults,
deploy, scale-out): the app under gunicorn (with the project's gunicorn.conf.py), a private
`redis-server`, and an instance folder with keys. Not used by the running site.

Everything listens on 127.0.0.1 and a free port, and everything started here is stopped by
the context manager that started it, by process id.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess  # noqa: S404 - starting gunicorn and redis-server is the point
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from reporter.services.keys import InitResult

ROOT = Path(__file__).resolve().parents[2]  # the checkout: gunicorn.conf.py and wsgi.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def app_instance(settings: dict[str, object] | None, parent: Path) -> Iterator[Path]:
    """A throwaway instance folder (0700) under `parent`, with an optional config.py.

    The app reads `instance/config.py` for settings that have no environment variable, such as
    the X_* limits and the Argon2 parameters.
    """
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="app-", dir=parent))
    lines = [f"{name} = {value!r}\n" for name, value in (settings or {}).items()]
    (folder / "config.py").write_text("".join(lines))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def init_instance(database_url: str, instance: Path) -> InitResult:
    """Create the platform's keys in the database and the pepper in `instance`."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from reporter.services.keys import init_keys

    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return init_keys(session, instance)
    finally:
        engine.dispose()


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


@dataclass
class Redis:
    """A private redis-server on 127.0.0.1 with no persistence; kill() and start() again."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.proc = subprocess.Popen(  # noqa: S603 - the system's redis-server, fixed args
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def redis_server(port: int | None = None) -> Iterator[Redis]:
    server = Redis(port or free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Gunicorn:
    base: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[str] = field(repr=False)

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


def _wait_http(base: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            urllib.request.urlopen(base + "/", timeout=5).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError as exc:  # any answer means a worker is serving
            exc.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def warm(base: str, workers: int, path: str = "/report", timeout: float = 120.0) -> None:
    """Load each worker's lazy caches (the gazetteer behind the form takes seconds on first
    use) before anything is measured: concurrent GETs until a whole round is quick."""
    import threading

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        slow: list[float] = []

        def get(slow: list[float] = slow) -> None:
            started = time.monotonic()
            try:
                urllib.request.urlopen(base + path, timeout=timeout).close()  # noqa: S310 - loopback
            except OSError:
                pass
            slow.append(time.monotonic() - started)

        threads = [threading.Thread(target=get) for _ in range(workers * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if max(slow) < 0.5:
            return


@contextmanager
def gunicorn(
    database_url: str,
    instance: Path,
    *,
    workers: int = 2,
    storage: str = "memory://",
    secret_key: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free loopback port, stopped on exit."""
    with gunicorns(
        1,
        database_url,
        instance,
        workers=workers,
        storage=storage,
        secret_key=secret_key,
        extra_env=extra_env,
    ) as (server,):
        yield server


@contextmanager
def gunicorns(
    count: int,
    database_url: str,
    instance: Path,
    *,
    workers: int = 2,
    storage: str = "memory://",
    secret_key: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[Gunicorn, ...]]:
    """`count` separate gunicorn instances (as on separate hosts), booted and stopped in
    parallel; they share the database, the storage and, when given, the secret key."""
    import secrets

    servers: list[Gunicorn] = []
    try:
        for _ in range(count):
            port = free_port()
            env = {
                key: value
                for key, value in os.environ.items()
                if key
                not in ("DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "RECEIPT_PEPPER")
            }
            env.update(
                {
                    "PORT": str(port),
                    "REPORTER_MODE": "test",
                    "DATABASE_URL": database_url,
                    "SECRET_KEY": secret_key or secrets.token_urlsafe(40),
                    "RATELIMIT_STORAGE_URI": storage,
                    "WEB_CONCURRENCY": str(workers),
                    "INSTANCE_PATH": str(instance),
                    **(extra_env or {}),
                }
            )
            log_path = instance / f"gunicorn-{port}.log"
            log = open(log_path, "w+")  # closed below, after gunicorn stopped
            proc = subprocess.Popen(  # noqa: S603 - this venv's gunicorn, fixed args
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            servers.append(Gunicorn(f"http://127.0.0.1:{port}", proc, log_path, log))
        for server in servers:
            _wait_http(server.base, server.proc, 90)
        yield tuple(servers)
    finally:
        for server in servers:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGINT)  # quick shutdown: the run is over
        for server in servers:
            try:
                server.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=10)
            server._log.close()  # noqa: SLF001 - ours
