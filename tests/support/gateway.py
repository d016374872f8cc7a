"""Driving whole USSD sessions through POST /gateway/ussd, and a stub of the SMS API."""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Report

KEY = "test-gateway-key-" + "k" * 24
RECEIPT = re.compile(r"(\d{4} \d{4} \d{4} \d{4})")


def sentinel_phone() -> str:
    return "+2783" + "".join(secrets.choice("0123456789") for _ in range(7))


def gateway_app(app_factory: Any, **overrides: object) -> Flask:
    return app_factory(
        GATEWAY_KEY=KEY, USSD_CODE="*120*7777#", SITE_ADDRESS="https://example.org", **overrides
    )


class Dial:
    """One USSD session as the gateway drives it: every answer so far joined by '*'."""

    def __init__(
        self, client: FlaskClient, phone: str | None = None, session_id: str | None = None
    ) -> None:
        self.client = client
        self.phone = phone or sentinel_phone()
        self.session_id = session_id or "ATUid_" + secrets.token_hex(12)
        self.answers: list[str] = []
        self.screens: list[str] = []

    def post(self, text: str, **extra: str) -> str:
        data = {
            "sessionId": self.session_id,
            "serviceCode": "*120*7777#",
            "phoneNumber": self.phone,
            "networkCode": "65501",
            "text": text,
            **extra,
        }
        resp = self.client.post(f"/gateway/ussd?key={KEY}", data=data)
        assert resp.status_code == 200, resp.status_code
        assert resp.mimetype == "text/plain"
        body = resp.get_data(as_text=True)
        assert body.startswith(("CON ", "END ")), body
        assert len(body) <= 182, (len(body), body)
        self.screens.append(body)
        return body

    def start(self) -> str:
        return self.post("")

    def send(self, *answers: str) -> str:
        self.answers.extend(answers)
        return self.post("*".join(self.answers))


def option(screen: str, label: str) -> str:
    """The number of the line whose label starts with `label`."""
    for line in screen.splitlines():
        num, _sep, text = line.partition(" ")
        if num.isdigit() and text.startswith(label):
            return num
    raise AssertionError(f"{label!r} not in {screen!r}")


def reports(app: Flask) -> list[Report]:
    with app.app_context():
        rows = db.session().scalars(select(Report)).all()
        db.session().expunge_all()
        return list(rows)


def open_report(app: Flask, report: Report) -> dict[str, Any]:
    recovery = app.extensions["test.keys"].recovery_secret
    return envelope.open_envelope(report.envelope, recovery)


class StubGateway:
    """A local stub of Africa's Talking's messaging API; records every POST."""

    def __init__(self, status: int = 201, code: int = 101) -> None:
        self.sent: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.sent.append({"path": self.path, "headers": headers, "form": form})
                body = json.dumps(
                    {
                        "SMSMessageData": {
                            "Message": "Sent to 1/1",
                            "Recipients": [
                                {
                                    "statusCode": code,
                                    "number": form.get("to"),
                                    "status": "Success",
                                    "cost": "ZAR 0.20",
                                    "messageId": "ATXid_1",
                                }
                            ],
                        }
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
