"""Export views (staff) and the public bundle checker."""

from __future__ import annotations

from flask import render_template

from reporter.auth import allow, guard
from reporter.export import bp

guard(bp)


@bp.get("/staff/exports")
@allow("advocate", "coordinator", "admin")
def exports() -> str:
    """Advocacy exports: media bundles (aggregates) and casework bundles."""
    return render_template("export/exports.html")
