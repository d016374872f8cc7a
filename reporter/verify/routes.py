"""Staff views."""

from __future__ import annotations

from flask import render_template

from reporter.verify import bp


@bp.get("/login")
def login() -> str:
    """Staff log-in: name, password and a TOTP code."""
    return render_template("verify/login.html")
