"""submit_vs_core_work: the server time of one accepted no-JS submission through the real WSGI
stack (gunicorn, session, CSRF, form parsing, limiter, sealing, receipt, template) divided by
its unavoidable work called directly in this process (the receipt's Argon2id, sealing the
report to three keys, one committed insert of report + receipt).

Both sides use the production Argon2 parameters (time cost 3, 64 MiB): the gunicorn app reads
the defaults, and the direct measurement builds its Hashing from the same app settings.
Samples are sequential, after a warm-up, and the figure is the ratio of the two medians.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH_INSTANCE, bench_app, bench_database
from reporter.ops.servers import app_instance, gunicorn, init_instance, warm
from reporter.ops.visitor import Visitor, plain_fields

WARMUP = 5
SAMPLES = 30
# per-session and global report limits out of the way: this measures the work, not the limiter
LIMITS = {"X_REPORT_LIMIT": "100000 per minute", "X_REPORT_GLOBAL_LIMIT": "100000 per minute"}
NARRATIVE = (
    "Two officers stopped me near the taxi rank, took my money and my condoms as "
    "evidence, and let me go without a charge. " * 4
)


def _served_once(base: str) -> float:
    """One accepted no-JS submission: GET the form (not timed), then the timed POST."""
    visitor = Visitor(base)
    answer, hidden = visitor.open_form()
    if hidden is None:
        raise RuntimeError(f"the form was not served: {answer.status}")
    answer = visitor.post("/report", {**hidden, **plain_fields(NARRATIVE)})
    if answer.receipt is None:
        raise RuntimeError(f"submission not accepted: {answer.status} {answer.title}")
    return answer.seconds


def _measure(base: str, url: str, instance: Path, samples: int) -> dict[str, list[float]]:
    """Served and direct samples interleaved, so that drift (CPU clock, caches) hits both."""
    from reporter.crypto import envelope, receipts
    from reporter.models import db
    from reporter.models.private import Receipt, Report
    from reporter.services import intake
    from reporter.services.keys import load_keyring

    app = bench_app(url, INSTANCE_PATH=str(instance))
    settings = app.extensions["reporter.settings"]
    out: dict[str, list[float]] = {
        "served": [],
        "derive": [],
        "seal": [],
        "insert": [],
        "total": [],
    }
    payload: dict[str, Any] = intake.with_floor(
        {
            "v": 1,
            "categories": ["extortion", "confiscation"],
            "perpetrators": ["saps"],
            "when": {"year": dt.date.today().year, "month": 1, "day": None},
            "province": "GP",
            "place": {"town_id": None, "town": None, "text": None},
            "pin": None,
            "narrative": NARRATIVE,
            "perpetrator_details": "",
            "consent": {"contact": True, "legal": False},
            "attachments": [],
            "language": "en",
        }
    )
    try:
        with app.app_context():
            session = db.session()
            to = load_keyring(session).recipients("GP")
            h = intake.hashing(settings)
            for i in range(WARMUP + samples):
                served = _served_once(base)
                t0 = time.perf_counter()
                receipt = receipts.new_receipt()
                derived = receipts.derive(receipt, h)
                t1 = time.perf_counter()
                sealed = envelope.seal(payload, to)
                t2 = time.perf_counter()
                reply = receipts.new_reply_key(derived.wrap_key)
                report = Report(
                    province="GP",
                    channel="web-nojs",
                    size_bucket=len(envelope.b64d(sealed["ct"])),
                    envelope=sealed,
                )
                session.add(report)
                session.flush()
                session.add(
                    Receipt(
                        lookup_hash=derived.lookup,
                        report_id=report.id,
                        reply_public_key=reply.public_key,
                        wrapped_reply_key=reply.wrapped,
                        expires_on=receipts.expiry(settings.receipt_days),
                    )
                )
                session.commit()
                t3 = time.perf_counter()
                if i >= WARMUP:
                    out["served"].append(served)
                    out["derive"].append(t1 - t0)
                    out["seal"].append(t2 - t1)
                    out["insert"].append(t3 - t2)
                    out["total"].append(t3 - t0)
    finally:
        app.extensions["reporter.db"].engine.dispose()
    return out


def run(samples: int = SAMPLES) -> dict[str, float]:
    with bench_database() as url, app_instance(LIMITS, BENCH_INSTANCE) as instance:
        init_instance(url, instance)
        with gunicorn(url, instance, workers=2) as server:
            warm(server.base, 2)
            core = _measure(server.base, url, instance, samples)
    submit_ms = statistics.median(core["served"]) * 1000
    core_ms = statistics.median(core["total"]) * 1000
    return {
        "submit_vs_core_work": round(submit_ms / core_ms, 3),
        "submit_median_ms": round(submit_ms, 2),
        "core_work_median_ms": round(core_ms, 2),
        "core_argon2_median_ms": round(statistics.median(core["derive"]) * 1000, 2),
        "core_seal_median_ms": round(statistics.median(core["seal"]) * 1000, 3),
        "core_insert_median_ms": round(statistics.median(core["insert"]) * 1000, 2),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), sort_keys=True))
