"""Helpers for the alerts tests: an app with alerts switched on, staff, a report, a draft, codes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from reporter.models import db
from reporter.models.alerts import AlertAuthorisation
from reporter.models.private import Report
from tests.support.intake import receipt_of, submit_plain
from tests.support.staff import Member, csrf_of, grant, log_in, make_staff

# what must never be stored anywhere: the offender's number (as typed and normalised) and plate
SENTINEL_PHONE = "082 555 0147"
SENTINEL_PHONE_FORMS = (
    "0825550147",
    "825550147",
    "+27825550147",
    "27825550147",
    "082 555 0147",
    "082-555-0147",
)
SENTINEL_PLATE = "CA 918-273"
SENTINEL_PLATE_FORMS = ("CA918273", "CA 918-273", "918273", "918-273")
DESCRIPTION = "Tall man in his forties, grey beard, drives a white bakkie with a dented door."
PLACE = "behind the Shell garage on Voortrekker Road"
NARRATIVE = (
    "My name is Nomsa. The client picked me up and refused to pay, then hit me. "
    "He said his name was Sipho."
)
DETAILS = "Sipho, tall, grey beard, white bakkie"


@dataclass
class World:
    app: Flask
    report_id: str
    receipt: str
    drafter: Member
    approver: Member
    coordinator: Member
    admin: Member


def switched_on(app_factory: Callable[..., Flask], **extra: object) -> Flask:
    app = app_factory(ALERTS_ENABLED=True, **extra)
    with app.app_context():
        db.session().add(AlertAuthorisation(reference="IR-TEST-1", granted_on=dt.date(2026, 1, 5)))
        db.session().commit()
    return app


def world(app: Flask, iterations: int = 1000) -> World:
    resp = submit_plain(
        app.test_client(),
        narrative=NARRATIVE,
        place=PLACE,
        perpetrators=["client"],
        categories=["robbery_nonpayment"],
        perpetrator_details=DETAILS,
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    with app.app_context():
        report_id = db.session().scalars(select(Report.id)).one()
    drafter = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=iterations)
    approver = make_staff(app, "lerato", ["moderator"], ["GP"], iterations=iterations)
    grant(app, drafter, "GP")
    grant(app, approver, "GP")
    coordinator = make_staff(app, "coord", ["coordinator"], iterations=iterations)
    admin = make_staff(app, "admin", ["admin"], iterations=iterations)
    return World(app, report_id, receipt_of(resp), drafter, approver, coordinator, admin)


def staff_client(app: Flask, member: Member) -> FlaskClient:
    client = app.test_client()
    assert log_in(app, client, member).status_code == 303
    return client


def draft_fields(report_id: str, **extra: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "report_id": report_id,
        "kind": "non_payment",
        "severity": "danger",
        "province": "GP",
        "area": "Johannesburg",
        "month": "2026-10",
        "description": DESCRIPTION,
        "phones": SENTINEL_PHONE + "\n083 444 12xx",
        "plates": SENTINEL_PLATE,
    }
    fields.update(extra)
    return fields


def draft(app: Flask, client: FlaskClient, report_id: str, **extra: object) -> str:
    fields = draft_fields(report_id, **extra)
    fields["csrf_token"] = csrf_of(client, f"/staff/alerts/new?report={report_id}")
    resp = client.post("/staff/alerts/new", data=fields)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"].split("/staff/alerts/")[1].split("?")[0]


def approve(client: FlaskClient, alert_id: str) -> int:
    token = csrf_of(client, f"/staff/alerts/{alert_id}")
    return client.post(f"/staff/alerts/{alert_id}/approve", data={"csrf_token": token}).status_code


def issue_codes(
    client: FlaskClient, province: str = "GP", count: int = 2, months: int = 12
) -> list[tuple[int, str]]:
    token = csrf_of(client, "/staff/alerts/codes")
    html = client.post(
        "/staff/alerts/codes",
        data={"csrf_token": token, "province": province, "count": count, "months": months},
    ).get_data(as_text=True)
    return [
        (int(n), c)
        for n, c in re.findall(r"card (\d+)</p><p class=\"code\" data-code=\"([0-9A-Z-]+)\"", html)
    ]


def member_client(app: Flask, code: str) -> tuple[FlaskClient, int]:
    client = app.test_client()
    token = csrf_of(client, "/alerts")
    resp = client.post("/alerts", data={"csrf_token": token, "code": code})
    return client, resp.status_code


def check(client: FlaskClient, query: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client, "/alerts/check")
    return client.post("/alerts/check", data={"csrf_token": token, "query": query})
