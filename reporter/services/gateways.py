"""One small adapter per gateway protocol. The menu and the SMS handling see only these
types; another aggregator (Clickatell, Vodacom's USSD interface) is one more adapter.

Africa's Talking:
- USSD callback: form fields sessionId, serviceCode, phoneNumber, networkCode, text (every
  answer so far joined by '*', empty on the first request); the answer is text/plain starting
  "CON " (continue) or "END " (finish).
- Inbound SMS callback: form fields from, to, text, date, id (and linkId).
- Outbound SMS: POST {base}/version1/messaging, form-encoded username, to, message, [from],
  headers apiKey and Accept: application/json.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

log = logging.getLogger(__name__)

FIELD_MAX = 2_000  # longer fields are refused (a 10 KB field gets a clear END)


@dataclass(frozen=True)
class UssdRequest:
    session_id: str
    service_code: str
    phone: str  # in this request's memory only: sealed into the envelope, never stored
    answers: list[str]
    too_long: bool = False


@dataclass(frozen=True)
class Screen:
    text: str
    final: bool = False


@dataclass(frozen=True)
class InboundSms:
    phone: str
    to: str
    text: str


class AfricasTalking:
    name = "africastalking"

    @staticmethod
    def ussd_request(form: MultiDict[str, str]) -> UssdRequest | None:
        session_id = form.get("sessionId", "")
        if not session_id or len(session_id) > 200:
            return None
        text = form.get("text", "") or ""
        too_long = len(text) > FIELD_MAX or any(
            len(form.get(k, "") or "") > 200 for k in ("serviceCode", "phoneNumber")
        )
        answers = [] if too_long or text == "" else text.split("*")
        return UssdRequest(
            session_id,
            (form.get("serviceCode") or "")[:200],
            (form.get("phoneNumber") or "")[:200],
            answers,
            too_long,
        )

    @staticmethod
    def ussd_body(screen: Screen) -> str:
        return ("END " if screen.final else "CON ") + screen.text

    @staticmethod
    def inbound_sms(form: MultiDict[str, str]) -> InboundSms | None:
        phone = form.get("from", "") or ""
        if not phone or len(phone) > 200:
            return None
        return InboundSms(phone, (form.get("to") or "")[:200], (form.get("text") or "")[:FIELD_MAX])


class SmsSendFailed(RuntimeError):
    """The gateway did not accept the message (the reason never names the number)."""


@dataclass(frozen=True)
class AfricasTalkingSender:
    """The one outbound sender: Africa's Talking's messaging API at a configurable base URL."""

    base_url: str
    username: str | None
    api_key: str | None
    sender: str | None = None
    timeout: float = 10.0

    def send(self, to: str, message: str) -> dict[str, Any]:
        if not self.username or not self.api_key:
            raise SmsSendFailed("SMS_USERNAME and SMS_API_KEY are not set")
        fields = {"username": self.username, "to": to, "message": message}
        if self.sender:
            fields["from"] = self.sender
        if not self.base_url.startswith(("https://", "http://")):
            raise SmsSendFailed("SMS_API_URL must be an http(s) address")
        req = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            self.base_url.rstrip("/") + "/version1/messaging",
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "apiKey": self.api_key,
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                answer = json.loads(resp.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SmsSendFailed(type(exc).__name__) from None
        recipients = (answer.get("SMSMessageData") or {}).get("Recipients") or []
        if not recipients or not all(r.get("statusCode") in (100, 101, 102) for r in recipients):
            raise SmsSendFailed("not accepted by the gateway")
        return answer
