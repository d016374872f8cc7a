"""Staff-only notes (reasons for needs-info and reject) are sealed in the moderator's browser to
the report's case keys, never to the reporter's reply key, and never leave the browser in clear
(issue 13). The server refuses a note in clear and an envelope to other recipients; there is no
server-side sealing path any more (staff pages need WebCrypto, so they need JavaScript).

Cost: about 10 s (Chromium, Argon2id log-ins).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nacl.public import PrivateKey
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Message, Receipt, Report
from reporter.services.keys import load_keyring
from tests.conftest import table_dump
from tests.support.browser import Watch, chromium, live_server
from tests.support.intake import secrets_of, submit_plain
from tests.support.pages import record_posts
from tests.support.staff import PASSPHRASE, csrf_of, fresh_code, grant, log_in, make_staff
from tests.test_staff_browser import Moderator

NOTE = "NOTE-SENTINEL-q7x same officers as last month"

SHOTS = str(Path(tempfile.gettempdir()) / "keys-{}.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _report(app: Flask) -> str:
    submit_plain(app.test_client(), "They took my money.")
    with app.app_context():
        return db.session().scalars(select(Report.id)).one()


def _notes(app: Flask, report_id: str) -> list[Message]:
    with app.app_context():
        return list(
            db.session().scalars(
                select(Message).where(
                    Message.report_id == report_id, Message.direction == "staff_note"
                )
            )
        )


@pytest.mark.browser
def test_a_reason_is_sealed_in_her_browser_and_never_sent_in_clear(
    app: Flask, browser: Any, database_url: str
) -> None:
    member = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    grant(app, member, "GP")
    report_id = _report(app)
    posted = record_posts(app)
    with live_server(app) as base:
        ctx = browser.new_context()
        page = ctx.new_page()
        watch = Watch.on(page)
        sent: list[bytes] = []
        page.on(
            "request",
            lambda r: sent.append(r.post_data_buffer or b"") if r.method == "POST" else None,
        )
        desk = Moderator(page, base)
        desk.logs_in(member.login, fresh_code(app, member))
        desk.opens_report(report_id, PASSPHRASE)
        # When she asks for more information with a staff-only reason
        page.fill("#reason", NOTE)
        with page.expect_navigation():
            page.click("#status-form button[value=needs_info]")
        page.wait_for_selector("#f-messages li", timeout=20000)
        # Then her page shows the note, opened in her browser
        page.wait_for_function(
            "document.getElementById('f-messages').innerText.indexOf('NOTE-SENTINEL') >= 0",
            timeout=20000,
        )
        page.screenshot(path=SHOTS.format("note-sealed"), full_page=True)
        assert not watch.errors and not watch.csp_violations(), watch.console
        ctx.close()
    # and neither the browser's requests nor what reached the server held the reason
    assert any(b"reason_envelope" in body for body in posted.bodies)
    for body in [*sent, *posted.bodies]:
        assert b"NOTE-SENTINEL" not in body and b"NOTE%2DSENTINEL" not in body
    assert "NOTE-SENTINEL" not in table_dump(database_url)
    # and the stored note is sealed to exactly the case keys (province, national, recovery),
    # not to the reporter's reply key, and opens with the Gauteng key
    (note,) = _notes(app, report_id)
    with app.app_context():
        ring = load_keyring(db.session())
        reply = (
            db.session()
            .scalars(select(Receipt.reply_public_key).where(Receipt.report_id == report_id))
            .one()
        )
        assert db.session().get(Report, report_id).status == "needs_info"  # type: ignore[union-attr]
    kids = {k["kid"] for k in note.envelope["keys"]}
    assert kids == ring.required_kids("GP")
    assert envelope.kid(envelope.b64d(reply, 32)) not in kids
    assert envelope.open_envelope(note.envelope, secrets_of(app)["GP"])["text"] == NOTE


def _post_status(client: FlaskClient, report_id: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client, f"/staff/reports/{report_id}")
    return client.post(f"/staff/reports/{report_id}/status", data={"csrf_token": token, **fields})


def test_the_server_refuses_a_reason_in_clear_and_one_sealed_to_other_keys(app: Flask) -> None:
    member = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    report_id = _report(app)
    client = app.test_client()
    assert log_in(app, client, member).status_code == 303
    with app.app_context():
        ring = load_keyring(db.session())
        reply = envelope.b64d(
            db.session()
            .scalars(select(Receipt.reply_public_key).where(Receipt.report_id == report_id))
            .one(),
            32,
        )
    case_keys = ring.recipients("GP")

    # a reason typed into the form in clear is refused and not kept (no server-side sealing)
    resp = _post_status(client, report_id, status="rejected", reason=NOTE)
    assert resp.status_code == 400 and "unsealed" in resp.get_data(as_text=True)
    assert NOTE not in resp.get_data(as_text=True)
    # sealed also to the reporter's reply key: she must never be able to read a staff note
    to_her = envelope.seal({"v": 1, "from": "staff", "text": NOTE}, [*case_keys, reply])
    resp = _post_status(client, report_id, status="rejected", reason_envelope=json.dumps(to_her))
    assert resp.status_code == 400 and "case keys only" in resp.get_data(as_text=True)
    # sealed without the province's key, or to a stranger's key instead
    stranger = bytes(PrivateKey.generate().public_key)
    for recipients in (
        [ring.national.pk, ring.recovery.pk],
        [ring.national.pk, stranger, ring.recovery.pk],
    ):
        env = envelope.seal({"v": 1, "from": "staff", "text": NOTE}, recipients)
        assert (
            _post_status(
                client, report_id, status="rejected", reason_envelope=json.dumps(env)
            ).status_code
            == 400
        )
    assert (
        _post_status(client, report_id, status="rejected", reason_envelope="not json").status_code
        == 400
    )
    # a reject without any reason is still refused, with what to do
    assert "write the reason" in _post_status(client, report_id, status="rejected").get_data(
        as_text=True
    )
    assert _notes(app, report_id) == []
    with app.app_context():
        assert db.session().get(Report, report_id).status != "rejected"  # type: ignore[union-attr]

    # sealed to exactly the case keys: accepted as a staff-only note
    good = envelope.seal({"v": 1, "from": "staff", "text": NOTE}, case_keys)
    assert (
        _post_status(
            client, report_id, status="rejected", reason_envelope=json.dumps(good)
        ).status_code
        == 303
    )
    (note,) = _notes(app, report_id)
    assert note.envelope == good
