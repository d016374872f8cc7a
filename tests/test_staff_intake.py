"""Reports taken by staff for someone else (/staff/intake, issue 15 part 3), through the Flask
client: role-checked and default-deny, sealed envelopes only, the source as the channel, the
same accept() and receipts as the public form, one report per form id, an audit entry with
no content, and refusals that store nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.domain.payload import make_payload
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.private import Report
from tests.support.intake import keyring_json, recipients, secrets_of
from tests.support.staff import Member, log_in, make_staff

SENTINEL = "SENTINEL-Intake-k3v8"


def page_tokens(client: FlaskClient) -> dict[str, str]:
    html = client.get("/staff/intake").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html)
    form_id = re.search(r'name="form_id" value="([^"]+)"', html)
    assert csrf and form_id, html[:300]
    return {"csrf": csrf.group(1), "form_id": form_id.group(1)}


def sealed_for(
    client: FlaskClient, province: str = "GP", source: str = "helpline", **extra: Any
) -> str:
    keys = keyring_json(client)
    payload = make_payload(
        categories=["extortion"],
        perpetrators=["saps"],
        year=2026,
        month=3,
        province=province,
        narrative=f"{SENTINEL} at the rank",
        channel=source,
        source=source,
        callback_phone="+27821234567",
        **extra,
    )
    return json.dumps(envelope.seal(payload, recipients(keys, province)))


def post(
    client: FlaskClient,
    tokens: dict[str, str],
    env: str,
    province: str = "GP",
    source: str = "helpline",
    csrf: bool = True,
) -> Any:
    headers = {"X-CSRFToken": tokens["csrf"]} if csrf else {}
    return client.post(
        "/staff/intake",
        data={
            "form_id": tokens["form_id"],
            "source": source,
            "province": province,
            "envelope": env,
            "attachment_headers": "[]",
        },
        headers=headers,
    )


@pytest.fixture()
def moderator(app: Flask, client: FlaskClient) -> Member:
    member = make_staff(app, "nomsa", ["moderator"], ["GP"], iterations=1000)
    assert log_in(app, client, member).status_code == 303
    return member


def reports(app: Flask) -> list[Report]:
    with app.app_context():
        return list(db.session().scalars(select(Report)).all())


def test_only_moderators_and_coordinators_take_reports(app: Flask, client: FlaskClient) -> None:
    # Given no log-in, then an advocate and an admin, then a coordinator
    assert client.get("/staff/intake").status_code in (302, 401, 403)
    for login, roles in (("adv", ["advocate"]), ("adm", ["admin"])):
        member = make_staff(app, login, roles, iterations=1000)
        c = app.test_client()
        log_in(app, c, member)
        # Then the page and the post are refused to those who do not take reports
        assert c.get("/staff/intake").status_code == 403
        assert c.post("/staff/intake", data={}).status_code in (400, 403)
    coordinator = make_staff(app, "coord", ["coordinator"], iterations=1000)
    c = app.test_client()
    log_in(app, c, coordinator)
    page = c.get("/staff/intake")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('name="source"') == 4 and 'value="walk-in"' in html
    assert '<option value="WC">' in html and '<option value="GP">' in html  # every province


def test_a_helpline_report_is_stored_with_its_source_and_a_working_receipt(
    app: Flask, client: FlaskClient, moderator: Member
) -> None:
    # Given a moderator of Gauteng on the intake page
    tokens = page_tokens(client)
    html = client.get("/staff/intake").get_data(as_text=True)
    assert '<option value="GP">' in html and '<option value="WC">' not in html
    # When her browser posts a sealed report taken on the helpline
    resp = post(client, tokens, sealed_for(client))
    # Then a receipt comes back once, and the report is stored like the others
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert re.fullmatch(r"(\d{4} ){3}\d{4}", body["receipt"]) and body["channel"] == "helpline"
    assert body["form_id"] != tokens["form_id"]
    [report] = reports(app)
    assert report.channel == "helpline" and report.province == "GP" and report.status == "new"
    opened = envelope.open_envelope(report.envelope, secrets_of(app)["GP"])
    assert opened["source"] == "helpline" and opened["callback"] == {"phone": "+27821234567"}
    # and the audit log says an intake happened, from which door, never what it said
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "intake")).all()
        assert [(e.staff_id, e.object) for e in events] == [(moderator.id, "helpline:GP")]
    # and her receipt opens her inbox
    reporter = app.test_client()
    follow = reporter.get("/followup").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', follow)
    assert csrf
    login = reporter.post(
        "/followup", data={"csrf_token": csrf.group(1), "receipt": body["receipt"]}
    )
    assert login.status_code == 303
    assert reporter.get("/followup").status_code == 200


def test_a_resend_of_the_same_form_is_the_same_report(
    app: Flask, client: FlaskClient, moderator: Member
) -> None:
    tokens = page_tokens(client)
    env = sealed_for(client, source="walk-in")
    first = post(client, tokens, env, source="walk-in").get_json()
    again = post(client, tokens, env, source="walk-in").get_json()
    assert first["receipt"] == again["receipt"]
    assert [r.channel for r in reports(app)] == ["walk-in"]


@pytest.mark.parametrize(
    "case", ["bad source", "other province", "not sealed", "missing kid", "old form", "no csrf"]
)
def test_refusals_store_nothing(
    app: Flask, client: FlaskClient, moderator: Member, case: str
) -> None:
    tokens = page_tokens(client)
    env = sealed_for(client)
    if case == "bad source":
        resp = post(client, tokens, env, source="web-js")
    elif case == "other province":
        resp = post(client, tokens, sealed_for(client, province="WC"), province="WC")
    elif case == "not sealed":
        resp = post(client, tokens, f'{{"narrative": "{SENTINEL}"}}')
    elif case == "missing kid":
        keys = keyring_json(client)
        payload = make_payload(
            categories=[], perpetrators=[], year=2026, month=1, province="GP", narrative="x"
        )
        only_gp = envelope.seal(payload, recipients(keys)[1:2])
        resp = post(client, tokens, json.dumps(only_gp))
    elif case == "old form":
        resp = post(client, {**tokens, "form_id": "AAAA"}, env)
    else:
        resp = post(client, tokens, env, csrf=False)
    assert resp.status_code in (400, 403), resp.get_data(as_text=True)[:200]
    assert reports(app) == []
    with app.app_context():
        assert (
            db.session().scalars(select(AuditEvent).where(AuditEvent.action == "intake")).all()
            == []
        )
