"""Staff side: access matrix, TOTP and throttling, audit chain, content, bad input, retention."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text, update
from werkzeug.test import TestResponse

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.private import Report
from reporter.models.public import Incident, SiteContent
from reporter.models.staff import Staff
from tests.support.intake import submit_plain
from tests.support.staff import Member, csrf_of, fresh_code, grant, log_in, make_staff

# the partner before the admin: the admin's walk disables the partner organisation
IDENTITIES = (
    "anonymous",
    "moderator",
    "moderator_other",
    "coordinator",
    "advocate",
    "partner",
    "admin",
)


@pytest.fixture()
def world(app: Flask) -> dict[str, object]:
    """One GP report and one staff member per role (and a moderator of another province)."""
    submit_plain(app.test_client(), narrative="a report in Gauteng")
    with app.app_context():
        report_id = db.session().scalars(select(Report.id)).one()
    people = {
        "moderator": make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000),
        "moderator_other": make_staff(app, "mod-kzn", ["moderator"], ["KZN"], iterations=1000),
        "coordinator": make_staff(app, "coord", ["coordinator"], iterations=1000),
        "advocate": make_staff(app, "adv", ["advocate"], iterations=1000),
        "admin": make_staff(app, "admin", ["admin"], iterations=1000),
    }
    # a partner organisation's staff member (issue 17): the report is not referred to it
    from tests.test_partners import add_partner_staff, make_partner

    partner = make_partner(app)
    people["partner"] = add_partner_staff(app, partner, "wlc")
    return {"report": report_id, "people": people, "partner_id": partner.id}


def staff_routes(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out)


def client_for(app: Flask, world: dict, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "anonymous":
        resp = log_in(app, client, world["people"][who])
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return client


def expected(app: Flask, endpoint: str, rule: str, who: str, world: dict) -> set[int]:
    view = app.view_functions[endpoint]
    if getattr(view, "_staff_public", False):
        return {200, 303, 400, 401}
    roles = getattr(view, "_allowed_roles", None)
    if who == "anonymous":
        return {401, 302}
    if roles is None:
        return {403}
    member_roles = {
        "moderator": {"moderator"},
        "moderator_other": {"moderator"},
        "coordinator": {"coordinator"},
        "advocate": {"advocate"},
        "admin": {"admin"},
        "partner": {"partner"},
    }[who]
    if not roles & member_roles:
        return {403}
    if who == "moderator_other" and "<report_id>" in rule:
        return {403}  # another province's report: never its envelopes
    if who == "partner" and "<report_id>" in rule:
        return {403}  # a report not referred to her organisation: nothing of it
    return {200, 302, 303, 400, 404, 409}


def test_access_matrix(app: Flask, world: dict) -> None:
    admin: Member = world["people"]["admin"]  # type: ignore[index]
    failures = []
    for who in IDENTITIES:
        for endpoint, method, rule in staff_routes(app):
            if endpoint == "verify.logout" and who != "anonymous":
                continue  # would end the session mid-matrix; covered below
            client = client_for(app, world, who)
            path = (
                rule.replace("<report_id>", str(world["report"]))
                .replace("<attachment_id>", "0" * 20)
                .replace("<int:staff_id>", str(admin.id))
                .replace("<int:grant_id>", "999999")
                .replace("<int:partner_id>", str(world["partner_id"]))
            )
            token = csrf_of(client, "/staff/login")
            if method == "GET":
                resp = client.get(path)
            else:
                resp = client.post(path, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            if resp.status_code not in expected(app, endpoint, rule, who, world):
                failures.append((who, method, path, resp.status_code))
            assert resp.status_code != 500
    assert not failures, failures


def test_every_staff_view_declares_its_roles(app: Flask) -> None:
    for endpoint, _method, rule in staff_routes(app):
        view = app.view_functions[endpoint]
        assert getattr(view, "_allowed_roles", None) or getattr(view, "_staff_public", False), rule


def test_envelopes_of_another_province_are_403(app: Flask, world: dict) -> None:
    rid = world["report"]
    other = client_for(app, world, "moderator_other")
    assert other.get(f"/staff/reports/{rid}/data").status_code == 403
    own = client_for(app, world, "moderator")
    data = own.get(f"/staff/reports/{rid}/data").get_json()
    assert data["envelope"]["v"] == 1 and "narrative" not in json.dumps(data)
    adv = client_for(app, world, "advocate")
    assert adv.get(f"/staff/reports/{rid}/data").status_code == 403
    # the queue lists only her provinces
    assert rid not in other.get("/staff/queue").get_data(as_text=True)
    assert rid in own.get("/staff/queue").get_data(as_text=True)


def test_totp_wrong_reused_and_expired_codes_are_refused(app: Flask, world: dict) -> None:
    mod: Member = world["people"]["moderator"]  # type: ignore[index]
    totp = pyotp.TOTP(mod.totp_secret)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    assert log_in(app, app.test_client(), mod, code=wrong).status_code == 401
    expired = totp.at(time.time() - 300)
    assert log_in(app, app.test_client(), mod, code=expired).status_code == 401
    code = fresh_code(app, mod)
    assert log_in(app, app.test_client(), mod, code=code).status_code == 303
    assert log_in(app, app.test_client(), mod, code=code).status_code == 401  # reused
    assert log_in(app, app.test_client(), mod, code="").status_code == 401


def test_throttling_slows_one_account_not_others(app: Flask, world: dict) -> None:
    mod: Member = world["people"]["moderator"]  # type: ignore[index]
    coord: Member = world["people"]["coordinator"]  # type: ignore[index]
    for _ in range(5):
        assert log_in(app, app.test_client(), mod, password="wrong password!").status_code == 401
    # a new browser waits (the same answer as any failure: no "locked" to learn from)
    delayed = log_in(app, app.test_client(), mod)
    assert delayed.status_code == 401 and "locked" not in delayed.get_data(as_text=True)
    # the same client address, another account: not slowed
    assert log_in(app, app.test_client(), coord).status_code == 303


def test_first_login_requires_enrolment_with_a_valid_code(app: Flask) -> None:
    with app.app_context():
        from reporter.web.auth import hash_password

        db.session().add(
            Staff(
                login="new",
                password_hash=hash_password("a long first password"),
                roles=["admin"],
                provinces=[],
            )
        )
        db.session().commit()
    client = app.test_client()
    resp = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_of(client),
            "login": "new",
            "password": "a long first password",
            "code": "",
        },
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/enrol")
    page = client.get("/staff/enrol").get_data(as_text=True)
    assert "<svg" in page and "http" not in page.split("<svg", 1)[1].split("</svg>")[0].replace(
        "http://www.w3.org", ""
    )
    with app.app_context():
        secret = db.session().scalars(select(Staff.totp_secret).where(Staff.login == "new")).one()
    token = csrf_of(client, "/staff/enrol")
    assert (
        client.post("/staff/enrol", data={"csrf_token": token, "code": "000000"}).status_code == 400
    )
    done = client.post("/staff/enrol", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/keys/setup")
    assert client.get("/staff/admin").status_code == 200


def audit_actions(app: Flask, world: dict) -> None:
    rid = world["report"]
    admin = client_for(app, world, "admin")
    token = csrf_of(admin, "/staff/queue")
    admin.post(f"/staff/reports/{rid}/assign", data={"csrf_token": token})
    admin.get(f"/staff/reports/{rid}/data")
    admin.post(
        f"/staff/reports/{rid}/status",
        data={"csrf_token": token, "status": "needs_info", "reason": ""},
    )


def run_verify(app: Flask) -> tuple[int, str]:
    result = (
        app.test_cli_runner(mix_stderr=False).invoke(args=["audit", "verify"])
        if "mix_stderr" in app.test_cli_runner.__code__.co_varnames
        else app.test_cli_runner().invoke(args=["audit", "verify"])
    )
    return result.exit_code, result.output + (getattr(result, "stderr", "") or "")


def tamper(database_url: str, sql: str) -> None:
    """What someone with superuser access to the database could do behind the trigger."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("UPDATE audit_event SET object = 'someone else' WHERE id = 3", "event 3 was altered"),
        ("DELETE FROM audit_event WHERE id = 3", "event 4 does not follow"),
        (
            "UPDATE audit_event SET id = -1 WHERE id = 3;"
            " UPDATE audit_event SET id = 3 WHERE id = 4; "
            "UPDATE audit_event SET id = 4 WHERE id = -1",
            "event 3",
        ),
        ("UPDATE audit_event SET at = at + interval '1 hour' WHERE id = 2", "event 2 was altered"),
    ],
)
def test_audit_verify_names_the_first_broken_link(
    app: Flask, world: dict, database_url: str, sql: str, named: str
) -> None:
    audit_actions(app, world)
    code, out = run_verify(app)
    assert code == 0 and "intact" in out
    tamper(database_url, sql)
    code, out = run_verify(app)
    assert code == 1 and named in out


