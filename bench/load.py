"""Load run (issue 7): reports through gunicorn under load, with PostgreSQL restarted and then
Redis killed and started again in the middle; afterwards every receipt must lead to exactly one
stored report that opens to what was sent, and every other answer must be a clear 429 or 503.

Bounded: a fixed duration (BENCH_LOAD_SECONDS, default 60) and a fixed cap on submissions; it
stops by itself. Loopback only. Its own database in the bench cluster, its own redis-server on
a free port (the limiter's storage), gunicorn with several sync workers, and enough client
threads to keep both cores busy. Half the visitors seal in Python as the page's JavaScript does
(sealed=1), half send the plain form; one in four attaches a file.

Printed: reports_lost_under_restart and server_errors (both must be 0), accepted_per_second,
latency_p50_ms and latency_p99_ms (of the POSTs that were answered with a receipt), and the
counts behind them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.common import BENCH_INSTANCE, bench_database
from reporter.crypto import envelope, receipts
from reporter.models.private import Attachment, Receipt, Report
from reporter.ops import pgcluster
from reporter.ops.servers import (
    app_instance,
    gunicorn,
    init_instance,
    redis_server,
    warm,
)
from reporter.ops.visitor import Answer, Visitor, browser_payload, plain_fields, sealed_submission
from reporter.services.keys import InitResult, pepper

DEFAULT_SECONDS = 60.0
MAX_SUBMISSIONS = 20_000
LIMITS = {"X_REPORT_LIMIT": "100000 per minute", "X_REPORT_GLOBAL_LIMIT": "100000 per minute"}
# Fast Argon2 for the short CI run (more requests through the restart windows, quick checks);
# `make bench` keeps the production parameters.
FAST_ARGON2 = {"RECEIPT_ARGON2_TIME_COST": 1, "RECEIPT_ARGON2_MEMORY_KIB": 8192}
PROVINCES = ("EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC")


@dataclass
class Sent:
    """One submission as the visitor saw it."""

    token: str
    channel: str
    province: str
    narrative: str
    files: list[bytes]
    form: Answer | None = None
    answer: Answer | None = None


@dataclass
class Tally:
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Sent) -> None:
        with self.lock:
            self.sent.append(item)


def _visit(base: str, keys: dict[str, Any], rng: random.Random) -> Sent:
    token = secrets.token_hex(8)
    province = rng.choice(PROVINCES)
    narrative = f"load {token}: they took my money and my condoms and said it was evidence."
    files = [os.urandom(rng.randrange(2_000, 40_000))] if rng.random() < 0.25 else []
    channel = "web-js" if rng.random() < 0.5 else "web-nojs"
    sent = Sent(token, channel, province, narrative, files)
    visitor = Visitor(base, timeout=90)
    form, hidden = visitor.open_form()
    sent.form = form
    if hidden is None:
        return sent
    if channel == "web-js":
        fields, uploads = sealed_submission(
            keys, hidden, browser_payload(narrative, province), files
        )
    else:
        # random bytes, not a photo that could be cleaned of metadata: sent as they are
        fields = {**hidden, **plain_fields(narrative, province), "keep_original": "y"}
        uploads = [
            ("attachments", data, f"photo-{i}.jpg", "image/jpeg") for i, data in enumerate(files)
        ]
    sent.answer = visitor.post("/report", fields, uploads)
    return sent


def _clients(
    base: str, keys: dict[str, Any], seconds: float, concurrency: int, tally: Tally
) -> None:
    deadline = time.monotonic() + seconds
    budget = threading.Semaphore(MAX_SUBMISSIONS)

    def loop(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - choosing test data, not secrets
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            tally.add(_visit(base, keys, rng))

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 180)


def _faults(seconds: float, redis: Any, events: dict[str, float], stop: threading.Event) -> None:
    """PostgreSQL restart at about a third of the run, Redis kill + start at two thirds."""
    started = time.monotonic()
    if stop.wait(seconds * 0.33):
        return
    t = time.monotonic()
    pgcluster.restart(BENCH_INSTANCE)
    events["postgres_restart_at_s"] = round(t - started, 1)
    events["postgres_restart_s"] = round(time.monotonic() - t, 2)
    if stop.wait(max(0.0, seconds * 0.66 - (time.monotonic() - started))):
        return
    t = time.monotonic()
    redis.kill()
    time.sleep(min(2.0, seconds * 0.05))
    redis.start()
    events["redis_restart_at_s"] = round(t - started, 1)
    events["redis_down_s"] = round(time.monotonic() - t, 2)


def _redis_keys(port: int) -> int:
    import redis as redis_client

    conn = redis_client.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        return int(conn.dbsize())
    finally:
        conn.close()


def _derive_lookup(args: tuple[str, bytes, int, int]) -> tuple[str, str]:
    receipt, salt, time_cost, memory = args
    return receipt, receipts.derive(receipt, receipts.Hashing(salt, time_cost, memory)).lookup


@dataclass
class Checked:
    lost: int = 0
    wrong_content: int = 0
    stored_reports: int = 0
    stored_without_receipt_shown: int = 0
    reports_without_receipt_row: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    url: str, instance: Path, keys: InitResult, sent: list[Sent], argon2: tuple[int, int]
) -> Checked:
    """Every receipt shown maps to exactly one stored report that opens to what was sent."""
    out = Checked()
    national = keys.case_secrets["national"]
    shown = {s.answer.receipt: s for s in sent if s.answer and s.answer.receipt}
    salt = pepper(instance)
    jobs = [(r, salt, *argon2) for r in shown]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        lookups = dict(pool.map(_derive_lookup, jobs, chunksize=8))
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            reports = {r.id: r for r in session.scalars(select(Report))}
            rows = session.scalars(select(Receipt)).all()
            by_lookup: dict[str, list[Receipt]] = {}
            for row in rows:
                by_lookup.setdefault(row.lookup_hash, []).append(row)
            with_receipt = {row.report_id for row in rows}
            out.stored_reports = len(reports)
            out.reports_without_receipt_row = len(set(reports) - with_receipt)
            opened_tokens: set[str] = set()
            for receipt, item in shown.items():
                matches = by_lookup.get(lookups[receipt], [])
                if len(matches) != 1 or matches[0].report_id not in reports:
                    out.lost += 1
                    out.problems.append(f"receipt for {item.token}: {len(matches)} rows")
                    continue
                report = reports[matches[0].report_id]
                if not _opens_to(session, report, item, national):
                    out.wrong_content += 1
                    out.problems.append(f"report for {item.token} does not open to it")
                    continue
                opened_tokens.add(item.token)
            # stored, but the visitor saw no receipt (e.g. the answer was cut by the restart):
            # not lost, and counted so that it is visible
            shown_lookups = set(lookups.values())
            acknowledged = {r.report_id for r in rows if r.lookup_hash in shown_lookups}
            out.stored_without_receipt_shown = len(set(reports) - acknowledged)
    finally:
        engine.dispose()
    return out


def _opens_to(session: Session, report: Report, item: Sent, sk: bytes) -> bool:
    if report.province != item.province or report.channel != item.channel or not report.envelope:
        return False
    try:
        payload = envelope.open_envelope(report.envelope, sk)
    except envelope.EnvelopeError:
        return False
    if payload.get("narrative") != item.narrative:
        return False
    files = session.scalars(select(Attachment).where(Attachment.report_id == report.id)).all()
    if len(files) != len(item.files):
        return False
    got = sorted(
        hashlib.sha256(envelope.open_attachment(f.header, f.body, sk)).hexdigest() for f in files
    )
    return got == sorted(hashlib.sha256(data).hexdigest() for data in item.files)


def classify(sent: list[Sent]) -> dict[str, int]:
    """Accepted, clear refusals (429/503 pages), and everything else."""
    counts = {
        "accepted": 0,
        "refused_429": 0,
        "refused_503": 0,
        "server_errors": 0,
        "unclear_responses": 0,
        "connection_errors": 0,
    }
    for item in sent:
        for answer in (item.form, item.answer):
            if answer is None:
                continue
            if answer is item.answer and answer.receipt:
                counts["accepted"] += 1
            elif answer is item.form and answer.status == 200:
                continue
            elif answer.clear_refusal:
                counts[f"refused_{answer.status}"] += 1
            elif answer.error:
                counts["connection_errors"] += 1
            elif answer.status >= 500:
                counts["server_errors"] += 1
            else:
                counts["unclear_responses"] += 1
    return counts


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(
    seconds: float | None = None,
    *,
    concurrency: int = 8,
    workers: int = 4,
    fast_argon2: bool = False,
) -> dict[str, Any]:
    seconds = float(seconds or os.environ.get("BENCH_LOAD_SECONDS") or DEFAULT_SECONDS)
    settings = {**LIMITS, **(FAST_ARGON2 if fast_argon2 else {})}
    argon2 = (
        (FAST_ARGON2["RECEIPT_ARGON2_TIME_COST"], FAST_ARGON2["RECEIPT_ARGON2_MEMORY_KIB"])
        if fast_argon2
        else (3, 65536)
    )
    events: dict[str, float] = {}
    tally = Tally()
    with (
        bench_database() as url,
        app_instance(settings, BENCH_INSTANCE) as instance,
        redis_server() as redis,
    ):
        keys = init_instance(url, instance)
        with gunicorn(url, instance, workers=workers, storage=redis.url) as server:
            public = json.loads(Visitor(server.base).request("GET", "/keys.json").body)
            warm(server.base, workers)
            stop = threading.Event()
            faults = threading.Thread(
                target=_faults, args=(seconds, redis, events, stop), daemon=True
            )
            started = time.monotonic()
            faults.start()
            _clients(server.base, public, seconds, concurrency, tally)
            elapsed = time.monotonic() - started
            stop.set()
            faults.join(timeout=120)
            log = server.log_text()
            # the limiter went back to Redis after its restart (its counters live there again)
            events["redis_keys_at_end"] = _redis_keys(redis.port)
        checked = verify(url, instance, keys, tally.sent, argon2)
    counts = classify(tally.sent)
    latencies = [s.answer.seconds * 1000 for s in tally.sent if s.answer and s.answer.receipt]
    figures: dict[str, Any] = {
        "reports_lost_under_restart": checked.lost + checked.wrong_content,
        "server_errors": counts["server_errors"]
        + counts["connection_errors"]
        + counts["unclear_responses"],
        "accepted_per_second": round(counts["accepted"] / elapsed, 2),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        "load_seconds": round(elapsed, 1),
        "load_submissions": len(tally.sent),
        "load_accepted": counts["accepted"],
        "load_refused_429": counts["refused_429"],
        "load_refused_503": counts["refused_503"],
        "load_unclear_responses": counts["unclear_responses"],
        "load_connection_errors": counts["connection_errors"],
        "load_stored_reports": checked.stored_reports,
        "load_stored_without_receipt_shown": checked.stored_without_receipt_shown,
        "load_half_written_reports": checked.reports_without_receipt_row,
        "load_worker_tracebacks": log.count("Traceback") + log.count("unhandled "),
        "load_argon2": "fast" if fast_argon2 else "production",
        **{f"load_{k}": v for k, v in events.items()},
    }
    problems = checked.problems + [line for line in log.splitlines() if "unhandled " in line]
    if problems:
        figures["load_problems"] = problems[:10]
    return figures


if __name__ == "__main__":
    print(
        json.dumps(run(fast_argon2=os.environ.get("BENCH_LOAD_FAST_ARGON2") == "1"), sort_keys=True)
    )
