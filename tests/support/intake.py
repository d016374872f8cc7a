"""Small helpers that read like the reporter's story: open the form, fill it in, send it."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from reporter.crypto import envelope
from tests.support.dates import REPORTED

RECEIPT = re.compile(r'id="receipt">([0-9 ]{19})<')


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert m, f"no hidden field {name}"
    return m.group(1)


def open_form(client: FlaskClient) -> dict[str, str]:
    html = client.get("/report").get_data(as_text=True)
    return {"csrf_token": hidden(html, "csrf_token"), "form_id": hidden(html, "form_id")}


def plain_fields(narrative: str = "They took my money.", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "categories": ["extortion", "confiscation"],
        "perpetrators": ["saps"],
        "year": str(REPORTED.year),
        "month": str(REPORTED.month),
        "day": "",
        "province": "GP",
        "town": "",
        "place": "",
        "narrative": narrative,
        "perpetrator_details": "",
        "consent_contact": "y",
        "website": "",
    }
    fields.update(extra)
    return fields


def submit_plain(
    client: FlaskClient,
    narrative: str = "They took my money.",
    files: list[tuple[bytes, str, str]] | None = None,
    **extra: Any,
) -> TestResponse:
    data = {**open_form(client), **plain_fields(narrative, **extra)}
    if not files:
        return client.post("/report", data=data, follow_redirects=True)
    data["attachments"] = [
        FileStorage(io.BytesIO(b), name, content_type=kind) for b, name, kind in files
    ]
    return post_multipart(client, data)


def post_multipart(client: FlaskClient, data: dict[str, Any]) -> TestResponse:
    """Encode in memory: werkzeug's test client would spool a large body to a temp file."""
    fields = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            fields.add(key, item)
    boundary, body = encode_multipart(fields)
    return client.post(
        "/report",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body),
        follow_redirects=True,
    )


def browser_payload(narrative: str, province: str = "GP", **extra: Any) -> dict[str, Any]:
    payload = {
        "v": 1,
        "categories": ["extortion"],
        "perpetrators": ["saps"],
        "when": {"year": REPORTED.year, "month": REPORTED.month, "day": None},
        "province": province,
        "place": {"town_id": None, "town": None, "text": None},
        "pin": None,
        "narrative": narrative,
        "perpetrator_details": "",
        "consent": {"contact": True, "legal": False},
        "attachments": [],
        "language": "en",
    }
    payload.update(extra)
    return payload


def keyring_json(client: FlaskClient) -> dict[str, Any]:
    return json.loads(client.get("/keys.json").get_data(as_text=True))


def recipients(keys: dict[str, Any], province: str = "GP") -> list[bytes]:
    return [
        envelope.b64d(keys["national"]["pk"]),
        envelope.b64d(keys["provinces"][province]["pk"]),
        envelope.b64d(keys["recovery"]["pk"]),
    ]


def submit_sealed(
    client: FlaskClient,
    env: Any,
    province: str = "GP",
    files: list[tuple[Any, bytes]] | None = None,
    raw_envelope: str | None = None,
) -> TestResponse:
    data: dict[str, Any] = {
        **open_form(client),
        "sealed": "1",
        "province": province,
        "envelope": raw_envelope if raw_envelope is not None else json.dumps(env),
    }
    if not files:
        # urlencoded: werkzeug's test client would spool a large multipart body to a temp file
        return client.post("/report", data=data, follow_redirects=True)
    data["attachment_headers"] = json.dumps([h for h, _ in files])
    data["attachment"] = [
        FileStorage(io.BytesIO(b), f"sealed-{i}.bin", content_type="application/octet-stream")
        for i, (_, b) in enumerate(files)
    ]
    return post_multipart(client, data)


def receipt_of(resp: TestResponse) -> str:
    m = RECEIPT.search(resp.get_data(as_text=True))
    assert m, resp.get_data(as_text=True)[:2000]
    return m.group(1)


def secrets_of(app: Flask) -> dict[str, bytes]:
    result = app.extensions["test.keys"]
    return {**result.case_secrets, "recovery": result.recovery_secret}
