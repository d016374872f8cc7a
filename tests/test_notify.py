"""Staff notifications through a real SMTP server (aiosmtpd on a free local port): the digest
has the same length with zero and with many new reports; no message carries report data;
notices on assignment, on a reporter's answer and on a referral; off without SMTP_URL."""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from reporter.domain.vocabulary import PROVINCES
from reporter.models import db
from reporter.models.partners import StaffNotify
from reporter.models.private import Message, Report
from reporter.models.staff import Staff
from reporter.services import notify
from tests.support.intake import submit_plain
from tests.support.staff import csrf_of, grant, make_staff
from tests.test_deploy import systemd_verify, unit_problems
from tests.test_partners import (
    add_partner_staff,
    logged_in,
    make_partner,
    post_json,
    refer_body,
)

ROOT = Path(__file__).resolve().parent.parent
NARRATIVE = "SENTINEL-notify-narrative"
# a body on the wire: BODY_LENGTH characters, its newlines as CRLF, and a final CRLF
WIRE_BODY = notify.BODY_LENGTH + notify.FOOTER.count("\n") + 2


class Inbox:
    """aiosmtpd handler: every message as it arrived (raw bytes), with its recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[tuple[list[str], bytes]]:
        end = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < end:
            time.sleep(0.05)
        notify.wait()
        return self.messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture()
def mail_app(app_factory: Any, smtp: tuple[Inbox, int]) -> Flask:
    return app_factory(SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}", NOTIFY_FROM="staff@sisonke.test")


def choose(app: Flask, member: Any, email: str, digest: str, notices: bool = True) -> None:
    """As she does on /staff/notifications."""
    client = logged_in(app, member)
    resp = client.post(
        "/staff/notifications",
        data={
            "csrf_token": csrf_of(client, "/staff/notifications"),
            "email": email,
            "digest": digest,
            **({"notices": "y"} if notices else {}),
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:400]


def report_data_in(raw: bytes, report_ids: list[str]) -> list[str]:
    """Anything in a message that tells about reports."""
    text = raw.decode("ascii", "replace")
    found = [rid for rid in report_ids if rid in text or rid[:6] in text]
    found += [
        name for code, name in PROVINCES.items() if name in text or re.search(rf"\b{code}\b", text)
    ]
    found += [w for w in ("extortion", "police", "SAPS", "Gauteng", NARRATIVE) if w in text]
    found += re.findall(r"\b\d+\b(?= (?:new |reports?|cases?))", text)
    return found


def body_of(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[1]


def test_digest_has_one_length_with_zero_and_many_reports(
    mail_app: Flask, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    moderator = make_staff(mail_app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    choose(mail_app, moderator, "thandi@example.org", "always")
    today = dt.date(2026, 11, 2)
    with mail_app.app_context():
        assert notify.digest(db.session(), notify.current_settings(), today) == 1
    [(to0, zero)] = inbox.wait_for(1)
    # then many new reports in her province, and answers
    for i in range(12):
        submit_plain(mail_app.test_client(), narrative=f"{NARRATIVE} {i}")
    with mail_app.app_context():
        ids = list(db.session().scalars(select(Report.id)))
        assert (
            notify.digest(db.session(), notify.current_settings(), today + dt.timedelta(days=1))
            == 1
        )
        # a second run on the same day sends nothing more
        assert (
            notify.digest(db.session(), notify.current_settings(), today + dt.timedelta(days=1))
            == 0
        )
    many = inbox.wait_for(2)[1][1]
    assert to0 == ["thandi@example.org"]
    assert len(zero) == len(many)
    assert len(body_of(zero)) == len(body_of(many)) == WIRE_BODY
    assert body_of(zero) == body_of(many)
    for raw in (zero, many):
        assert report_data_in(raw, ids) == [], raw


def test_activity_digest_only_when_there_is_something(
    mail_app: Flask, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    moderator = make_staff(mail_app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    kzn = make_staff(mail_app, "mod-kzn", ["moderator"], ["KZN"], iterations=1000)
    choose(mail_app, moderator, "gp@example.org", "activity")
    choose(mail_app, kzn, "kzn@example.org", "activity")
    today = dt.datetime.now(dt.UTC).date()
    with mail_app.app_context():
        db.session().execute(StaffNotify.__table__.update().values(last_digest_on=today))
        db.session().commit()
        assert (
            notify.digest(db.session(), notify.current_settings(), today + dt.timedelta(days=1))
            == 0
        )
    submit_plain(mail_app.test_client(), narrative=NARRATIVE)  # a GP report, today
    with mail_app.app_context():
        sess = db.session()
        sess.execute(StaffNotify.__table__.update().values(last_digest_on=today))
        sess.commit()
        assert notify.digest(sess, notify.current_settings(), today + dt.timedelta(days=1)) == 1
    [(to, raw)] = inbox.wait_for(1)
    assert to == ["gp@example.org"]
    assert notify.DIGEST_ACTIVITY.split(".")[0].encode() in body_of(raw)
    with mail_app.app_context():
        ids = list(db.session().scalars(select(Report.id)))
    assert report_data_in(raw, ids) == []


def test_notices_on_assignment_answer_and_referral(
    mail_app: Flask, smtp: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp
    submit_plain(mail_app.test_client(), narrative=NARRATIVE, consent_legal="y")
    with mail_app.app_context():
        report_id = db.session().scalars(select(Report.id)).one()
    moderator = make_staff(mail_app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    grant(mail_app, moderator, "GP")
    coordinator = make_staff(mail_app, "coord", ["coordinator"], iterations=1000)
    choose(mail_app, moderator, "thandi@example.org", "off")
    choose(mail_app, coordinator, "coord@example.org", "off", notices=False)
    partner = make_partner(mail_app)
    lawyer = add_partner_staff(mail_app, partner, "wlc")
    choose(mail_app, lawyer, "lawyer@example.org", "off")

    # she assigns it to herself: no notice (she knows)
    mod = logged_in(mail_app, moderator)
    mod.post(
        f"/staff/reports/{report_id}/assign",
        data={"csrf_token": csrf_of(mod, f"/staff/reports/{report_id}")},
    )
    notify.wait()
    assert inbox.messages == []
    # a coordinator takes it, then it goes back to her: a notice to her, none to him (he chose)
    with mail_app.app_context():
        sess = db.session()
        sess.get(Report, report_id).assigned_to = coordinator.id
        sess.commit()
        sess.get(Report, report_id).assigned_to = moderator.id
        sess.commit()
    [(to, raw)] = inbox.wait_for(1)
    assert to == ["thandi@example.org"]
    # the reporter answers (as the inbox stores it): a notice to the assignee
    with mail_app.app_context():
        sess = db.session()
        sess.add(
            Message(
                report_id=report_id,
                direction="from_reporter",
                envelope={"v": 1, "sealed": "ciphertext"},
            )
        )
        sess.commit()
    assert [m[0] for m in inbox.wait_for(2)] == [["thandi@example.org"]] * 2
    # a referral: a notice to the partner's staff
    from tests.support.intake import secrets_of

    body = refer_body(mod, report_id, partner, secrets_of(mail_app)["GP"])
    assert post_json(mod, f"/staff/reports/{report_id}/refer", body).status_code == 200
    messages = inbox.wait_for(3)
    assert messages[2][0] == ["lawyer@example.org"]
    lengths = {len(body_of(raw)) for _to, raw in messages}
    assert lengths == {WIRE_BODY}
    for _to, raw in messages:
        assert report_data_in(raw, [report_id]) == [], raw
        assert b"Subject: " + notify.SUBJECT.encode() in raw


def test_addresses_are_sealed_and_nothing_is_sent_without_smtp(
    app: Flask, database_url: str
) -> None:
    from tests.conftest import table_dump

    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    choose(app, moderator, "SENTINEL-address@example.org", "always")
    assert "SENTINEL-address" not in table_dump(database_url)
    client = logged_in(app, moderator)
    page = client.get("/staff/notifications").get_data(as_text=True)
    assert "SENTINEL-address@example.org" in page and "switched off" in page
    with app.app_context():
        assert notify.digest(db.session(), notify.current_settings()) == 0
        row = db.session().get(StaffNotify, moderator.id)
        assert row.email == "SENTINEL-address@example.org"
        assert db.session().get(Staff, moderator.id) is not None
    bad = client.post(
        "/staff/notifications",
        data={
            "csrf_token": csrf_of(client, "/staff/notifications"),
            "email": "not an address",
            "digest": "always",
        },
    )
    assert bad.status_code == 400


def test_digest_command_keeps_its_hour(app_factory: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    hour = (dt.datetime.now(dt.UTC).hour + 12) % 24
    app = app_factory(SMTP_URL=f"smtp://127.0.0.1:{port}", DIGEST_HOUR=hour)
    moderator = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    choose(app, moderator, "thandi@example.org", "always")
    runner = app.test_cli_runner()
    out = runner.invoke(args=["notify", "digest"])
    assert "not the digest hour" in out.output and inbox.messages == []
    out = runner.invoke(args=["notify", "digest", "--any-hour"])
    assert "digest messages sent: 1" in out.output, out.output
    assert len(inbox.wait_for(1)) == 1


@pytest.mark.skipif(
    not __import__("shutil").which("systemd-analyze"),
    reason="systemd-analyze is not on this machine (no systemd)",
)
def test_digest_units_verify() -> None:
    units = [
        ROOT / "deploy" / "systemd" / n
        for n in ("reporter-digest.service", "reporter-digest.timer")
    ]
    result = systemd_verify(units)
    assert unit_problems(result) == [], result.stdout + result.stderr
