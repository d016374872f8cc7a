"""Benchmarks run as the programs they are (no test imports bench/): `python -m bench.<name>`
from the repository's root with this interpreter, its figures read from the JSON object on the
last line of its output.

    figures = program_figures("export", "--database-url", url, "--n", "2000")
"""

from __future__ import annotations

import json
import subprocess  # noqa: S404 - the benchmarks are programs of their own
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def program_figures(module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run `python -m bench.<module> *args`; returns the figures it printed (fails on an error)."""
    run = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    lines = run.stdout.strip().splitlines()
    assert lines, run.stderr[-4000:]
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict), lines[-1]
    return figures
