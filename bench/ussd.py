"""ussd_p99_ms: the server time of one USSD request (POST /gateway/ussd), 99th percentile,
with 20 sessions at once through gunicorn (2 workers), target at most 300 ms.

Each session is a whole report as Africa's Talking drives it (language, report, a category
after one "More", who, province, typed town, month, text, call-back, legal partner: END with
the receipt, whose Argon2id and sealing are the heaviest step), with BENCH_USSD_THINK seconds
between answers (default 1 s; a person takes 5-20 s, so this is several times the real rate).
Times are measured by the client on loopback, so they include the WSGI stack and the session
store (the database: no REDIS_URL here).
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

from bench.common import bench_database
from bench.server import app_instance, gunicorn, init_instance

KEY = "bench-gateway-key-" + "b" * 24
SESSIONS = 20
ROUNDS = int(os.environ.get("BENCH_USSD_ROUNDS", "2"))
THINK = float(os.environ.get("BENCH_USSD_THINK", "1.0"))
SETTINGS = {"GATEWAY_KEY": KEY, "X_USSD_SESSION_LIMIT": "100000 per minute",
            "X_USSD_GLOBAL_LIMIT": "100000 per minute"}
PATH = ["1", "1", "0", "1", "1", "3", "Johannesburg", "1",
        "Two officers took my money and my condoms at the rank", "1", "2"]


def _session(base: str, times: list[float], errors: list[str]) -> None:
    sid = "ATUid_" + secrets.token_hex(12)
    answers: list[str] = []
    for step in [None, *PATH]:
        if step is not None:
            answers.append(step)
        data = urllib.parse.urlencode({
            "sessionId": sid, "serviceCode": "*120*000#", "phoneNumber": "+27820000000",
            "networkCode": "65501", "text": "*".join(answers)}).encode()
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{base}/gateway/ussd?key={KEY}", data=data,  # noqa: S310
                                    timeout=30) as resp:
            body = resp.read().decode()
        times.append(time.perf_counter() - t0)
        if len(body) > 182 or not body.startswith(("CON ", "END ")):
            errors.append(body[:80])
        time.sleep(THINK * random.uniform(0.5, 1.5))  # noqa: S311
    if not body.startswith("END "):
        errors.append("no receipt: " + body[:80])


def run() -> dict[str, float]:
    times: list[float] = []
    errors: list[str] = []
    with bench_database() as url, app_instance(SETTINGS) as instance:
        init_instance(url, instance)
        with gunicorn(url, instance, workers=2) as server:
            _session(server.base, [], errors)  # warm-up
            for _round in range(ROUNDS):
                threads = [threading.Thread(target=_session, args=(server.base, times, errors))
                           for _ in range(SESSIONS)]
                for t in threads:
                    t.start()
                    time.sleep(THINK / SESSIONS)  # sessions begin spread out, as calls do
                for t in threads:
                    t.join()
    if errors:
        raise RuntimeError(f"USSD bench: {len(errors)} bad answers, e.g. {errors[0]!r}")
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"ussd_p99_ms": round(p99 * 1000, 1),
            "ussd_median_ms": round(statistics.median(ordered) * 1000, 1),
            "ussd_requests": len(ordered)}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), sort_keys=True))
