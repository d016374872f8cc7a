"""A reporter's visit over real HTTP (loopback only): open the form, send it, read the answer.
Used by the benchmarks (bench/) and by the tests against real servers (reporter/ops/servers.py).

Standard library only (http.client), one connection per request like a phone on 2G, with the
session cookie carried by hand. Both paths: the no-JavaScript form, and envelopes sealed in
Python exactly as the page's JavaScript seals them (posted with sealed=1).
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from reporter.crypto import envelope
from reporter.services.intake import with_floor

RECEIPT = re.compile(r'id="receipt">([0-9 ]{19})<')
TITLE = re.compile(r"<h1>([^<]*)</h1>")
CLEAR_PAGES = {429: "Too many tries", 503: "Not sent, try again"}


@dataclass
class Answer:
    status: int
    body: str
    seconds: float
    error: str | None = None  # a connection failure: no HTTP answer at all
    location: str | None = None

    @property
    def receipt(self) -> str | None:
        m = RECEIPT.search(self.body) if self.status == 200 else None
        return m.group(1).replace(" ", "") if m else None

    @property
    def title(self) -> str:
        m = TITLE.search(self.body)
        return m.group(1).strip() if m else ""

    @property
    def clear_refusal(self) -> bool:
        """A 429 or 503 in the site's own words (not a proxy's or a traceback)."""
        if self.status == 429 and 'id="form-error"' in self.body:
            return True  # her form given back, with the message at its top
        return self.status in CLEAR_PAGES and self.title == CLEAR_PAGES[self.status]


def _hidden(html: str, name: str) -> str | None:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    return m.group(1) if m else None


class Visitor:
    """One browser: its own session cookie, nothing shared with other visitors."""

    def __init__(self, base: str, timeout: float = 120.0, headers: dict[str, str] | None = None):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.cookie: str | None = None
        self.headers = headers or {}

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Answer:
        headers = {"User-Agent": "reporter-bench", **self.headers}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if content_type:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            seconds = time.perf_counter() - started
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie" and value.startswith("s="):
                    self.cookie = value.split(";", 1)[0]
            return Answer(
                resp.status,
                data.decode("utf-8", "replace"),
                seconds,
                location=resp.getheader("Location"),
            )
        except (OSError, http.client.HTTPException) as exc:
            return Answer(0, "", time.perf_counter() - started, type(exc).__name__)
        finally:
            conn.close()

    def open_form(self) -> tuple[Answer, dict[str, str] | None]:
        """GET /report; the hidden fields, or None when the form was not served."""
        answer = self.request("GET", "/report")
        csrf, form_id = _hidden(answer.body, "csrf_token"), _hidden(answer.body, "form_id")
        if answer.status != 200 or not csrf or not form_id:
            return answer, None
        return answer, {"csrf_token": csrf, "form_id": form_id}

    def post(
        self,
        path: str,
        fields: dict[str, Any],
        files: list[tuple[str, bytes, str, str]] | None = None,
    ) -> Answer:
        """POST urlencoded, or multipart when there are files (field, data, name, type)."""
        content_type, body = encode_form(fields, files)
        answer = self.request("POST", path, body, content_type)
        if answer.status == 303 and answer.location:  # the receipt page is a GET (PRG)
            shown = self.request("GET", urlsplit(answer.location).path)
            return Answer(shown.status, shown.body, answer.seconds + shown.seconds, shown.error)
        return answer


def encode_form(
    fields: dict[str, Any], files: list[tuple[str, bytes, str, str]] | None = None
) -> tuple[str, bytes]:
    """(Content-Type, body): urlencoded, or multipart when there are files."""
    if not files:
        pairs = [(k, v) for k, vs in fields.items() for v in (vs if isinstance(vs, list) else [vs])]
        return "application/x-www-form-urlencoded", urlencode(pairs).encode()
    data: MultiDict[str, Any] = MultiDict()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, item)
    for field_name, blob, name, kind in files:
        data.add(field_name, FileStorage(io.BytesIO(blob), name, content_type=kind))
    boundary, body = encode_multipart(data)
    return f"multipart/form-data; boundary={boundary}", body


def plain_fields(
    narrative: str, province: str = "GP", year: int | None = None, month: int = 1
) -> dict[str, Any]:
    """The no-JS form's fields (January of this year: always offered, never in the future)."""
    year = year or dt.date.today().year
    return {
        "categories": ["extortion", "confiscation"],
        "perpetrators": ["saps"],
        "year": str(year),
        "month": str(month),
        "day": "",
        "province": province,
        "town": "",
        "place": "",
        "narrative": narrative,
        "perpetrator_details": "",
        "consent_contact": "y",
        "website": "",
    }


def browser_payload(
    narrative: str,
    province: str = "GP",
    year: int | None = None,
    month: int = 1,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The payload report.js builds, padded to the same floor."""
    year = year or dt.date.today().year
    return with_floor(
        {
            "v": 1,
            "categories": ["extortion"],
            "perpetrators": ["saps"],
            "when": {"year": year, "month": month, "day": None},
            "province": province,
            "place": {"town_id": None, "town": None, "text": None},
            "pin": None,
            "narrative": narrative,
            "perpetrator_details": "",
            "consent": {"contact": True, "legal": False},
            "attachments": attachments or [],
            "language": "en",
        }
    )


def recipients(keys: dict[str, Any], province: str) -> list[bytes]:
    return [
        envelope.b64d(keys["national"]["pk"]),
        envelope.b64d(keys["provinces"][province]["pk"]),
        envelope.b64d(keys["recovery"]["pk"]),
    ]


def sealed_submission(
    keys: dict[str, Any],
    hidden: dict[str, str],
    payload: dict[str, Any],
    files: list[bytes] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, bytes, str, str]]]:
    """Fields and files of a sealed=1 POST: the report and its files sealed as the browser does."""
    province = payload["province"]
    to = recipients(keys, province)
    sealed_files, described = [], []
    for index, data in enumerate(files or []):
        header, body = envelope.seal_attachment(data, to)
        sealed_files.append((header, body))
        described.append(
            {
                "index": index,
                "name": f"photo-{index}.jpg",
                "type": "image/jpeg",
                "size": len(data),
                "kc": header["kc"],
            }
        )
    if described:
        payload = with_floor({**payload, "attachments": described})
    fields = {
        **hidden,
        "sealed": "1",
        "province": province,
        "envelope": json.dumps(envelope.seal(payload, to)),
    }
    uploads = []
    if sealed_files:
        fields["attachment_headers"] = json.dumps([h for h, _ in sealed_files])
        uploads = [
            ("attachment", body, f"sealed-{i}.bin", "application/octet-stream")
            for i, (_, body) in enumerate(sealed_files)
        ]
    return fields, uploads
