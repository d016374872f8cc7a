"""Staff side: log-in, key custody, queue, verification and audit. Default-deny."""

from flask import Blueprint

from reporter.auth import guard

bp = Blueprint("verify", __name__, url_prefix="/staff")
guard(bp)

from reporter.verify import account, admin, partners, publication, queue  # noqa: E402,F401
from reporter.verify import password  # noqa: E402,F401
from reporter.verify import intake  # noqa: E402,F401
