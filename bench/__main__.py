"""Run every benchmark and print one JSON object as the last line."""

from __future__ import annotations

import json
import sys

from bench import differencing, export, load, pageweight, submit, wire
from bench.common import bench_app, bench_database

OTHER_TARGETS = {
    "submit_vs_core_work": "<= 1.5",
    "aggregate_vs_naive_postgis": "<= 0.1",
    "csv_export_vs_copy": "<= 1.5",
    "third_party_hosts": "0",
    "reports_lost_under_restart": "0",
    "differencing_recovered": "0",
    "ussd_p99_ms": "<= 300",
    "alert_check_ms": "<= 50",
}


def main() -> None:
    figures: dict[str, object] = {}
    with bench_database() as url:
        app = bench_app(url, **pageweight.APP_SETTINGS)  # every complete language
        with app.app_context():
            figures.update(pageweight.run(app.test_client()))
        app.extensions["reporter.db"].engine.dispose()
        # the public aggregates at BENCH_INCIDENTS (default 1,000,000) against naive PostGIS
        figures.update(differencing.aggregate_run(url))  # served from a release (issue 12)
        # the casework CSV of the same incidents against COPY ... TO STDOUT (docs/exports.md)
        figures.update(export.run(url))
    # bytes on the wire and times in Debian's Chromium on emulated 2G, as served by gunicorn
    # (issue 11; every complete language)
    figures.update(wire.run())
    # one accepted no-JS submission through gunicorn / its unavoidable work (issue 3)
    figures.update(submit.run())
    # the load run with a PostgreSQL and then a Redis restart (issue 7; BENCH_LOAD_SECONDS)
    figures.update(load.run())
    # one /alerts/check at 100,000 stored alerts, server time (issue 16; target <= 50 ms)
    figures.update(__import__("bench.alerts", fromlist=["run"]).run())
    # counts below k recovered by the differencing harness (issue 12; target 0)
    figures.update(differencing.run())
    # server time per USSD request, p99 under 20 concurrent sessions (issue 15)
    figures.update(__import__("bench.ussd", fromlist=["run"]).run())
    # each figure of DESIGN.md section 7 and issue 11 beside its target, and those that miss
    targets = {**OTHER_TARGETS, **figures.pop("wire_targets", wire.TARGETS)}
    figures["targets"] = targets
    figures["targets_missed"] = wire.missed(figures, targets)
    print(json.dumps(figures, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
