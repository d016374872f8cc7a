"""No phone number (and no narrative) in any table, database file, log or Redis key/value
after USSD and SMS requests; a session resumed on another app instance through Redis."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from reporter.ops import pgcluster
from reporter.ops.servers import Redis, redis_available, redis_server
from tests.conftest import TEST_INSTANCE, make_app, table_dump
from tests.support.gateway import (
    KEY,
    RECEIPT,
    Dial,
    StubGateway,
    gateway_app,
    open_report,
    reports,
    sentinel_phone,
)
from tests.test_intake import files_containing

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server not installed")


@pytest.fixture()
def redis() -> Iterator[Redis]:
    with redis_server() as server:
        yield server


def test_sentinel_number_and_text_are_nowhere_after_ussd_and_sms(
    app_factory,
    database_url: str,
    redis: Redis,  # type: ignore[no-untyped-def]
    all_logs: pytest.LogCaptureFixture,
) -> None:
    import redis as redis_client

    started = time.time()
    stub = StubGateway()
    phone, sms_phone, db_phone = sentinel_phone(), sentinel_phone(), sentinel_phone()
    words = "SENTINEL-" + secrets.token_hex(6)
    extra: list[Flask] = []
    try:
        shared = {
            "REDIS_URL": redis.url,
            "RATELIMIT_STORAGE_URI": redis.url,
            "SECRET_KEY": secrets.token_urlsafe(40),
            "SMS_API_URL": stub.url,
            "SMS_USERNAME": "u",
            "SMS_API_KEY": "k",
        }
        one: Flask = gateway_app(app_factory, **shared)
        two: Flask = make_app(
            database_url,
            GATEWAY_KEY=KEY,
            USSD_CODE="*120*7777#",
            SITE_ADDRESS="https://example.org",
            **shared,
        )
        extra.append(two)
        # a session begun on one instance goes on on the other (state in Redis, sealed)
        dial = Dial(one.test_client(), phone=phone)
        dial.start()
        dial.send("1", "1", "1", "3")
        dial.client = two.test_client()
        dial.send("2")
        dial.send("1")
        dial.send(f"{words} took my money")
        dial.send("1")
        end = dial.send("2")
        assert RECEIPT.search(end), end
        # and the same store seen mid-session holds no number and no words
        half = Dial(one.test_client(), phone=phone)
        half.start()
        half.send("1", "1", "1", "3", "2", "1", f"{words} half way")
        client = redis_client.Redis.from_url(redis.url)
        keys = list(client.scan_iter("*"))
        assert any(k.startswith(b"ussd:") for k in keys)
        digits = phone.lstrip("+").encode()
        for k in keys:
            assert digits not in k and digits[-9:] not in k and words.encode() not in k
            value = client.dump(k) or b""
            assert digits not in value and digits[-9:] not in value
            assert words.encode() not in value
        # an SMS report and a call-me request
        for text in (f"REPORT GP {words} by sms", "CALL ME"):
            resp = two.test_client().post(
                f"/gateway/sms?key={KEY}",
                data={"from": sms_phone, "to": "40001", "text": text, "date": "x", "id": "1"},
            )
            assert resp.status_code == 200
        assert len(stub.sent) == 2
        # a session kept in the database (no Redis)
        local = make_app(database_url, GATEWAY_KEY=KEY, SMS_API_URL=stub.url)
        extra.append(local)
        ldial = Dial(local.test_client(), phone=db_phone)
        ldial.start()
        ldial.send("1", "1", "1", "3", "2", "1", f"{words} in the table", "1")
        # the numbers are inside the envelopes (call-backs), nowhere else
        opened = [open_report(one, r) for r in reports(one)]
        assert {p.get("callback", {}).get("phone") for p in opened} >= {phone, sms_phone}
    finally:
        stub.close()
        for app in extra:
            app.extensions["reporter.db"].engine.dispose()
    dump = table_dump(database_url)
    for needle in (phone, sms_phone, db_phone, phone[1:], words):
        assert needle not in dump
    pgcluster.psql(TEST_INSTANCE, "CHECKPOINT")
    datadir = pgcluster.data_dir(TEST_INSTANCE)
    for needle in (phone, sms_phone, db_phone):
        for form in (needle, needle[1:], needle[3:]):
            assert not files_containing(datadir, form.encode()), form
            assert not files_containing(TEST_INSTANCE / "app", form.encode()), form
    assert not files_containing(datadir, words.encode())
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in all_logs.records)
    for needle in (phone, sms_phone, db_phone, phone[3:], words):
        assert needle not in logged
    assert started
