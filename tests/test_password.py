"""Passwords and authenticators (finding 13.9): self-service change, the forced change and TOTP
enrolment at the first log-in of an account an admin made, the admin's audited TOTP reset; a
change or a reset ends her other sessions.

Cost: about 5 s (Argon2id for each log-in and change).
"""

from __future__ import annotations

import re

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.staff import Staff
from tests.support.staff import PASSWORD, csrf_of, fresh_code, log_in, make_staff

NEW = "a brand new password of mine"


def _actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (e.action, e.object)
            for e in db.session().scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/staff/account").status_code == 200


def _change(client: FlaskClient, current: str, new: str, again: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/account/password",
        data={
            "csrf_token": csrf_of(client, "/staff/account"),
            "current": current,
            "new": new,
            "again": new if again is None else again,
        },
    )


def test_self_service_change_ends_her_other_sessions_and_keeps_this_one(app: Flask) -> None:
    member = make_staff(app, "thandi", ["moderator"], ["GP"], iterations=1000)
    here, elsewhere = app.test_client(), app.test_client()
    assert log_in(app, here, member).status_code == 303
    assert log_in(app, elsewhere, member).status_code == 303
    assert _logged_in(here) and _logged_in(elsewhere)
    page = here.get("/staff/account").get_data(as_text=True)
    assert 'id="password-form"' in page

    # refused: wrong current password, too short, two different new ones
    assert _change(here, "not my password at all", NEW).status_code == 400
    short = _change(here, PASSWORD, "short")
    assert short.status_code == 400 and "At least 12 characters" in short.get_data(as_text=True)
    assert _change(here, PASSWORD, NEW, NEW + "x").status_code == 400
    assert _logged_in(elsewhere)  # nothing changed yet

    # When she changes it
    done = _change(here, PASSWORD, NEW)
    assert done.status_code == 303 and "password" in done.headers["Location"]
    # Then this browser goes on, the other one is logged out
    assert _logged_in(here)
    assert not _logged_in(elsewhere)
    # and only the new password logs in, hashed with Argon2id
    assert log_in(app, app.test_client(), member).status_code == 401
    assert log_in(app, app.test_client(), member, password=NEW).status_code == 303
    with app.app_context():
        stored = db.session().get(Staff, member.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert ("staff_update", "thandi:password-self") in _actions(app)


def _admin_creates(app: Flask, admin: FlaskClient, login: str, first: str) -> None:
    resp = admin.post(
        "/staff/admin",
        data={
            "csrf_token": csrf_of(admin, "/staff/admin"),
            "what": "staff",
            "staff-login": login,
            "staff-password": first,
            "staff-roles": ["moderator"],
            "staff-provinces": ["GP"],
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]


def test_an_account_an_admin_made_enrols_totp_and_chooses_a_password_first(app: Flask) -> None:
    boss = make_staff(app, "boss", ["admin"], iterations=1000)
    admin = app.test_client()
    assert log_in(app, admin, boss).status_code == 303
    first = "the first password the admin typed"
    _admin_creates(app, admin, "lindiwe", first)

    # When she logs in for the first time: the password alone leads to enrolment
    her = app.test_client()
    resp = her.post(
        "/staff/login",
        data={"csrf_token": csrf_of(her), "login": "lindiwe", "password": first, "code": ""},
    )
    assert resp.headers["Location"].endswith("/staff/enrol")
    token = csrf_of(her, "/staff/enrol")  # the page makes her secret
    with app.app_context():
        secret = (
            db.session().scalars(select(Staff.totp_secret).where(Staff.login == "lindiwe")).one()
        )
    done = her.post("/staff/enrol", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    # Then, TOTP confirmed, she must choose her own password before any staff page opens
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/password/new")
    for path in ("/staff/queue", "/staff/account", "/staff/keys/setup"):
        blocked = her.get(path)
        assert blocked.status_code in (302, 401) and "password/new" not in blocked.headers.get(
            "Location", ""
        ), path
    page = her.get("/staff/password/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    # not the first password again, not too short
    assert (
        her.post(
            "/staff/password/new", data={"csrf_token": token, "new": first, "again": first}
        ).status_code
        == 400
    )
    assert (
        her.post(
            "/staff/password/new", data={"csrf_token": token, "new": "short", "again": "short"}
        ).status_code
        == 400
    )
    chosen = her.post("/staff/password/new", data={"csrf_token": token, "new": NEW, "again": NEW})
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/staff/keys/setup")
    assert her.get("/staff/keys/setup").status_code == 200
    with app.app_context():
        row = db.session().scalars(select(Staff).where(Staff.login == "lindiwe")).one()
        assert row.password_change_required is False and row.totp_confirmed
        her_id = row.id
        # the admin's first password no longer works
        db.session().execute(update(Staff).where(Staff.id == her_id).values(totp_last_step=None))
        db.session().commit()
    assert ("staff_update", "lindiwe:password-first") in _actions(app)
    again = app.test_client()  # (the step was reset above: the current code is usable again)
    code = pyotp.TOTP(secret).now()
    assert (
        again.post(
            "/staff/login",
            data={
                "csrf_token": csrf_of(again),
                "login": "lindiwe",
                "password": first,
                "code": code,
            },
        ).status_code
        == 401
    )
    assert (
        again.post(
            "/staff/login",
            data={"csrf_token": csrf_of(again), "login": "lindiwe", "password": NEW, "code": code},
        ).status_code
        == 303
    )


def test_the_forced_change_also_comes_after_a_normal_log_in(app: Flask) -> None:
    member = make_staff(app, "sipho", ["moderator"], ["GP"], iterations=1000)
    with app.app_context():
        db.session().execute(
            update(Staff).where(Staff.id == member.id).values(password_change_required=True)
        )
        db.session().commit()
    client = app.test_client()
    resp = log_in(app, client, member)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/password/new")
    assert client.get("/staff/queue").status_code != 200


def test_admin_totp_reset_is_audited_ends_her_sessions_and_she_enrols_again(app: Flask) -> None:
    boss = make_staff(app, "boss", ["admin"], iterations=1000)
    member = make_staff(app, "zodwa", ["moderator"], ["GP"], iterations=1000)
    admin, her = app.test_client(), app.test_client()
    assert log_in(app, admin, boss).status_code == 303
    assert log_in(app, her, member).status_code == 303 and _logged_in(her)
    assert "Reset authenticator" in admin.get("/staff/admin").get_data(as_text=True)

    # a moderator cannot reset anyone's authenticator, nor an admin her own
    assert (
        her.post(
            f"/staff/admin/staff/{boss.id}/reset-totp",
            data={"csrf_token": csrf_of(her, "/staff/account")},
        ).status_code
        == 403
    )
    assert (
        admin.post(
            f"/staff/admin/staff/{boss.id}/reset-totp",
            data={"csrf_token": csrf_of(admin, "/staff/admin")},
        ).status_code
        == 400
    )

    # When the admin resets hers
    resp = admin.post(
        f"/staff/admin/staff/{member.id}/reset-totp",
        data={"csrf_token": csrf_of(admin, "/staff/admin")},
    )
    assert resp.status_code == 303
    # Then her open session is over, the reset is in the audit log
    assert not _logged_in(her)
    assert ("staff_update", "zodwa:totp-reset") in _actions(app)
    with app.app_context():
        row = db.session().get(Staff, member.id)
        assert row is not None and row.totp_secret is None and not row.totp_confirmed
    # and her old authenticator no longer logs in; the password alone leads to enrolment
    old_code = pyotp.TOTP(member.totp_secret).now()
    fresh = app.test_client()
    resp = fresh.post(
        "/staff/login",
        data={
            "csrf_token": csrf_of(fresh),
            "login": "zodwa",
            "password": PASSWORD,
            "code": old_code,
        },
    )
    assert resp.headers["Location"].endswith("/staff/enrol")
    page = fresh.get("/staff/enrol").get_data(as_text=True)
    assert member.totp_secret not in page


def test_the_admins_password_change_also_ends_her_other_sessions(app: Flask) -> None:
    boss = make_staff(app, "boss", ["admin"], iterations=1000)
    a, b = app.test_client(), app.test_client()
    assert log_in(app, a, boss).status_code == 303
    fresh_code(app, boss)
    assert log_in(app, b, boss).status_code == 303
    assert _change(b, PASSWORD, NEW).status_code == 303
    assert not _logged_in(a) and _logged_in(b)
    assert a.get("/staff/admin").status_code in (302, 401)
