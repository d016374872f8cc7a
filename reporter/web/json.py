"""JSON answers of the staff endpoints: an error as {"error": message} with its status, and the
request's JSON object (or a 400 that says so)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, make_response, request


def json_error(message: str, code: int = 400) -> tuple[Response, int]:
    return jsonify(error=message), code


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 with a clear message."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting
        data = None
    if not isinstance(data, dict):
        abort(make_response(jsonify(error="Send a JSON object."), 400))
    return data
