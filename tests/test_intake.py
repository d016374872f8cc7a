"""Report intake: both paths, the sentinel never stored or logged, refusals, receipts, limits."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from reporter.crypto import envelope, receipts
from reporter.models import db
from reporter.models.private import Attachment, Message, Receipt, Report
from reporter.ops import pgcluster
from tests.conftest import TEST_INSTANCE, make_app, table_dump
from tests.support.intake import (
    browser_payload,
    keyring_json,
    open_form,
    plain_fields,
    receipt_of,
    recipients,
    secrets_of,
    submit_plain,
    submit_sealed,
)

SENTINEL = "SENTINEL-Zq8v-narrative"
SENTINEL_FILE = b"%PDF-1.4 SENTINEL-Zq8v-attachment-bytes " + os.urandom(16).hex().encode()


def files_containing(root: Path, needle: bytes, newer_than: float = 0.0) -> list[str]:
    """Every file under root holding needle (folders that vanish mid-walk are skipped: other
    programs share /tmp)."""
    hits = []
    for folder, _dirs, names in os.walk(root, onerror=lambda _exc: None):
        for name in names:
            path = Path(folder) / name
            try:
                fresh = path.is_file() and path.stat().st_mtime >= newer_than
                if fresh and needle in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    return hits


def only_report(app: Flask) -> Report:
    with app.app_context():
        reports = db.session().scalars(select(Report)).all()
        assert len(reports) == 1
        return reports[0]


def assert_nowhere(
    app: Flask, database_url: str, logs: pytest.LogCaptureFixture, started: float
) -> None:
    """The sentinels are in no table, no database file (WAL included), no instance file, no
    temporary file and no log record."""
    dump = table_dump(database_url)
    for needle in (SENTINEL, SENTINEL_FILE.decode()):
        assert needle not in dump
    with app.app_context():
        db.session().execute(select(1))
    pgcluster.psql(TEST_INSTANCE, "CHECKPOINT")
    datadir = pgcluster.data_dir(TEST_INSTANCE)
    for needle in (SENTINEL.encode(), SENTINEL_FILE[:30]):
        assert not files_containing(datadir, needle)
        assert not files_containing(TEST_INSTANCE / "app", needle)
        assert not files_containing(Path(tempfile.gettempdir()), needle, newer_than=started - 1)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in logs.records)
    assert SENTINEL not in logged and "SENTINEL-Zq8v" not in logged


def test_nojs_report_is_sealed_on_arrival_and_stored_nowhere_in_clear(
    app: Flask, client: FlaskClient, database_url: str, all_logs: pytest.LogCaptureFixture
) -> None:
    started = time.time()
    # Given a reporter without JavaScript who puts the sentinel in every text field and a file
    resp = submit_plain(
        client,
        narrative=f"{SENTINEL} they took my condoms",
        place=f"{SENTINEL} corner",
        perpetrator_details=f"badge {SENTINEL}",
        files=[(SENTINEL_FILE, "../../etc/fine slip.pdf", "application/pdf")],
    )
    # Then she gets a receipt and is told the server sealed it
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "locked (encrypted) on our server" in body
    assert len(receipt_of(resp).replace(" ", "")) == 16
    # And the stored envelope opens, with the case keys, to what she wrote
    report = only_report(app)
    assert report.channel == "web-nojs" and report.province == "GP" and report.status == "new"
    keys = secrets_of(app)
    for scope in ("national", "GP", "recovery"):
        payload = envelope.open_envelope(report.envelope, keys[scope])
        assert payload["narrative"].startswith(SENTINEL)
        assert SENTINEL in payload["place"]["text"] and SENTINEL in payload["perpetrator_details"]
    with pytest.raises(envelope.NotARecipient):
        envelope.open_envelope(report.envelope, keys["KZN"])
    with app.app_context():
        att = db.session().scalars(select(Attachment)).one()
        assert envelope.open_attachment(att.header, att.body, keys["GP"]) == SENTINEL_FILE
        described = payload["attachments"][0]
        assert described["name"] == "fine slip.pdf" and described["kc"] == att.header["kc"]
    assert_nowhere(app, database_url, all_logs, started)


def test_js_report_posts_envelopes_only(
    app: Flask, client: FlaskClient, database_url: str, all_logs: pytest.LogCaptureFixture
) -> None:
    started = time.time()
    keys = keyring_json(client)
    to = recipients(keys)
    header, body = envelope.seal_attachment(SENTINEL_FILE, to)
    env = envelope.seal(browser_payload(SENTINEL, attachments=[{"kc": header["kc"]}]), to)
    resp = submit_sealed(client, env, files=[(header, body)])
    assert resp.status_code == 200
    assert "locked (encrypted) on your phone" in resp.get_data(as_text=True)
    report = only_report(app)
    assert report.channel == "web-js" and report.envelope == env
    assert (
        envelope.open_envelope(report.envelope, secrets_of(app)["national"])["narrative"]
        == SENTINEL
    )
    assert_nowhere(app, database_url, all_logs, started)


def test_short_and_long_narratives_give_envelopes_of_the_same_size(
    app: Flask, client: FlaskClient
) -> None:
    for text in ("x" * 10, "y" * 900):
        assert submit_plain(client, narrative=text).status_code == 200
    with app.app_context():
        sizes = {len(json.dumps(r.envelope)) for r in db.session().scalars(select(Report))}
        buckets = {r.size_bucket for r in db.session().scalars(select(Report))}
    assert len(sizes) == 1 and len(buckets) == 1


def _mutate(env: dict, **changes: object) -> dict:
    return {**env, **changes}


SEALED_CASES = {
    "not valid JSON": lambda env, keys: "{not json",
    "a JSON list": lambda env, keys: "[1, 2, 3]",
    "deeply nested": lambda env, keys: "[" * 5000 + "]" * 5000,
    "unknown version": lambda env, keys: json.dumps(_mutate(env, v=2)),
    "non-standard base64": lambda env, keys: json.dumps(
        _mutate(env, ct=env["ct"].replace("+", "-").replace("/", "_") + "-_")
    ),
    "truncated ciphertext": lambda env, keys: json.dumps(_mutate(env, ct=env["ct"][:100])),
    "missing field": lambda env, keys: json.dumps({k: v for k, v in env.items() if k != "kc"}),
    "wrong province": lambda env, keys: json.dumps(
        envelope.seal({"x": 1}, recipients(keys, "KZN"))
    ),
    "not addressed to recovery": lambda env, keys: json.dumps(
        envelope.seal({"x": 1}, recipients(keys)[:2])
    ),
    "all-zero ephemeral key": lambda env, keys: json.dumps(_mutate(env, epk="A" * 43 + "=")),
    "oversized": lambda env, keys: json.dumps(_mutate(env, ct="A" * 1_600_000)),
}


@pytest.mark.parametrize("case", sorted(SEALED_CASES))
def test_bad_sealed_submissions_get_a_clear_4xx(app: Flask, client: FlaskClient, case: str) -> None:
    keys = keyring_json(client)
    env = envelope.seal(browser_payload("hello"), recipients(keys))
    resp = submit_sealed(client, None, raw_envelope=SEALED_CASES[case](env, keys))
    assert 400 <= resp.status_code < 500, case
    body = resp.get_data(as_text=True)
    assert 'role="alert"' in body and "Traceback" not in body
    with app.app_context():
        assert db.session().scalars(select(Report)).all() == []


def test_sealed_attachment_refusals(client: FlaskClient) -> None:
    keys = keyring_json(client)
    to = recipients(keys)
    env = envelope.seal(browser_payload("hello"), to)
    header, body = envelope.seal_attachment(b"photo", to)
    for files, expected in (
        ([(header, body[:-1])], "invalid length"),
        ([(envelope.seal_attachment(b"p", to[:2])[0], body)], "refused"),
        ([(header, body)] * 4, "at most 3"),
    ):
        resp = submit_sealed(client, env, files=files)
        assert resp.status_code == 400 and expected in resp.get_data(as_text=True)


NOJS_CASES = [
    ({"categories": []}, "Tick at least one thing"),
    ({"perpetrators": []}, "Tick who did it"),
    ({"province": ""}, "Choose the province"),
    ({"province": "XX"}, "Choose the province"),
    ({"narrative": ""}, "Please tell us what happened"),
    ({"narrative": "x" * 20_001}, "too long"),
    ({"month": "13"}, "Choose a month from the list"),
    ({"year": str(dt.date.today().year), "month": "12", "day": "31"}, ""),
    ({"day": "32"}, "from 1 to 31"),
    ({"day": "abc"}, "from 1 to 31"),
    ({"town": "1"}, "Choose a town from the list"),
    ({"town": "not-a-number"}, "Choose a town from the list"),
    ({"categories": ["not_in_vocabulary"]}, "Tick only things from the list"),
    ({"website": "http://spam"}, "leave the last field empty"),
]


@pytest.mark.parametrize(("change", "message"), NOJS_CASES)
def test_nojs_validation_messages(client: FlaskClient, change: dict, message: str) -> None:
    resp = submit_plain(client, **change)
    body = resp.get_data(as_text=True)
    if change.get("month") == "12" and dt.date.today().month != 12:
        assert resp.status_code == 400 and "future" in body
        return
    if change.get("month") == "12":
        pytest.skip("December: the future-date case cannot be built this month")
    assert resp.status_code == 400
    assert message.lower() in body.lower()
    assert 'aria-invalid="true"' in body or "leave the last field" in body


def test_town_must_be_in_the_province(client: FlaskClient) -> None:
    from reporter.domain import gazetteer

    durban = next(t for t in gazetteer.towns() if t.name == "Durban")
    resp = submit_plain(client, town=str(durban.id), province="GP")
    assert resp.status_code == 400 and "not in the province" in resp.get_data(as_text=True)
    assert submit_plain(client, town=str(durban.id), province="KZN").status_code == 200


@pytest.mark.parametrize(
    ("files", "code", "message"),
    [
        ([(b"MZ\x90", "tool.exe", "application/x-msdownload")], 400, "Only photos"),
        ([(b"a", "a.jpg", "image/jpeg")] * 4, 400, "at most 3"),
        ([(b"", "empty.jpg", "image/jpeg")], 400, "empty"),
    ],
)
def test_attachment_refusals(client: FlaskClient, files: list, code: int, message: str) -> None:
    resp = submit_plain(client, files=files)
    assert resp.status_code == code and message in resp.get_data(as_text=True)


def test_oversized_attachment_is_413(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(MAX_ATTACHMENT_BYTES=1024)
    resp = submit_plain(
        app.test_client(), files=[(b"x" * (1024 * 1024 + 2048), "big.jpg", "image/jpeg")]
    )
    assert resp.status_code == 413 and "Too large" in resp.get_data(as_text=True)


def test_form_sent_twice_makes_one_report_and_shows_the_same_receipt(
    app: Flask, client: FlaskClient
) -> None:
    data = {**open_form(client), **plain_fields()}
    first = client.post("/report", data=data)
    assert first.status_code == 303 and first.headers["Location"].endswith("/report/received")
    receipt = receipt_of(client.get("/report/received"))
    # a second post of the same form (double tap, Back and Send), after the receipt was dropped
    client.post("/report/received", data={"csrf_token": data["csrf_token"]})
    again = client.post("/report", data=data, follow_redirects=True)
    assert again.status_code == 200 and receipt_of(again) == receipt
    with app.app_context():
        assert len(db.session().scalars(select(Report)).all()) == 1


def test_form_without_csrf_or_with_a_forged_id_is_refused_and_keeps_her_words(
    app: Flask, client: FlaskClient
) -> None:
    no_csrf = {**plain_fields("my own words"), "form_id": open_form(client)["form_id"]}
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    resp = app.test_client().post("/report", data=no_csrf)
    assert resp.status_code == 400 and "my own words" in resp.get_data(as_text=True)
    forged = {**open_form(client), **plain_fields("again mine"), "form_id": "A" * 48}
    resp = client.post("/report", data=forged)
    assert resp.status_code == 400 and "again mine" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Report)).all() == []


def login(client: FlaskClient, receipt: str):  # type: ignore[no-untyped-def]
    html = client.get("/followup").get_data(as_text=True)
    from tests.support.intake import hidden

    return client.post(
        "/followup",
        data={"csrf_token": hidden(html, "csrf_token"), "receipt": receipt},
        follow_redirects=True,
    )


def test_inbox_shows_status_and_messages_and_takes_an_answer(
    app: Flask, client: FlaskClient
) -> None:
    receipt = receipt_of(submit_plain(client))
    report = only_report(app)
    keys = secrets_of(app)
    with app.app_context():
        sess = db.session()
        row = sess.scalars(select(Receipt)).one()
        to = [*recipients(keyring_json(client)), envelope.b64d(row.reply_public_key)]
        sess.add(
            Message(
                report_id=report.id,
                direction="to_reporter",
                envelope=envelope.seal(
                    {"v": 1, "from": "moderator", "text": "Which station were they from?"}, to
                ),
            )
        )
        sess.execute(update(Report).values(status="needs_info"))
        sess.commit()
    reporter = client.application.test_client()
    resp = login(reporter, receipt.replace(" ", "-"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Which station were they from?" in body and "We have a question for you" in body
    # the session cookie never carries the receipt
    cookie = reporter.get_cookie("s")
    assert cookie is not None and receipt.replace(" ", "") not in cookie.value
    html = reporter.get("/followup").get_data(as_text=True)
    from tests.support.intake import hidden

    sent = reporter.post(
        "/followup/reply",
        data={"csrf_token": hidden(html, "csrf_token"), "message": "Hillbrow station"},
    )
    assert sent.status_code == 303
    assert "Hillbrow station" in reporter.get("/followup?sent=1").get_data(as_text=True)
    with app.app_context():
        answer = (
            db.session().scalars(select(Message).where(Message.direction == "from_reporter")).one()
        )
        assert envelope.open_envelope(answer.envelope, keys["GP"])["text"] == "Hillbrow station"
    # logging out forgets the inbox
    html = reporter.get("/followup").get_data(as_text=True)
    reporter.post("/followup/logout", data={"csrf_token": hidden(html, "csrf_token")})
    assert "Open my inbox" in reporter.get("/followup").get_data(as_text=True)


def test_wrong_and_expired_receipts_are_indistinguishable(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = receipt_of(submit_plain(client))
    calls: list[str] = []
    real = receipts.derive
    monkeypatch.setattr(receipts, "derive", lambda r, h: calls.append(r) or real(r, h))
    wrong = login(app.test_client(), "1234 5678 1234 5678")
    with app.app_context():
        db.session().execute(
            update(Receipt).values(expires_on=dt.date.today() - dt.timedelta(days=1))
        )
        db.session().commit()
    expired = login(app.test_client(), receipt)
    assert wrong.status_code == expired.status_code == 404

    def strip(resp, typed: str) -> str:  # type: ignore[no-untyped-def]
        body = re.sub(r'name="csrf_token"[^>]*>', "", resp.get_data(as_text=True))
        return body.replace(typed, "")

    assert strip(wrong, "1234 5678 1234 5678") == strip(expired, receipt)
    assert len(calls) == 2  # one Argon2id each: the same work, the same time
    malformed = login(app.test_client(), "12345")
    assert malformed.status_code == 400 and "16 digits" in malformed.get_data(as_text=True)


def test_purge_removes_expired_receipts(app: Flask, client: FlaskClient) -> None:
    submit_plain(client)
    with app.app_context():
        db.session().execute(update(Receipt).values(expires_on=dt.date(2000, 1, 1)))
        db.session().commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert "expired receipts removed: 1" in result.output
    with app.app_context():
        assert db.session().scalars(select(Receipt)).all() == []


def test_per_session_limit_is_not_keyed_on_the_address(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(X_REPORT_LIMIT="2 per minute", X_REPORT_GLOBAL_LIMIT="100/minute")
    one = app.test_client()
    for i, addr in enumerate(("198.51.100.1", "198.51.100.2", "198.51.100.3")):
        data = {**open_form(one), **plain_fields()}
        resp = one.post("/report", data=data, environ_base={"REMOTE_ADDR": addr})
        assert resp.status_code == (303 if i < 2 else 429)
    assert "Too many reports were sent from this phone" in resp.get_data(as_text=True)
    # another session from the same address is not locked out by the first one's limit
    other = app.test_client()
    data = {**open_form(other), **plain_fields()}
    assert (
        other.post("/report", data=data, environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
        == 303
    )


def test_global_limit_is_shared_across_addresses(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(X_REPORT_GLOBAL_LIMIT="3 per minute")
    codes = []
    for i in range(4):
        c = app.test_client()
        data = {**open_form(c), **plain_fields()}
        codes.append(
            c.post("/report", data=data, environ_base={"REMOTE_ADDR": f"203.0.113.{i}"}).status_code
        )
    assert codes == [303, 303, 303, 429]


def test_database_down_gives_a_clear_not_sent_page(cluster: Path) -> None:
    app = make_app("postgresql+psycopg://nobody@/nowhere?host=/nonexistent-socket-dir")
    client = app.test_client()
    resp = client.get("/report")
    assert resp.status_code == 503 and "Not sent, try again" in resp.get_data(as_text=True)
    assert client.post("/report", data=plain_fields()).status_code in (400, 503)
    app.extensions["reporter.db"].engine.dispose()


def test_keys_json_publishes_public_halves_only(app: Flask, client: FlaskClient) -> None:
    keys = keyring_json(client)
    assert set(keys["provinces"]) == {"EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC"}
    secrets = secrets_of(app)
    text = json.dumps(keys)
    for sk in secrets.values():
        assert envelope.b64e(sk) not in text


def test_a_refused_report_at_the_limit_gives_her_form_back_with_her_words(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(X_REPORT_LIMIT="1 per minute")
    client = app.test_client()
    assert client.post("/report", data={**open_form(client), **plain_fields()}).status_code == 303
    resp = client.post(
        "/report", data={**open_form(client), **plain_fields("SENTINEL second report words")}
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 429 and "SENTINEL second report words" in body
    assert 'id="report-form"' in body and "Nothing was saved yet" in body
