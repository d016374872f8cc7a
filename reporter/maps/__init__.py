"""Publishing: location fuzzing, aggregation, public maps and their JSON API."""

from flask import Blueprint

bp = Blueprint("maps", __name__)

from reporter.maps import routes  # noqa: E402,F401
