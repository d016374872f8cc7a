"""ESLint (eslint.config.js, pinned in package.json) passes on our front-end scripts under
reporter/static, as `make lint-js` runs it; vendored files are ignored by the config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"


@pytest.mark.skipif(
    not ESLINT.exists(),
    reason="node_modules/.bin/eslint is missing: run `npm ci` (scripts/setup.sh does)",
)
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_eslint_passes_on_reporter_static() -> None:
    done = subprocess.run(
        [str(ESLINT), "--max-warnings", "0", "reporter/static"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
