"""The import graph keeps promises 1, 3 and 5 by construction (DESIGN.md section 3,
docs/architecture.md): the contracts in pyproject.toml, checked by import-linter on the whole
graph, indirect imports included. Each contract is shown to fail when it is broken on purpose."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "reporter",
        tmp_path / "reporter",
        ignore=shutil.ignore_patterns(
            "static", "templates", "translations", "__pycache__", "versions"
        ),
    )
    return tmp_path


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the public map reaching a report, even through a helper module
        (
            "reporter/maps/_probe.py",
            "from reporter.services import keys\n",
            "The public map and the exports never load what reporters wrote",
        ),
        (
            "reporter/export/_probe.py",
            "import reporter.models.private\n",
            "The public map and the exports never load what reporters wrote",
        ),
        # the envelope loading Flask
        ("reporter/crypto/_probe.py", "import flask\n", "crypto is pure"),
        # a model importing a blueprint
        (
            "reporter/models/_probe.py",
            "from reporter.forms import routes\n",
            "Models, the vocabulary and the domain import no blueprint",
        ),
        # the public intake and the staff side importing each other
        ("reporter/forms/_probe.py", "from reporter.verify import queue\n", "Layers"),
    ],
    ids=["maps-keys", "export-private", "crypto-flask", "models-blueprint", "forms-verify"],
)
def test_a_broken_contract_fails_the_lint(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    # Given a copy of the package where one module breaks one rule
    root = copy_of_the_package(tmp_path)
    (root / module).write_text(line)
    # When the contracts are checked
    result = lint_imports(root)
    # Then the lint fails and names the contract and the offending module
    assert result.returncode != 0, result.stdout
    text = " ".join(result.stdout.split())  # long contract names wrap in the report
    assert f"{contract}" in text and "BROKEN" in text, result.stdout
    assert re.search(r"Contracts: \d kept, [1-4] broken\.", text), result.stdout
    assert module.replace("/", ".").removesuffix(".py") in result.stdout


def test_importing_the_envelope_loads_no_flask_and_no_database() -> None:
    # the check of issue 14, as a maintainer would type it, in a fresh interpreter
    probe = (
        "import sys, reporter.crypto.envelope, reporter.crypto.receipts, reporter.crypto.signing;"
        " print(sorted(m for m in ('flask', 'sqlalchemy', 'werkzeug', 'psycopg')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
