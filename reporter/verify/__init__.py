"""Staff side: log-in, key custody, queue, verification and audit. Default-deny."""

from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/staff")

from reporter.verify import routes  # noqa: E402,F401
