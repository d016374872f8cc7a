"""Promise 4: no IP address, user agent or referrer in any log record or table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ROOT, table_dump
from tests.test_foundation import get_routes

SENTINEL_IP = "198.51.100.77"
SENTINEL_UA = "SentinelAgent/9.9 (trace-7c1e)"
SENTINEL_REF = "http://sentinel-referrer.example/trace-7c1e"
HEADERS = {
    "X-Forwarded-For": SENTINEL_IP,
    "X-Real-IP": SENTINEL_IP,
    "Forwarded": f"for={SENTINEL_IP}",
    "User-Agent": SENTINEL_UA,
    "Referer": SENTINEL_REF,
}
NEEDLES = (SENTINEL_IP, "trace-7c1e")


def test_no_client_detail_in_logs_or_tables(
    app: Flask, client: FlaskClient, all_logs: pytest.LogCaptureFixture, database_url: str
) -> None:
    env = {"REMOTE_ADDR": SENTINEL_IP}
    for path in [*get_routes(app), "/no-such-page"]:
        client.get(path, headers=HEADERS, environ_base=env).close()
    client.post("/language", data={"lang": "en"}, headers=HEADERS, environ_base=env)
    client.post("/report", data={"x": "y"}, headers=HEADERS, environ_base=env)
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in all_logs.records
    )
    for needle in NEEDLES:
        assert needle not in logged
        assert needle not in table_dump(database_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_writes_no_access_line(database_url: str, tmp_path: Path) -> None:
    """The real WSGI server, with our gunicorn.conf.py: nothing about the client in its output."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "REPORTER_MODE": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s" * 40,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WEB_CONCURRENCY": "1",
    }
    out = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--log-level",
            "debug",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for path in ("/", "/report", "/map", "/no-such-page"):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=HEADERS)  # noqa: S310
            try:
                urllib.request.urlopen(req, timeout=5).close()  # noqa: S310
            except urllib.error.HTTPError as exc:
                exc.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        out.close()
    text = (tmp_path / "gunicorn.log").read_text()
    assert "Booting worker" in text  # the log was captured at debug level
    # an access line quotes the request line ("GET /report HTTP/1.1") beside the address
    for needle in (*NEEDLES, '"GET ', "HTTP/1.1"):
        assert needle not in text, text
