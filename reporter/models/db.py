"""Engine and per-request session, bound to the app in init_app (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str) -> Engine:
    # pre_ping: after a database restart, stale pooled connections are replaced, not reused.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["reporter.db"] = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.teardown_appcontext(_close_session)


def database() -> Database:
    return current_app.extensions["reporter.db"]


def session() -> Session:
    """The session for this request or app context, created on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def discard_session(rollback: bool = True) -> None:
    """End this context's session (rolled back unless told otherwise)."""
    sess: Session | None = g.pop("db_session", None)
    if sess is None:
        return
    try:
        if rollback:
            sess.rollback()
        sess.close()
    except DBAPIError:
        # The connection died (a database restart between the last query and the end of the
        # request). Whatever was committed stays committed, anything else is gone with the
        # connection; drop it from the pool instead of turning an answer into a 500.
        sess.invalidate()


def _close_session(exc: BaseException | None) -> None:
    discard_session(rollback=exc is not None)
