"""Advocacy exports: signed bundles of aggregates (and, for casework, coarse rows)."""

from flask import Blueprint

bp = Blueprint("export", __name__)

from reporter.export import routes  # noqa: E402,F401
