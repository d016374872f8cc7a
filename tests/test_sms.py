"""SMS in through POST /gateway/sms and out through a local stub of the gateway's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from reporter.crypto import receipts
from reporter.models import db
from reporter.services import inbox, intake
from tests.support.gateway import KEY, RECEIPT, StubGateway, gateway_app, open_report, reports
from tests.support.gateway import sentinel_phone as new_phone


@pytest.fixture()
def stub() -> Iterator[StubGateway]:
    server = StubGateway()
    yield server
    server.close()


@pytest.fixture()
def gw(app_factory, stub: StubGateway) -> Flask:  # type: ignore[no-untyped-def]
    return gateway_app(
        app_factory,
        LANGUAGES="en,zu,xh,af,st,tn,nso",
        SMS_API_URL=stub.url,
        SMS_USERNAME="sisonke",
        SMS_API_KEY="at-api-key-123",
        SMS_SENDER="+27870000000",
    )


def inbound(gw: Flask, phone: str, text: str) -> None:
    resp = gw.test_client().post(
        f"/gateway/sms?key={KEY}",
        data={
            "from": phone,
            "to": "40001",
            "text": text,
            "date": "2026-12-02 01:00:00",
            "id": "m1",
        },
    )
    assert resp.status_code == 200 and resp.get_data() == b""


def test_a_report_keyword_files_a_sealed_report_and_the_receipt_goes_back(
    gw: Flask, stub: StubGateway
) -> None:
    phone = new_phone()
    inbound(gw, phone, "REPORT GP Two officers took my money at the rank")
    [report] = reports(gw)
    assert report.channel == "sms" and report.province == "GP"
    payload = open_report(gw, report)
    assert payload["narrative"] == "Two officers took my money at the rank"
    assert payload["channel"] == "sms" and "callback" not in payload
    assert phone not in str(payload)
    [sent] = stub.sent
    assert sent["path"] == "/version1/messaging"
    assert sent["headers"]["apikey"] == "at-api-key-123"
    assert sent["headers"]["accept"] == "application/json"
    form = sent["form"]
    assert form["username"] == "sisonke" and form["to"] == phone and form["from"] == "+27870000000"
    receipt = RECEIPT.search(form["message"]).group(1)  # type: ignore[union-attr]
    assert "*120*7777#" in form["message"] and "https://example.org/followup" in form["message"]
    with gw.app_context():  # the receipt she got opens her report
        opened = inbox.login(
            db.session(), receipt, intake.hashing(gw.extensions["reporter.settings"])
        )
        assert opened.report.id == report.id


def test_keywords_in_other_languages_answer_in_that_language(gw: Flask, stub: StubGateway) -> None:
    inbound(gw, new_phone(), "bika KwaZulu-Natal amaphoyisa angishaya")
    [report] = reports(gw)
    payload = open_report(gw, report)
    assert payload["language"] == "zu" and report.province == "KZN"
    assert payload["narrative"] == "amaphoyisa angishaya"
    assert RECEIPT.search(stub.sent[0]["form"]["message"])


def test_a_report_without_a_province_is_kept_routed_to_the_helpline_province(
    gw: Flask, stub: StubGateway
) -> None:
    inbound(gw, new_phone(), "REPORT they beat me")
    [report] = reports(gw)
    assert report.province == "WC" and open_report(gw, report)["narrative"] == "they beat me"


def test_other_texts_get_the_ussd_code_and_the_web_address(gw: Flask, stub: StubGateway) -> None:
    phone = new_phone()
    inbound(gw, phone, "hello who is this")
    assert reports(gw) == []
    [sent] = stub.sent
    assert sent["form"]["to"] == phone
    assert (
        "*120*7777#" in sent["form"]["message"]
        and "https://example.org" in sent["form"]["message"]
        and "REPORT" in sent["form"]["message"]
    )


def test_please_call_me_becomes_a_sealed_call_back_request(gw: Flask, stub: StubGateway) -> None:
    phone = new_phone()
    inbound(gw, phone, "Please call me")
    [report] = reports(gw)
    assert report.channel == "helpline"
    payload = open_report(gw, report)
    assert payload["callback"] == {"phone": phone} and payload["consent"]["contact"] is True
    assert "call you back" in stub.sent[0]["form"]["message"]
    assert "Receipt" not in stub.sent[0]["form"]["message"]


def test_a_gateway_that_refuses_the_reply_loses_no_report(
    app_factory, all_logs: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    broken = StubGateway(status=500, code=500)
    try:
        gw = gateway_app(app_factory, SMS_API_URL=broken.url, SMS_USERNAME="u", SMS_API_KEY="k")
        phone = new_phone()
        inbound(gw, phone, "REPORT GP lost reply")
        assert len(reports(gw)) == 1 and len(broken.sent) == 1
        logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in all_logs.records)
        assert "sms reply not sent" in logged and phone not in logged
    finally:
        broken.close()


def test_sms_needs_the_key_and_a_sender(gw: Flask) -> None:
    resp = gw.test_client().post("/gateway/sms?key=nope", data={"from": new_phone(), "text": "x"})
    assert resp.status_code == 403 and resp.get_data() == b""
    resp = gw.test_client().post(f"/gateway/sms?key={KEY}", data={"text": "x" * 10_000})
    assert resp.status_code == 400
    with pytest.raises(receipts.ReceiptMalformed):
        receipts.normalise("")
