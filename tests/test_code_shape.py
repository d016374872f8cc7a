"""The shape of the code (issue 14): no function in reporter/ longer than 60 lines, so each
reads on one screen. Migrations are left as written (they are history)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "reporter"
MAX_LINES = 60


def long_functions() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations/versions" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES:
                    found.append(
                        f"{path.relative_to(ROOT.parent)}:{node.lineno} "
                        f"{node.name} ({length} lines)"
                    )
    return found


def test_no_function_is_longer_than_60_lines() -> None:
    assert long_functions() == []
