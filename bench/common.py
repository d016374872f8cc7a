"""Shared set-up for benchmarks: a fresh database in the tests' private cluster."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine

from reporter.app import create_app
from reporter.ops import migrate, pgcluster

ROOT = Path(__file__).resolve().parent.parent
BENCH_INSTANCE = ROOT / "instance" / "bench"


@contextmanager
def bench_database() -> Iterator[str]:
    name = f"bench_{secrets.token_hex(4)}"
    url = pgcluster.ensure_database(BENCH_INSTANCE, name)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        pgcluster.drop_database(BENCH_INSTANCE, name)


def bench_app(url: str, **overrides: object) -> Flask:
    """An app on the bench database, with the platform's keys (made once per database)."""
    app = create_app(
        {
            "REPORTER_MODE": "test",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "INSTANCE_PATH": str(BENCH_INSTANCE / "app"),
            **overrides,
        }
    )
    from reporter.models import db
    from reporter.models.private import CaseKey
    from reporter.services import keys

    with app.app_context():
        if not db.session().query(CaseKey).count():
            keys.init_keys(db.session(), BENCH_INSTANCE / "app")
    return app
