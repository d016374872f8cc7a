"""The import graph keeps promise 5 by construction (DESIGN.md section 3): the public map and the
advocacy exports cannot even reach what reporters wrote, because they never import the report,
receipt or message models, the envelope code, or the intake and staff packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_SIDE = ("reporter/maps", "reporter/export")
FORBIDDEN = ("reporter.models", "reporter.envelope", "reporter.forms", "reporter.verify")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute or relative, at any depth of the file."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> set[str]:
    tree = ast.parse(source)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            # `from reporter import models` imports reporter.models
            out.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant):
                out.add(str(node.args[0].value))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                out.add(str(node.args[0].value))
    return out


def public_modules() -> list[Path]:
    return sorted(p for d in PUBLIC_SIDE if (ROOT / d).is_dir()
                  for p in (ROOT / d).rglob("*.py"))


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("path", public_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_public_side_never_imports_private_modules(path: Path) -> None:
    bad = sorted(name for name in imported_modules(path) if forbidden(name))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_check_sees_every_form_of_import() -> None:
    # Given a module in reporter/maps that reaches the private side in each way Python allows
    source = ("import reporter.models\nfrom reporter import envelope\n"
              "from ..forms import routes\nfrom reporter.verify.queue import x\n"
              "def f():\n    import importlib\n    importlib.import_module('reporter.verify')\n")
    # When its imports are read
    names = {n for n in imports_in(source, "reporter.maps") if forbidden(n)}
    # Then every one of them is caught
    assert {"reporter.models", "reporter.envelope", "reporter.forms.routes",
            "reporter.verify.queue", "reporter.verify"} <= names


def test_every_public_package_is_checked() -> None:
    names = {str(p.relative_to(ROOT)) for p in public_modules()}
    assert "reporter/maps/publish.py" in names and "reporter/maps/routes.py" in names
