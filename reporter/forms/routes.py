"""Report intake views."""

from __future__ import annotations

from flask import render_template

from reporter.forms import bp


@bp.get("/report")
def report() -> str:
    """The report form (works with JavaScript off)."""
    return render_template("forms/report.html")


@bp.get("/followup")
def followup() -> str:
    """Receipt log-in for the reporter's inbox."""
    return render_template("forms/followup.html")
