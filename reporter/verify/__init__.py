"""Staff side: log-in, key custody, queue, verification and audit. Default-deny."""

from flask import Blueprint

from reporter.web.auth import guard

bp = Blueprint("verify", __name__, url_prefix="/staff")
guard(bp)

from reporter.verify import (  # noqa: E402,F401
    account,
    admin,
    intake,  # noqa: E402,F401
    outcomes,
    partners,
    password,  # noqa: E402,F401
    publication,
    queue,
)
