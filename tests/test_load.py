"""A short load run in CI (issue 7): gunicorn with several workers under saturating load, with
PostgreSQL restarted and then Redis killed and started again in the middle.

Cost: about 30 s (10 s of load, the workers' warm-up, one database, the checks). The full run
(60 s, production Argon2 parameters) is part of `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess  # noqa: S404 - the load run is a program of its own (bench/load.py)
import sys

import pytest

from reporter.ops import pgcluster
from reporter.ops.servers import ROOT, redis_available

BENCH_INSTANCE = ROOT / "instance" / "bench"  # bench/common.py's cluster

pytestmark = [
    pytest.mark.skipif(not redis_available(), reason="redis-server not installed"),
    pytest.mark.load,
]


def test_short_load_run_loses_nothing_through_both_restarts() -> None:
    # Given the bench cluster (started here if it was not running, and stopped again after)
    pgdata = pgcluster.data_dir(BENCH_INSTANCE)
    was_running = pgcluster.is_running(pgdata)
    try:
        # When reporters keep submitting for 10 s while PostgreSQL and then Redis restart
        env = {**os.environ, "BENCH_LOAD_SECONDS": "10", "BENCH_LOAD_FAST_ARGON2": "1"}
        run = subprocess.run(
            [sys.executable, "-m", "bench.load"],
            cwd=ROOT,
            env=env,  # noqa: S603
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        figures = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        if not was_running:
            pgcluster.stop(BENCH_INSTANCE)

    # Then every receipt shown leads to one stored report that opens to what was sent
    assert figures["reports_lost_under_restart"] == 0, figures
    # and every other answer was the site's own, clear 429 or 503 page
    assert figures["server_errors"] == 0, figures
    assert figures["load_worker_tracebacks"] == 0, figures
    # and nothing is half-written (every report has its receipt row)
    assert figures["load_half_written_reports"] == 0, figures
    # and both faults really happened while the load was running
    assert "load_postgres_restart_s" in figures and "load_redis_down_s" in figures, figures
    assert figures["load_accepted"] > 20, figures
    # and the limiter went back to Redis once it returned
    assert figures["load_redis_keys_at_end"] > 0, figures
