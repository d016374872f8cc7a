"""The public JSON API against its OpenAPI 3.1 description, with schemathesis in-process (WSGI).

Generated requests (valid ones and deliberately invalid ones) must never get a 5xx, and every
answer must conform to the description: a documented status code, the documented content type
and a body that matches its schema. Cost: about 10 s (a few dozen examples per operation).
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from reporter.maps.openapi import document

EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


OPERATIONS = [(path, "GET") for path in document()["paths"]]


# One generated test per operation and mode, driven through hypothesis directly (schemathesis'
# own pytest integration, `from_fixture`, needs a pytest-internal attribute that pytest 9 no
# longer has; `as_strategy` is its documented alternative).
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value
)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[p for p, _ in OPERATIONS])
def test_public_api_conforms_and_never_fails(
    app: Flask, path: str, method: str, mode: GenerationMode
) -> None:
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = api[path][method]
    if mode is GenerationMode.NEGATIVE and not operation.query:
        pytest.skip("no parameters to get wrong")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(checks=CHECKS)

    check()


def test_description_names_every_public_json_endpoint(app: Flask) -> None:
    # Given the app's routes under /api/v1 and the keys for browsers
    public = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule == "/keys.json"
    }
    # Then each is described (a new public endpoint fails here until it is documented)
    assert public <= set(document()["paths"])


def test_description_is_served_with_the_vocabulary(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    params = {p["name"]: p for p in doc["paths"]["/api/v1/cells"]["get"]["parameters"]}
    assert "GP" in params["province"]["schema"]["enum"]
    assert "public" in resp.headers["Cache-Control"]
