"""Public map views."""

from __future__ import annotations

from flask import render_template

from reporter.maps import bp


@bp.get("/map")
def public_map() -> str:
    """Public, aggregated, location-fuzzed map of verified incidents."""
    return render_template("maps/map.html")
