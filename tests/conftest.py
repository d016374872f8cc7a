"""Fixtures: a fresh PostgreSQL + PostGIS database per test session, the app, its client.
The cluster starts only when a test asks for a database (`app`, `client`, `database_url` ...).

Costs: the session's private cluster starts once (about 2 s, plus initdb about 3 s on the very
first run) and the migrations run once; each test then gets a fresh app and empty tables.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from reporter.app import create_app
from reporter.models import load_all
from reporter.models.base import Base
from reporter.ops import migrate, pgcluster
from reporter.services.keys import InitResult, init_keys

load_all()

ROOT = Path(__file__).resolve().parent.parent
TEST_INSTANCE = ROOT / "instance" / "test"

# Crypto and hashing parameters made fast under test only (production keeps the defaults).
FAST = {
    "RECEIPT_ARGON2_TIME_COST": 1,
    "RECEIPT_ARGON2_MEMORY_KIB": 8192,
    "PASSWORD_ARGON2_TIME_COST": 1,
    "PASSWORD_ARGON2_MEMORY_KIB": 8192,
}


# Fixtures that start or reach PostgreSQL: every test whose fixtures lead to one of these gets the
# `db` marker (so `make test-fast` can leave them out); the cluster starts on first use only.
DB_FIXTURES = {"cluster", "own_cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if DB_FIXTURES & fixtures:
            item.add_marker(pytest.mark.db)
        if "browser" in fixtures and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)  # a Chromium fixture, should a mark be forgotten


def _live_users(folder: Path) -> list[Path]:
    live = []
    for marker in folder.glob("*"):
        try:
            os.kill(int(marker.name), 0)
            live.append(marker)
        except (ValueError, ProcessLookupError):
            marker.unlink(missing_ok=True)
        except PermissionError:
            live.append(marker)
    return live


@pytest.fixture(scope="session")
def cluster() -> Iterator[Path]:
    """The tests' own private cluster (separate from the demo's), stopped at the end by the
    last test session still using it (several sessions may run side by side)."""
    users = TEST_INSTANCE / ".users"
    users.mkdir(parents=True, exist_ok=True)
    me = users / str(os.getpid())
    me.touch()
    pgcluster.start(TEST_INSTANCE)
    yield TEST_INSTANCE
    me.unlink(missing_ok=True)
    if not _live_users(users):
        pgcluster.stop(TEST_INSTANCE)


def fresh_database(cluster: Path) -> tuple[str, str]:
    name = f"test_{secrets.token_hex(6)}"
    return name, pgcluster.ensure_database(cluster, name)


@pytest.fixture(scope="session")
def database_url(cluster: Path) -> Iterator[str]:
    """A database created fresh for this test session, migrated to head, dropped at the end."""
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    pgcluster.drop_database(cluster, name)


def make_app(database_url: str, **overrides: object) -> Flask:
    config: dict[str, object] = {
        "INSTANCE_PATH": str(TEST_INSTANCE / "app"),
        "REPORTER_MODE": "test",
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        # the access-matrix test logs in a few hundred times; the limit has its own test
        "X_STAFF_LOGIN_LIMIT": "10000 per minute",
        **FAST,
    }
    config.update(overrides)
    return create_app(config)


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # the audit log refuses TRUNCATE by trigger; replica mode lets the test reset it
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def with_keys(application: Flask) -> InitResult:
    """Create the platform's keys; the secrets are returned to the test, never stored."""
    with application.app_context():
        from reporter.models import db

        result = init_keys(db.session(), application.extensions["reporter.settings"].instance_path)
    application.extensions["test.keys"] = result
    return result


@pytest.fixture()
def app(database_url: str) -> Iterator[Flask]:
    # empty tables at the start too, whatever a test that used database_url alone left (a
    # release cut by its first request made the next test's demo incidents invisible)
    truncate_all(database_url)
    application = make_app(database_url)
    with_keys(application)
    yield application
    application.extensions["reporter.db"].engine.dispose()
    truncate_all(database_url)


@pytest.fixture()
def app_factory(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps with their own settings (and keys), cleaned up like `app`."""
    truncate_all(database_url)
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        application = make_app(database_url, **overrides)
        with_keys(application)
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["reporter.db"].engine.dispose()
    truncate_all(database_url)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger, at every level."""
    caplog.set_level(logging.DEBUG)
    return caplog


def table_dump(url: str) -> str:
    """Every row of every table as text, to search for what must never be stored."""
    engine = create_engine(url)
    parts: list[str] = []
    with engine.connect() as conn:
        names = (
            conn.execute(
                text(
                    "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM "
                    "information_schema.tables WHERE table_schema = 'public'"
                    " AND table_type = 'BASE TABLE'"
                )
            )
            .scalars()
            .all()
        )
        for name in names:
            for row in conn.execute(text(f"SELECT t::text FROM {name} t")):  # noqa: S608
                parts.append(row[0])
    engine.dispose()
    return "\n".join(parts)
