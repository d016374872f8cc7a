"""ussd_p99_ms: the server time of one USSD request (POST /gateway/ussd), 99th percentile,
with 20 sessions at once through gunicorn (2 workers), target at most 300 ms.

Twenty phone lines each run BENCH_USSD_ROUNDS sessions back to back, starting at random
points of a session's length, so about 20 sessions are in progress at any moment. Each
session is a whole report as Africa's Talking drives it (language, report, a category
after one "More", who, province, typed town, month, text, call-back, legal partner: END with
the receipt, whose Argon2id and sealing are the heaviest step), with BENCH_USSD_THINK seconds
between answers (default 1 s; a person takes 5-20 s, so this is several times the real rate).
Times are measured by the client on loopback, so they include the WSGI stack and the session
store (Redis, as in production, when redis-server is installed; else the database). A
request that times out counts as 30 s and in ussd_failed.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import BENCH_INSTANCE, bench_database
from reporter.ops.servers import (
    app_instance,
    gunicorn,
    init_instance,
    redis_available,
    redis_server,
)

KEY = "bench-gateway-key-" + "b" * 24
SESSIONS = 20
ROUNDS = int(os.environ.get("BENCH_USSD_ROUNDS", "3"))
THINK = float(os.environ.get("BENCH_USSD_THINK", "1.0"))
SETTINGS = {
    "GATEWAY_KEY": KEY,
    "X_USSD_SESSION_LIMIT": "100000 per minute",
    "X_USSD_GLOBAL_LIMIT": "100000 per minute",
}
PATH = [
    "1",
    "1",
    "0",
    "1",
    "1",
    "3",
    "Johannesburg",
    "1",
    "Two officers took my money and my condoms at the rank",
    "1",
    "2",
]


def _session(base: str, times: list[float], errors: list[str]) -> None:
    sid = "ATUid_" + secrets.token_hex(12)
    answers: list[str] = []
    for step in [None, *PATH]:
        if step is not None:
            answers.append(step)
        data = urllib.parse.urlencode(
            {
                "sessionId": sid,
                "serviceCode": "*120*000#",
                "phoneNumber": "+27820000000",
                "networkCode": "65501",
                "text": "*".join(answers),
            }
        ).encode()
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(  # noqa: S310 - loopback
                f"{base}/gateway/ussd?key={KEY}",
                data=data,
                timeout=30,
            ) as resp:
                body = resp.read().decode()
        except OSError as exc:  # a timeout counts: the gateway would have given up
            times.append(30.0)
            errors.append(f"{type(exc).__name__} at step {len(answers)}")
            return
        times.append(time.perf_counter() - t0)
        if len(body) > 182 or not body.startswith(("CON ", "END ")):
            errors.append(body[:80])
        time.sleep(THINK * random.uniform(0.5, 1.5))  # noqa: S311
    if not body.startswith("END "):
        errors.append("no receipt: " + body[:80])


@contextmanager
def _store() -> Iterator[str | None]:
    """Redis as in production when redis-server is installed, else the database table."""
    if not redis_available():
        yield None
        return
    with redis_server() as server:
        yield server.url


def _caller(base: str, times: list[float], errors: list[str], offset: float) -> None:
    """One phone line: ROUNDS sessions one after another, the first after `offset` s."""
    time.sleep(offset)
    for _round in range(ROUNDS):
        _session(base, times, errors)


def run() -> dict[str, object]:
    times: list[float] = []
    errors: list[str] = []
    length = (len(PATH) + 1) * THINK  # one session, about
    with (
        bench_database() as url,
        app_instance(SETTINGS, BENCH_INSTANCE) as instance,
        _store() as redis_url,
    ):
        init_instance(url, instance)
        env = {"REDIS_URL": redis_url} if redis_url else {}
        with gunicorn(
            url, instance, workers=2, storage=redis_url or "memory://", extra_env=env
        ) as server:
            _session(server.base, [], errors)  # warm-up
            # 20 sessions in progress at any moment: each line starts at a random point of
            # a session's length, as calls do, and dials again when it is done
            lines = [
                threading.Thread(
                    target=_caller, args=(server.base, times, errors, random.uniform(0, length))
                )  # noqa: S311
                for _ in range(SESSIONS)
            ]
            for t in lines:
                t.start()
            for t in lines:
                t.join()
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "ussd_p99_ms": round(p99 * 1000, 1),
        "ussd_median_ms": round(statistics.median(ordered) * 1000, 1),
        "ussd_requests": len(ordered),
        "ussd_failed": len(errors),
        "ussd_store": "redis" if env else "database",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), sort_keys=True))
