"""Faults (issue 7, DESIGN.md promise 7): the database down at start-up or in the middle of a
submission, Redis down or hanging, a worker killed mid-submission. Each gives the reporter a
clear answer and never a receipt for a report that was not stored; the app recovers by itself.

Costs: a throwaway PostgreSQL cluster for this module (about 2 s: it is stopped and started
here, so the shared test cluster is never touched), one gunicorn (about 6 s to boot), and a
fresh database in the shared cluster for it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.models.private import Attachment, Receipt, Report
from reporter.ops import migrate, pgcluster
from reporter.ops.servers import app_instance, free_port, gunicorn, init_instance
from reporter.ops.visitor import Visitor, encode_form, plain_fields
from reporter.services import intake
from reporter.web.errors import MESSAGES
from reporter.web.extensions import limiter
from tests.conftest import TEST_INSTANCE, fresh_database, make_app, with_keys
from tests.support.intake import RECEIPT, receipt_of, submit_plain

NOT_SENT = str(MESSAGES[503][0])
SENTINELS = ("203.0.113.99", "198.51.100.77", "SentinelAgent/9.9-xyzzy", "SENTINEL-NARR-q7")


def _title(resp) -> str:  # type: ignore[no-untyped-def]
    body = resp.get_data(as_text=True)
    start = body.find("<h1>")
    return body[start + 4 : body.find("</h1>", start)].strip() if start >= 0 else ""


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            return (
                s.scalar(select(func.count()).select_from(Report)) or 0,
                s.scalar(select(func.count()).select_from(Receipt)) or 0,
            )
    finally:
        engine.dispose()


def _every_report_has_its_receipt(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM report r LEFT JOIN receipt c ON c.report_id = r.id "
                    "WHERE c.id IS NULL"
                )
            ).scalar()
            dangling = conn.execute(
                text(
                    "SELECT count(*) FROM receipt c LEFT JOIN report r ON r.id = c.report_id "
                    "WHERE r.id IS NULL"
                )
            ).scalar()
    finally:
        engine.dispose()
    assert (orphans, dangling) == (0, 0)


# --- the database down ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[tuple[Path, str]]:
    """A private cluster this module may stop and start at will."""
    path = Path(tempfile.mkdtemp(prefix="faults-"))
    url = pgcluster.ensure_database(path, "faults")
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield path, url
    finally:
        pgcluster.stop(path)
        shutil.rmtree(pgcluster.data_dir(path), ignore_errors=True)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def down_app(own_cluster: tuple[Path, str]) -> Iterator[Flask]:
    path, url = own_cluster
    pgcluster.start(path)
    application = make_app(url)
    with_keys(application)
    yield application
    pgcluster.start(path)
    application.extensions["reporter.db"].engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE receipt, attachment, message, report, case_key CASCADE"))
    engine.dispose()


def test_database_down_at_start_up_gives_clear_answers_and_recovers(
    own_cluster: tuple[Path, str], down_app: Flask
) -> None:
    path, url = own_cluster
    # Given the database is down when the app starts
    down_app.extensions["reporter.db"].engine.dispose()
    pgcluster.stop(path)
    app = make_app(url)  # does not crash: nothing connects at start-up
    client = app.test_client()

    # Then intake says "not sent, try again" (a 503 in the site's own words, translatable)
    resp = client.get("/report")
    assert resp.status_code == 503 and _title(resp) == NOT_SENT
    assert "Nothing was saved" in resp.get_data(as_text=True)
    # and the JSON endpoints answer in JSON
    keys = client.get("/keys.json")
    assert keys.status_code == 503 and keys.get_json()["error"] == NOT_SENT
    # and the home page with its safety advice still works
    assert client.get("/").status_code == 200
    # and staff pages answer with their page or a 503, never a 500
    for path_ in ("/staff/login", "/staff/queue", "/map", "/api/v1/summary", "/followup"):
        assert client.get(path_).status_code in (200, 302, 303, 401, 503), path_
    staff = client.post("/staff/login", data={"login": "x", "password": "y", "code": "123456"})
    assert staff.status_code in (400, 503)

    # When the database comes back, the same app serves again without a restart
    pgcluster.start(path)
    resp = submit_plain(client, "After the database came back.")
    assert resp.status_code == 200, _title(resp)
    receipt_of(resp)
    assert _counts(url) == (1, 1)
    app.extensions["reporter.db"].engine.dispose()


def test_database_lost_in_the_middle_of_a_submission(
    own_cluster: tuple[Path, str], down_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, url = own_cluster
    client = down_app.test_client()
    # Given a reporter who opened the form while the database was up
    submit_plain(client, "warm the pool")
    assert _counts(url) == (1, 1)
    real_derive = intake.receipts.derive

    def derive_while_the_database_stops(*args, **kwargs):  # type: ignore[no-untyped-def]
        pgcluster.stop(path)  # the keyring was read; the insert has not happened yet
        return real_derive(*args, **kwargs)

    monkeypatch.setattr(intake.receipts, "derive", derive_while_the_database_stops)
    # When the database stops in the middle of her submission
    resp = submit_plain(client, "Lost in the middle.")
    # Then she is told it was not sent, and gets no receipt
    assert resp.status_code == 503 and _title(resp) == NOT_SENT
    assert not RECEIPT.search(resp.get_data(as_text=True))

    # When it comes back, she sends again and it works, in the same app
    monkeypatch.undo()
    pgcluster.start(path)
    resp = submit_plain(client, "Sent again.")
    assert resp.status_code == 200
    receipt_of(resp)
    # and exactly the two reports that got receipts are stored, each with its receipt
    assert _counts(url) == (2, 2)
    _every_report_has_its_receipt(url)


def test_commit_failing_after_the_flush_leaves_nothing_and_no_receipt(
    app: Flask, database_url: str
) -> None:
    # Given the database connection dies after the report and receipt rows were sent
    # but before COMMIT (the backend is terminated from outside, as a crash would)
    sessions = app.extensions["reporter.db"].sessions
    killer = create_engine(database_url)

    @event.listens_for(sessions, "after_flush")
    def _die(session: Session, _ctx: object) -> None:
        if any(isinstance(obj, Receipt) for obj in session.new):
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    try:
        resp = submit_plain(app.test_client(), "Half written?")
    finally:
        event.remove(sessions, "after_flush", _die)
        killer.dispose()
    # Then the reporter gets "not sent, try again" and no receipt
    assert resp.status_code == 503 and _title(resp) == NOT_SENT
    assert not RECEIPT.search(resp.get_data(as_text=True))
    # and nothing half-written stays behind
    assert _counts(database_url) == (0, 0)
    # and the next submission goes through on a fresh connection
    assert submit_plain(app.test_client(), "Next one.").status_code == 200
    assert _counts(database_url) == (1, 1)


def test_connection_lost_after_the_page_was_rendered_keeps_the_answer(
    app_factory, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    # Given the database connection dies after the request's last query (a restart between
    # the work and the end of the request), before the session is closed
    app = app_factory()
    killer = create_engine(database_url)

    @app.after_request
    def _restart_now(resp):  # type: ignore[no-untyped-def]
        from reporter.models import db

        pid = db.session().connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with killer.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return resp

    try:
        # When the form is opened, and a report is sent
        form = app.test_client().get("/report")
        sent = submit_plain(app.test_client(), "Committed before the connection died.")
    finally:
        killer.dispose()
    # Then the answers stand (the form, the receipt of a committed report), never a 500
    assert form.status_code == 200
    assert sent.status_code == 200
    receipt_of(sent)
    assert _counts(database_url) == (1, 1)


# --- Redis down or hanging -----------------------------------------------------------------


@pytest.fixture()
def reset_limiter() -> Iterator[None]:
    yield
    # the limiter object is shared by every app in this process; a dead storage seen here
    # must not make later tests' apps use the fallback
    limiter._storage_dead = False  # noqa: SLF001


def _sentinel_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(
        {
            "REMOTE_ADDR": SENTINELS[0],
            "HTTP_X_FORWARDED_FOR": SENTINELS[1],
            "HTTP_USER_AGENT": SENTINELS[2],
        }
    )
    return client


def _log_text(records: list[logging.LogRecord]) -> str:
    parts = []
    for r in records:
        parts += [r.getMessage(), str(r.args), r.exc_text or "", str(r.__dict__)]
    return "\n".join(parts)


def test_redis_down_never_stops_intake_and_limits_fall_back_to_memory(
    app_factory, all_logs: pytest.LogCaptureFixture, reset_limiter: None
) -> None:  # type: ignore[no-untyped-def]
    # Given Redis (the limiter's storage) is not there at all
    app = app_factory(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0", X_REPORT_LIMIT="3 per minute"
    )
    client = _sentinel_client(app)
    # When a reporter sends reports
    for i in range(3):
        resp = submit_plain(client, f"{SENTINELS[3]} number {i}")
        # Then they are accepted
        assert resp.status_code == 200, _title(resp)
        receipt_of(resp)
    # and the per-session limit still holds, now kept in this process's memory
    assert submit_plain(client, SENTINELS[3]).status_code == 429
    # and one warning says so, without any client detail in any log record
    warnings = [
        r
        for r in all_logs.records
        if r.levelno >= logging.WARNING and r.name.startswith("flask-limiter")
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    text_ = _log_text(all_logs.records)
    for sentinel in SENTINELS:
        assert sentinel not in text_


def test_redis_that_hangs_does_not_hang_intake(app_factory, reset_limiter: None) -> None:  # type: ignore[no-untyped-def]
    # Given a "Redis" that accepts connections and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        app = app_factory(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        client = app.test_client()
        answers: list[int] = []

        def send() -> None:
            # When a reporter sends two reports
            answers.append(submit_plain(client, "Redis hangs.").status_code)
            answers.append(submit_plain(client, "Redis still hangs.").status_code)

        worker = threading.Thread(target=send, daemon=True)
        worker.start()
        worker.join(timeout=30)
        # Then both go through, within seconds (the limiter gives up on Redis and falls back)
        assert answers == [200, 200]
    finally:
        silent.close()


# --- a worker killed mid-submission --------------------------------------------------------


@pytest.fixture(scope="module")
def served(cluster: Path) -> Iterator[tuple[str, object, dict[str, bytes]]]:
    """gunicorn (one worker, so that "the worker" is unambiguous) on a fresh database."""
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    limits = {
        "X_REPORT_LIMIT": "1000 per minute",
        "X_REPORT_GLOBAL_LIMIT": "1000 per minute",
        "RECEIPT_ARGON2_TIME_COST": 1,
        "RECEIPT_ARGON2_MEMORY_KIB": 8192,
    }
    try:
        with app_instance(limits, parent=TEST_INSTANCE) as instance:
            keys = init_instance(url, instance)
            with gunicorn(url, instance, workers=1) as server:
                yield url, server, {**keys.case_secrets, "recovery": keys.recovery_secret}
    finally:
        pgcluster.drop_database(cluster, name)


def _wait(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _respawned(server, old: int) -> int:  # type: ignore[no-untyped-def]
    _wait(lambda: server.worker_pids() and server.worker_pids()[0] != old)
    return server.worker_pids()[0]


def _backends_waiting_on_a_lock(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


def _other_backends(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND state <> 'idle'"
                    )
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_worker_killed_while_the_upload_streams_in(served) -> None:  # type: ignore[no-untyped-def]
    url, server, secrets_ = served
    worker = server.worker_pids()[0]
    # Given a reporter sending a report with a large photo over a slow line
    visitor = Visitor(server.base)
    _answer, hidden = visitor.open_form()
    assert hidden is not None
    content_type, body = encode_form(
        {**hidden, **plain_fields("A big photo.")},
        [("attachments", os.urandom(6_000_000), "fine.jpg", "image/jpeg")],
    )
    port = int(server.base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {visitor.cookie}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:2_000_000])
    time.sleep(0.3)
    # When the worker is killed while the body is still arriving
    os.kill(worker, signal.SIGKILL)
    reply = b""
    try:
        sock.sendall(body[2_000_000:])
        reply = sock.recv(65536)
    except OSError:
        pass
    finally:
        sock.close()
    # Then she gets no receipt, and nothing was stored
    assert b'id="receipt"' not in reply
    _respawned(server, worker)
    assert _counts(url) == (0, 0)


@pytest.mark.slow
def test_worker_killed_between_insert_and_commit(served) -> None:  # type: ignore[no-untyped-def]
    url, server, secrets_ = served
    worker = server.worker_pids()[0]
    # Given the receipt table is locked, so the worker stops after inserting the report row
    # and before the receipt row and the COMMIT
    engine = create_engine(url)
    locker = engine.connect()
    locker.execute(text("LOCK TABLE receipt IN ACCESS EXCLUSIVE MODE"))
    results: list[object] = []
    visitor = Visitor(server.base, timeout=30)
    _answer, hidden = visitor.open_form()
    assert hidden is not None
    thread = threading.Thread(
        target=lambda: results.append(
            visitor.post("/report", {**hidden, **plain_fields("Killed before commit.")})
        )
    )
    thread.start()
    try:
        _wait(lambda: _backends_waiting_on_a_lock(url) == 1)
        # When the worker is killed there
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)
    finally:
        locker.rollback()
        locker.close()
        engine.dispose()
    # Then the reporter got no receipt (the connection was cut)
    answer = results[0]
    assert answer.receipt is None and answer.error  # type: ignore[attr-defined]
    # and once PostgreSQL notices the dead client, nothing of it is stored
    _wait(lambda: _other_backends(url) == 0)
    assert _counts(url) == (0, 0)

    # When the master has started a new worker, the next report with a file goes through
    _respawned(server, worker)
    visitor = Visitor(server.base)
    _answer, hidden = visitor.open_form()
    assert hidden is not None
    photo = os.urandom(300_000)  # random bytes, not a photo: sent as they are (keep_original)
    answer = visitor.post(
        "/report",
        {**hidden, **plain_fields("After the kill."), "keep_original": "y"},
        [("attachments", photo, "fine.jpg", "image/jpeg")],
    )
    assert answer.receipt is not None, answer.title
    # and it is stored whole: one report, its receipt, its file that opens to the photo
    assert _counts(url) == (1, 1)
    _every_report_has_its_receipt(url)
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            stored = s.scalars(select(Attachment)).one()
            assert (
                envelope.open_attachment(stored.header, stored.body, secrets_["national"]) == photo
            )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_submissions_wait_for_nothing_after_the_kill(served) -> None:  # type: ignore[no-untyped-def]
    """The form is served at once after a respawn: the master preloads the app (gazetteer)."""
    url, server, _ = served
    worker = server.worker_pids()[0]
    os.kill(worker, signal.SIGKILL)
    _respawned(server, worker)
    # the new worker's very first form: no gazetteer to load (about 4 s of CPU otherwise)
    answer, hidden = Visitor(server.base).open_form()
    assert hidden is not None and answer.seconds < 3.0
