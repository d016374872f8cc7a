"""Public, anonymous report intake: the form, the receipt and the reporter's inbox."""

from flask import Blueprint

bp = Blueprint("forms", __name__)

from reporter.forms import routes  # noqa: E402,F401
