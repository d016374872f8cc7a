"""`python -m reporter error-pages --out DIR`: the error pages nginx serves itself (its own 413,
502, 504 …), rendered as our page in every language, at install time (scripts/install-server.sh),
before any key or database exists."""

from __future__ import annotations

import argparse
import logging
import secrets
import tempfile
from pathlib import Path

from flask import Flask

from reporter.web import errors


def _pages_app() -> Flask:
    """An app for rendering only: the deployment's languages and Quick exit address from the
    environment (/etc/reporter/env), no database, no keys (install time, before `keys init`)."""
    import os

    from reporter.app import create_app

    config: dict[str, object] = {
        "REPORTER_MODE": "test",
        "SECRET_KEY": secrets.token_urlsafe(40),
        # never connected to: rendering an error page reads no table
        "DATABASE_URL": "postgresql+psycopg://render@127.0.0.1:9/none",
        "RATELIMIT_STORAGE_URI": "memory://",
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="reporter-pages-"),
    }
    for name in ("LANGUAGES", "QUICK_EXIT_URL"):
        if os.environ.get(name):
            config[name] = os.environ[name]
    return create_app(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reporter", description="Render the error pages nginx serves itself."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    pages = sub.add_parser("error-pages", help="write <out>/<lang>/<code>.html")
    pages.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    written = errors.write_static_pages(_pages_app(), args.out)
    print(f"{len(written)} error pages in {args.out}")  # noqa: T201 - a command's report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
