"""Scale-out (issue 7): two app servers (separate gunicorn instances, as on two hosts) share one
PostgreSQL and one Redis. A global limit holds across both, and a form opened on one server is
accepted by the other (sessions are signed cookies, so any worker can serve any request).

Cost: about 15 s (two gunicorn boots, a redis-server, a fresh database).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from reporter.ops import migrate, pgcluster
from reporter.ops.servers import (
    Gunicorn,
    app_instance,
    gunicorns,
    init_instance,
    redis_available,
    redis_server,
)
from reporter.ops.visitor import Visitor, plain_fields
from tests.conftest import TEST_INSTANCE, fresh_database

pytestmark = [
    pytest.mark.skipif(not redis_available(), reason="redis-server not installed"),
    pytest.mark.slow,
]
GLOBAL = 4


@pytest.fixture(scope="module")
def two_servers(cluster: Path) -> Iterator[tuple[Gunicorn, Gunicorn]]:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    # "per day": a fixed window this test cannot straddle in practice
    settings = {
        "X_REPORT_LIMIT": "1000 per day",
        "X_REPORT_GLOBAL_LIMIT": f"{GLOBAL} per day",
        "RECEIPT_ARGON2_TIME_COST": 1,
        "RECEIPT_ARGON2_MEMORY_KIB": 8192,
    }
    shared_secret = secrets.token_urlsafe(40)
    try:
        with redis_server() as redis, app_instance(settings, parent=TEST_INSTANCE) as instance:
            init_instance(url, instance)
            with gunicorns(
                2, url, instance, workers=1, storage=redis.url, secret_key=shared_secret
            ) as (a, b):
                yield a, b
    finally:
        pgcluster.drop_database(cluster, name)


def _send(form_from: Gunicorn, post_to: Gunicorn, text: str):  # type: ignore[no-untyped-def]
    visitor = Visitor(form_from.base)
    _answer, hidden = visitor.open_form()
    assert hidden is not None
    visitor.host, visitor.port = "127.0.0.1", int(post_to.base.rsplit(":", 1)[1])
    return visitor.post("/report", {**hidden, **plain_fields(text)})


def test_global_limit_holds_across_two_app_servers(two_servers) -> None:  # type: ignore[no-untyped-def]
    a, b = two_servers
    # When reporters send to both servers, more than the global limit allows, some opening
    # the form on one server and sending it to the other (as behind a load balancer)
    routes = [(a, a), (b, b), (a, b), (b, a)] * 2
    answers = [_send(came, sent, f"report {i}") for i, (came, sent) in enumerate(routes)]
    # Then exactly GLOBAL were accepted in all, counted in the one shared Redis
    accepted = [i for i, x in enumerate(answers) if x.receipt]
    assert accepted == list(range(GLOBAL)), [(x.status, x.title) for x in answers]
    # (including forms opened on one server and accepted by the other: the session is a
    # signed cookie that any server with the same SECRET_KEY reads)
    assert {routes[i][0] is not routes[i][1] for i in accepted} == {True, False}
    # and every other answer was the clear "too many tries" page, from both servers
    refused = [(routes[i][1], x) for i, x in enumerate(answers) if not x.receipt]
    assert all(x.status == 429 and x.clear_refusal for _, x in refused)
    assert {server.base for server, _ in refused} == {a.base, b.base}
