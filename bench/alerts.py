"""alert_check_ms: server time of one /alerts/check with 100,000 stored alerts (issue 16;
target at most 50 ms). BENCH_ALERTS sets the number of alerts.

Each alert has one full phone number (one keyed digest), one partial number (a prefix digest)
and one registration (its 4-gram digests, about 5), so the index holds about 700,000 digests.
The check is timed in-process through the Flask test client (CSRF, the member session, the
per-code slow-down's conditional UPDATE, the lookup and the page), half numbers half plates,
half of them hits; the figure is the median, the 95th percentile is printed beside it, with
the lookup alone (store.check), the GET of the check form in the same run (the request's fixed
cost: session, member code, page) and the load average (the machine is shared: read the figure
against the form page's).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import statistics
import time
from typing import Any

from bench.common import bench_app, bench_database
from reporter.alerts import index, store
from reporter.alerts.common import key as alerts_key
from reporter.models import db
from reporter.models.alerts import AlertAuthorisation

DEFAULT_ALERTS = 100_000
TARGET_MS = 50.0
LETTERS = "BCDFGHJKLMNPRSTVWXYZ"


def _plate(rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(2)) + f"{rng.randrange(10**6):06d}"


def _phone(rng: random.Random) -> str:
    return f"+277{rng.randrange(10**8):08d}"


def fill(app: Any, n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """n published alerts with their digests, by COPY; returns some of their numbers/plates."""
    phones, plates = [], []
    with app.app_context():
        key = alerts_key()
        sess = db.session()
        conn = sess.connection().connection.dbapi_connection
        today = dt.date.today()
        alerts, idents = io.StringIO(), io.StringIO()
        for i in range(n):
            aid = f"b{i:019d}"
            alerts.write(
                f"{aid}\tpublished\tnon_payment\tdanger\tGP\tJohannesburg\t"
                f"{today.replace(day=1)}\tBench alert {i}\t2\t1\tf\t{today}\t"
                f"{today}\t{store.add_months(today, 6)}\n"
            )
            phone, plate = _phone(rng), _plate(rng)
            if i % 500 == 0:
                phones.append(phone)
                plates.append(plate[1:7])  # a partial plate
            rows = [
                index.Row("phone", index.digest(key, "phone", phone)),
                *index.phone_rows(key, index.national(phone)[:7] + "xxx"),
                *index.plate_rows(key, plate, 0),
            ]
            for r in rows:
                idents.write(f"{aid}\t{r.kind}\t{r.item}\t{r.grams}\t\\\\x{r.digest.hex()}\n")
        with conn.cursor() as cur:
            with cur.copy(
                "COPY alert (id, status, kind, severity, province, area, month, "
                "description, phone_count, plate_count, corroborated, drafted_on, "
                "published_on, expires_on) FROM STDIN"
            ) as cp:
                cp.write(alerts.getvalue())
            with cur.copy(
                "COPY alert_identifier (alert_id, kind, item, grams, digest) FROM STDIN"
            ) as cp:
                cp.write(idents.getvalue())
            cur.execute("ANALYZE alert; ANALYZE alert_identifier")
        conn.commit()
        sess.add(AlertAuthorisation(reference="bench", granted_on=today))
        sess.commit()
    return phones, plates


def run(url: str | None = None) -> dict[str, Any]:
    n = int(os.environ.get("BENCH_ALERTS", DEFAULT_ALERTS))
    rng = random.Random(16)
    if url is None:
        with bench_database() as fresh:
            return run(fresh)
    app = bench_app(url, ALERTS_ENABLED=True, RATELIMIT_ENABLED=False, X_ALERT_FREE_CHECKS=10**9)
    phones, plates = fill(app, n, rng)
    with app.app_context():
        [(_card, code, _e)] = store.issue_codes(db.session(), alerts_key(), "GP", 1, 12, None)
        db.session().commit()
    client = app.test_client()
    html = client.get("/alerts").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    client.post("/alerts", data={"csrf_token": token, "code": code})
    queries = []
    for i in range(200):
        kind = i % 4
        queries.append(
            rng.choice(phones)
            if kind == 0
            else _phone(rng)
            if kind == 1
            else rng.choice(plates)
            if kind == 2
            else _plate(rng)[2:8]
        )
    times, hits = [], 0
    for q in queries * 2:
        t0 = time.perf_counter()
        resp = client.post("/alerts/check", data={"csrf_token": token, "query": q})
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.status_code
        hits += 'id="no-alerts"' not in resp.get_data(as_text=True)
    times = times[len(queries) :]  # the second pass: warm caches, as a running server has
    baseline = []  # the same app's GET of the check form (session, member, page; no lookup)
    for _ in range(len(queries)):
        t0 = time.perf_counter()
        client.get("/alerts/check")
        baseline.append((time.perf_counter() - t0) * 1000)
    with app.app_context():  # the lookup alone (store.check), for comparison
        direct = []
        for q in queries:
            t0 = time.perf_counter()
            store.check(db.session(), alerts_key(), q)
            direct.append((time.perf_counter() - t0) * 1000)
    app.extensions["reporter.db"].engine.dispose()
    median = statistics.median(times)
    p95 = sorted(times)[int(len(times) * 0.95)]
    return {
        "alert_check_ms": round(median, 2),
        "alert_check_ms_p95": round(p95, 2),
        "alert_check_lookup_ms": round(statistics.median(direct), 2),
        "alert_check_form_page_ms": round(statistics.median(baseline), 2),
        "alert_check_load_average": round(os.getloadavg()[0], 2),
        "alert_check_alerts": n,
        "alert_check_hits": hits // 2,
        "alert_check_target_ms": TARGET_MS,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run()))