def test_audit_log_refuses_changes_at_the_database(
    app: Flask, world: dict, database_url: str
) -> None:
    audit_actions(app, world)
    engine = create_engine(database_url)
    for sql in ("UPDATE audit_event SET object = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    engine.dispose()
    admin = client_for(app, world, "admin")
    assert "Chain intact" in admin.get("/staff/audit").get_data(as_text=True)


def test_site_content_is_sanitised(app: Flask, world: dict) -> None:
    admin = client_for(app, world, "admin")
    token = csrf_of(admin, "/staff/admin")
    payload = (
        '<p onclick="steal()">Call us <script>alert(1)</script><img src=x onerror=alert(2)>'
        '<a href="javascript:alert(3)">bad</a> <a href="tel:0800606060" '
        'onmouseover="x()">0800 60 60 60</a><style>*{}</style></p>'
    )
    resp = admin.post(
        "/staff/admin",
        data={
            "csrf_token": token,
            "what": "content",
            "content-key": "helplines",
            "content-html": payload,
        },
    )
    assert resp.status_code == 303
    page = app.test_client().get("/").get_data(as_text=True)
    home = page.split('id="help"', 1)[1].split("</section>", 1)[0]
    assert "0800 60 60 60" in home and 'rel="noopener noreferrer"' in home
    for bad in ("<script", "onerror", "onclick", "onmouseover", "javascript:", "<img", "<style"):
        assert bad not in home
    with app.app_context():
        assert "<script" not in db.session().get(SiteContent, ("helplines", "en")).html


BAD_JSON = [
    ("/staff/keys/setup", "not json"),
    ("/staff/keys/setup", json.dumps([1, 2])),
    ("/staff/keys/setup", json.dumps({"public_key": 5, "wrap": "x"})),
    ("/staff/keys/setup", json.dumps({"public_key": "A" * 43 + "=", "wrap": {"v": 1}})),
    ("/staff/reports/{rid}/message", json.dumps({"envelope": "x"})),
    ("/staff/reports/{rid}/message", json.dumps({"envelope": {"v": 1, "keys": []}})),
    ("/staff/reports/{rid}/message", "[" * 3000 + "]" * 3000),
    ("/staff/admin/grants", json.dumps({"staff_id": "abc", "case_key_id": None})),
    ("/staff/admin/grants", json.dumps({"staff_id": 99999, "case_key_id": 99999})),
    ("/staff/admin/keys/rotate", json.dumps({"scope": "moon"})),
    ("/staff/admin/keys/rotate", json.dumps({"scope": "GP", "public_key": "!!"})),
]


@pytest.mark.parametrize(("path", "body"), BAD_JSON)
def test_bad_json_gets_a_clear_4xx(app: Flask, world: dict, path: str, body: str) -> None:
    admin = client_for(app, world, "admin")
    if path == "/staff/keys/setup":
        with app.app_context():
            db.session().execute(
                update(Staff)
                .where(Staff.login == "admin")
                .values(public_key=None, wrapped_secret_key=None)
            )
            db.session().commit()
    token = csrf_of(admin, "/staff/queue")
    resp = admin.post(
        path.format(rid=world["report"]),
        data=body,
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert 400 <= resp.status_code < 500
    assert resp.is_json and resp.get_json()["error"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {
            "categories": "extortion",
            "perpetrators": "saps",
            "month": "2026-13",
            "province": "GP",
            "people_affected": "1",
            "verification_level": "reported",
            "source_type": "self",
            "confirm": "y",
        },
        {
            "categories": "extortion",
            "perpetrators": "saps",
            "month": "2026-10",
            "province": "GP",
            "lat": "abc",
            "lon": "",
            "people_affected": "1",
            "verification_level": "reported",
            "source_type": "self",
            "confirm": "y",
        },
        {
            "categories": "extortion",
            "perpetrators": "saps",
            "month": "2026-10",
            "province": "GP",
            "town": "1",
            "people_affected": "1",
            "verification_level": "reported",
            "source_type": "self",
            "confirm": "y",
        },
        {
            "categories": "extortion",
            "perpetrators": "saps",
            "month": "2026-10",
            "province": "GP",
            "lat": "51.5",
            "lon": "-0.1",
            "people_affected": "1",
            "verification_level": "reported",
            "source_type": "self",
            "confirm": "y",
        },
        {
            "categories": "made_up",
            "perpetrators": "saps",
            "month": "2026-10",
            "province": "GP",
            "lat": "-26.2",
            "lon": "28.0",
            "people_affected": "99999",
            "verification_level": "reported",
            "source_type": "self",
            "confirm": "y",
        },
    ],
)
def test_bad_publish_forms_get_a_4xx(app: Flask, world: dict, data: dict) -> None:
    mod = client_for(app, world, "moderator")
    rid = world["report"]
    token = csrf_of(mod, f"/staff/reports/{rid}")
    resp = mod.post(f"/staff/reports/{rid}/publish", data={"csrf_token": token, **data})
    assert resp.status_code == 400 and 'role="alert"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Incident)).all() == []


def test_forged_ids_and_missing_csrf(app: Flask, world: dict) -> None:
    mod = client_for(app, world, "moderator")
    assert mod.get("/staff/reports/" + "f" * 20).status_code == 404
    assert mod.get("/staff/reports/" + "x" * 500 + "/data").status_code == 404
    rid = world["report"]
    assert mod.post(f"/staff/reports/{rid}/assign").status_code == 400  # no CSRF token
    token = csrf_of(mod, "/staff/queue")
    assert (
        mod.post(
            f"/staff/reports/{rid}/duplicate", data={"csrf_token": token, "of": "../../etc"}
        ).status_code
        == 400
    )
    assert mod.get("/staff/queue?sort=drop+table").status_code == 400


def test_publish_stores_only_coarse_values(app: Flask, world: dict) -> None:
    from reporter.domain import gazetteer

    mod = client_for(app, world, "moderator")
    rid = world["report"]
    town = next(t for t in gazetteer.towns_in("GP") if t.name == "Johannesburg")
    token = csrf_of(mod, f"/staff/reports/{rid}")
    resp = mod.post(
        f"/staff/reports/{rid}/publish",
        data={
            "csrf_token": token,
            "categories": ["extortion", "confiscation"],
            "perpetrators": "saps",
            "month": "2026-10",
            "province": "GP",
            "town": str(town.id),
            "people_affected": "2",
            "verification_level": "corroborated",
            "source_type": "peer_educator",
            "confirm": "y",
        },
    )
    assert resp.status_code == 303
    with app.app_context():
        inc = db.session().scalars(select(Incident)).one()
        report = db.session().get(Report, rid)
        assert report.status == "verified"
        assert inc.month == dt.date(2026, 10, 1) and inc.province == "GP"
        assert inc.categories == ["extortion", "confiscation"] and inc.people_affected == 2


def test_retention_purges_envelopes_and_keeps_incidents(app: Flask, world: dict) -> None:
    with app.app_context():
        db.session().execute(update(Report).values(status="rejected", final_on=dt.date(2020, 1, 1)))
        db.session().commit()
    out = app.test_cli_runner().invoke(args=["purge"]).output
    assert "reports purged after 180 days: 1" in out
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        assert report.envelope is None and report.purged and report.attachments == []
        actions = db.session().scalars(select(AuditEvent.action)).all()
        assert "purge" in actions


def test_recovery_open_reads_a_report_offline(app: Flask, world: dict) -> None:
    secret = envelope.b64e(app.extensions["test.keys"].recovery_secret)
    result = app.test_cli_runner().invoke(
        args=["recovery-open", world["report"]], input=secret + "\n"
    )
    assert result.exit_code == 0 and "a report in Gauteng" in result.output
    bad = app.test_cli_runner().invoke(
        args=["recovery-open", world["report"]], input="A" * 43 + "=\n"
    )
    assert bad.exit_code != 0


def test_staff_create_command(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    runner = app.test_cli_runner()
    short = runner.invoke(args=["staff", "create", "--login", "boss"], input="short\nshort\n")
    assert short.exit_code != 0 and "12 characters" in short.output
    ok = runner.invoke(
        args=["staff", "create", "--login", "boss"],
        input="a long enough password\na long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        staff = db.session().scalars(select(Staff).where(Staff.login == "boss")).one()
        assert staff.roles == ["admin"] and not staff.totp_confirmed


def test_grant_checks_the_sealed_key_is_for_her(app: Flask, world: dict) -> None:
    admin_m: Member = world["people"]["admin"]  # type: ignore[index]
    mod: Member = world["people"]["moderator"]  # type: ignore[index]
    grant(app, admin_m, "GP")
    admin = client_for(app, world, "admin")
    token = csrf_of(admin, "/staff/queue")
    state = admin.get("/staff/admin/keys.json").get_json()
    gp = next(k for k in state["case_keys"] if k["scope"] == "GP")
    kzn = next(k for k in state["case_keys"] if k["scope"] == "KZN")
    wrong = envelope.seal({"sk": "x"}, [admin_m.pk])  # sealed to the wrong person

    def post(body: dict[str, object]) -> TestResponse:
        return admin.post("/staff/admin/grants", json=body, headers={"X-CSRFToken": token})

    assert post({"staff_id": mod.id, "case_key_id": gp["id"], "sealed": wrong}).status_code == 400
    right = envelope.seal({"scope": "GP", "sk": "x"}, [mod.pk])
    assert (
        post({"staff_id": mod.id, "case_key_id": kzn["id"], "sealed": right}).status_code == 403
    )  # not her province
    assert post({"staff_id": mod.id, "case_key_id": gp["id"], "sealed": right}).status_code == 200


def test_key_reset_drops_key_and_grants(app: Flask, world: dict) -> None:
    from reporter.models.private import KeyGrant

    mod: Member = world["people"]["moderator"]  # type: ignore[index]
    grant(app, mod, "GP")
    admin = client_for(app, world, "admin")
    token = csrf_of(admin, "/staff/admin")
    assert (
        admin.post(f"/staff/admin/staff/{mod.id}/reset-key", data={"csrf_token": token}).status_code
        == 303
    )
    with app.app_context():
        staff = db.session().get(Staff, mod.id)
        assert staff.public_key is None and staff.wrapped_secret_key is None
        assert db.session().scalars(select(KeyGrant).where(KeyGrant.staff_id == mod.id)).all() == []


def test_rotation_then_rewrap_in_the_browser_way(app: Flask, world: dict) -> None:
    from nacl.public import PrivateKey

    from tests.support.intake import keyring_json

    admin_m: Member = world["people"]["admin"]  # type: ignore[index]
    rid = world["report"]
    old_secret = app.extensions["test.keys"].case_secrets["GP"]
    admin = client_for(app, world, "admin")
    token = csrf_of(admin, "/staff/queue")
    headers = {"X-CSRFToken": token}
    recovery_pk = envelope.b64d(keyring_json(admin)["recovery"]["pk"])
    new = PrivateKey.generate()
    secret = {"scope": "GP", "sk": envelope.b64e(bytes(new))}
    resp = admin.post(
        "/staff/admin/keys/rotate",
        headers=headers,
        json={
            "scope": "GP",
            "public_key": envelope.b64e(bytes(new.public_key)),
            "sealed_secret": envelope.seal(secret, [recovery_pk]),
            "grant": envelope.seal(secret, [admin_m.pk]),
        },
    )
    assert resp.status_code == 200
    # new reports are sealed to the new key
    assert keyring_json(admin)["provinces"]["GP"]["kid"] == envelope.kid(bytes(new.public_key))
    state = admin.get("/staff/admin/rewrap.json?scope=GP").get_json()
    assert [i["kind"] for i in state["items"]] == ["report"]
    item = state["items"][0]
    # a forged re-wrap (changed ciphertext, or a key for someone else) is refused
    other = envelope.add_recipient(item["env"], old_secret, bytes(PrivateKey.generate()))
    assert (
        admin.post(
            "/staff/admin/rewrap",
            headers=headers,
            json={"scope": "GP", "items": [{**item, "env": other}]},
        ).status_code
        == 400
    )
    rewrapped = envelope.add_recipient(item["env"], old_secret, bytes(new))
    forged = {**rewrapped, "ct": item["env"]["ct"][:-8] + "AAAAAAA="}
    assert (
        admin.post(
            "/staff/admin/rewrap",
            headers=headers,
            json={"scope": "GP", "items": [{**item, "env": forged}]},
        ).status_code
        == 400
    )
    ok = admin.post(
        "/staff/admin/rewrap",
        headers=headers,
        json={"scope": "GP", "items": [{**item, "env": rewrapped}]},
    )
    assert ok.status_code == 200 and ok.get_json()["changed"] == 1
    with app.app_context():
        report = db.session().get(Report, rid)
        assert (
            envelope.open_envelope(report.envelope, bytes(new))["narrative"]
            == "a report in Gauteng"
        )
    assert admin.get("/staff/admin/rewrap.json?scope=GP").get_json()["items"] == []


def test_staff_login_has_a_global_cap(app_factory: Callable[..., Flask]) -> None:
    """Each log-in costs an Argon2id; a global cap keeps a flood from taking the CPU."""
    app = app_factory(X_STAFF_LOGIN_LIMIT="3 per minute")
    codes = []
    for i in range(4):
        client = app.test_client()
        codes.append(
            client.post(
                "/staff/login",
                data={
                    "csrf_token": csrf_of(client),
                    "login": f"nobody{i}",
                    "password": "x" * 12,
                    "code": "123456",
                },
                environ_base={"REMOTE_ADDR": f"198.51.100.{i}"},
            ).status_code
        )
    assert codes == [401, 401, 401, 429]


def test_audit_head_in_signed_exports_detects_removal_of_the_newest_events(
    app: Flask, world: dict, database_url: str
) -> None:
    from reporter.models import audit
    from tests.support.export import build, members

    audit_actions(app, world)
    built = build(app)
    anchored = json.loads(members(built.data)["manifest.json"])["audit_head"]
    with app.app_context():
        assert anchored == audit.head(db.session())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--head", anchored["hash"]]).exit_code == 0
    # someone with database access removes the newest events: the chain alone still holds...
    tamper(database_url, f"DELETE FROM audit_event WHERE id >= {anchored['event'] - 1}")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # ...but the head carried out in the signed manifest is gone
    result = runner.invoke(args=["audit", "verify", "--head", anchored["hash"]])
    assert result.exit_code == 1 and "no longer in the chain" in result.output
