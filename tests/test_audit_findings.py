"""Audit findings of issue 13: each test fails when its finding comes back.

Numbers in the test names are the finding numbers of issue 13's "Audit findings".
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session

import reporter.web.auth
from reporter.config import ConfigError, build_settings, read_environment
from reporter.crypto import envelope
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.private import Report
from reporter.models.public import Incident
from reporter.models.staff import Staff
from reporter.web.auth import ACCOUNT_FREE, SESSION_FREE
from tests.conftest import make_app, table_dump
from tests.support.intake import submit_plain
from tests.support.staff import PASSWORD, Member, csrf_of, fresh_code, log_in, make_staff

# --- 11: open redirect through the language switcher -----------------------------------------


def _csrf(client, path: str = "/report") -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert m
    return m.group(1)


@pytest.mark.parametrize(
    "target",
    [
        "/zu//evil.example",
        "/zu//evil.example/report",
        "//evil.example",
        "/zu/\\evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/zu/\t/evil.example",
        "https://evil.example/",
        "/zu///evil",
    ],
)
def test_11_language_switch_never_leaves_the_site(
    app_factory: Callable[..., Flask], target: str
) -> None:
    app = app_factory(LANGUAGES="zu,xh")
    client = app.test_client()
    resp = client.post(
        "/language", data={"lang": "xh", "next": target, "csrf_token": _csrf(client)}
    )
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and "\t" not in location
    assert urlsplit(location).netloc == "" and not urlsplit(location).scheme


def test_11_language_switch_keeps_a_local_page(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES="zu,xh")
    client = app.test_client()
    resp = client.post(
        "/language", data={"lang": "xh", "next": "/zu/followup", "csrf_token": _csrf(client)}
    )
    assert resp.headers["Location"] == "/followup"


# --- 13: Onion-Location from the raw path ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/report%0d%0aSet-Cookie:%20x=1", "/%E2%80%A8x", "/a%0Ab", "/?q=%0d%0a", "/r%C3%A9port"],
)
def test_13_onion_location_survives_encoded_line_breaks(database_url: str, path: str) -> None:
    onion = "a" * 56 + ".onion"
    app = make_app(database_url, ONION_ADDRESS=onion)
    try:
        resp = app.test_client().get(path)
        assert resp.status_code in (200, 404), resp.status_code
        header = resp.headers["Onion-Location"]
        assert header.startswith(f"http://{onion}/")
        assert not any(c in header for c in "\r\n\u2028 ")
        assert "Set-Cookie" not in resp.headers
    finally:
        app.extensions["reporter.db"].engine.dispose()


def test_13_onion_location_keeps_the_page(database_url: str) -> None:
    onion = "b" * 56 + ".onion"
    app = make_app(database_url, ONION_ADDRESS=onion)
    try:
        resp = app.test_client().get("/map?category=extortion&from=2024-01")
        assert resp.headers["Onion-Location"] == (
            f"http://{onion}/map?category=extortion&from=2024-01"
        )
    finally:
        app.extensions["reporter.db"].engine.dispose()


# --- 15: settings from the environment -------------------------------------------------------


def _settings(tmp_path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    raw = {"REPORTER_MODE": "test", "SECRET_KEY": "x" * 40, **read_environment(env)}
    return build_settings(raw, tmp_path)


def test_15_readme_settings_are_read_from_the_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = _settings(
        tmp_path,
        {
            "QUICK_EXIT_URL": "https://weather.example/",
            "RETENTION_DAYS": "30",
            "STAFF_IDLE_MINUTES": "12",
            "COUNT_NOISE_EPSILON": "0.5",
            "STAFF_SESSION_HOURS": "4",
        },
    )
    assert s.quick_exit_url == "https://weather.example/"
    assert (s.retention_days, s.staff_idle_minutes, s.staff_session_hours) == (30, 12, 4)
    assert s.count_noise_epsilon == 0.5


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("1", True),
        ("true", True),
        ("Yes", True),
    ],
)
def test_15_trust_proxy_is_a_strict_boolean(tmp_path, value: str, on: bool) -> None:  # type: ignore[no-untyped-def]
    assert _settings(tmp_path, {"TRUST_PROXY": value}).trust_proxy is on


def test_15_trust_proxy_0_does_not_trust_the_proxy(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUST_PROXY", "0")
    app = make_app(database_url)
    try:
        resp = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in resp.headers
    finally:
        app.extensions["reporter.db"].engine.dispose()


@pytest.mark.parametrize(
    "env",
    [
        {"TRUST_PROXY": "maybe"},
        {"RETENTION_DAYS": "thirty"},
        {"K_ANONYMITY": "5.5"},
        {"RECEIPT_DAYS": "x"},
        {"STAFF_IDLE_MINUTES": "0"},
        {"COUNT_NOISE_EPSILON": "nan"},
        {"COUNT_NOISE_EPSILON": "-1"},
        {"MAX_ATTACHMENT_BYTES": "10MB"},
        {"REPORTER_MOD": "demo"},
        {"REPORTER_RETENTION_DAYS": "3"},
    ],
)
def test_15_a_bad_setting_is_a_config_error(tmp_path, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        _settings(tmp_path, env)


# --- staff log-in: 2 (revocable sessions), 5 (no lock-out, no enumeration), 10 (TOTP race) ---


def _alert(resp) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'<p class="error" role="alert">(.*?)</p>', resp.get_data(as_text=True), re.S)
    return m.group(1) if m else ""


@pytest.fixture()
def mod(app: Flask) -> Member:
    return make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)


@pytest.fixture()
def admin(app: Flask) -> Member:
    return make_staff(app, "admin", ["admin"], iterations=1000)


def _logged_in(app: Flask, member: Member) -> FlaskClient:
    client = app.test_client()
    assert log_in(app, client, member).status_code == 303
    assert (
        client.get("/staff/queue" if member.login != "admin" else "/staff/admin").status_code == 200
    )
    return client


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the session cookie (as a thief would)."""
    other = app.test_client()
    cookie = client.get_cookie("s")
    assert cookie is not None
    other.set_cookie("s", cookie.value)
    return other


def test_2_a_logged_out_cookie_no_longer_opens_the_queue(app: Flask, mod: Member) -> None:
    client = _logged_in(app, mod)
    thief = _copy(app, client)
    assert thief.get("/staff/queue").status_code == 200
    token = csrf_of(client, "/staff/queue")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert thief.get("/staff/queue").status_code in (302, 401)
    assert thief.get("/staff/keys/me").status_code == 401


def test_2_disabling_and_key_reset_end_her_sessions(app: Flask, mod: Member, admin: Member) -> None:
    boss = _logged_in(app, admin)
    token = csrf_of(boss, "/staff/admin")
    her = _logged_in(app, mod)
    for _ in range(2):  # disable, then enable again: the old session stays dead
        boss.post(f"/staff/admin/staff/{mod.id}/disable", data={"csrf_token": token})
    assert her.get("/staff/queue").status_code in (302, 401)
    her = _logged_in(app, mod)
    boss.post(f"/staff/admin/staff/{mod.id}/reset-key", data={"csrf_token": token})
    assert her.get("/staff/queue").status_code in (302, 401)


def test_2_sessions_have_an_absolute_lifetime(
    app_factory: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory(STAFF_IDLE_MINUTES=600, STAFF_SESSION_HOURS=8)
    member = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    client = _logged_in(app, member)
    start = time.time()
    monkeypatch.setattr(reporter.web.auth.time, "time", lambda: start + 4 * 3600)
    assert client.get("/staff/queue").status_code == 200  # active, within 8 hours
    monkeypatch.setattr(reporter.web.auth.time, "time", lambda: start + 8 * 3600 + 60)
    assert client.get("/staff/queue").status_code in (302, 401)  # active, but too old


def test_5_every_refusal_gives_the_same_answer(app: Flask, mod: Member, admin: Member) -> None:
    totp = pyotp.TOTP(mod.totp_secret)
    answers = [
        log_in(app, app.test_client(), Member(0, "no-such-name", mod.totp_secret, b"", b"")),
        log_in(app, app.test_client(), mod, password="a wrong password!"),
        log_in(app, app.test_client(), mod, code=f"{(int(totp.now()) + 1) % 1_000_000:06d}"),
    ]
    boss = _logged_in(app, admin)
    boss.post(
        f"/staff/admin/staff/{mod.id}/disable", data={"csrf_token": csrf_of(boss, "/staff/admin")}
    )
    answers.append(log_in(app, app.test_client(), mod))  # disabled, right password and code
    for _ in range(8):  # slowed down now: still the same answer, never "locked"
        answers.append(log_in(app, app.test_client(), mod, password="a wrong password!"))
    assert {a.status_code for a in answers} == {401}
    texts = {_alert(a) for a in answers}
    assert len(texts) == 1 and texts != {""}, texts
    assert "locked" not in texts.pop().lower()


def test_5_a_stranger_cannot_lock_the_owner_out(app: Flask, mod: Member) -> None:
    own = app.test_client()  # her browser: she has logged in with it before
    assert log_in(app, own, mod).status_code == 303
    own.post("/staff/logout", data={"csrf_token": csrf_of(own, "/staff/queue")})
    for _ in range(12):  # the attacker, with a fresh session each time
        assert log_in(app, app.test_client(), mod, password="guess guess guess").status_code == 401
    # a new browser must wait, even with the right password and code ...
    assert log_in(app, app.test_client(), mod).status_code == 401
    # ... but hers is not locked out
    assert log_in(app, own, mod).status_code == 303
    # and the wait is short: once it has passed, a new browser gets in too
    with app.app_context():
        db.session().execute(
            update(Staff)
            .where(Staff.id == mod.id)
            .values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        db.session().commit()
    assert log_in(app, app.test_client(), mod).status_code == 303


def test_5_one_session_slows_down_after_a_few_failures(app: Flask, mod: Member) -> None:
    client = app.test_client()
    for _ in range(SESSION_FREE):
        assert log_in(app, client, mod, password="guess guess guess").status_code == 401
    # the next try of this session comes too soon: refused even when right
    assert log_in(app, client, mod).status_code == 401
    assert log_in(app, app.test_client(), mod).status_code == 303  # another session is fine


def test_5_failures_are_audited_and_shown_at_the_next_log_in(app: Flask, mod: Member) -> None:
    for _ in range(ACCOUNT_FREE + 1):
        with app.app_context():  # each failure counted (no wait between tries in this test)
            db.session().execute(update(Staff).where(Staff.id == mod.id).values(locked_until=None))
            db.session().commit()
        log_in(app, app.test_client(), mod, password="guess guess guess")
    with app.app_context():
        failed = (
            db.session()
            .scalars(select(AuditEvent.object).where(AuditEvent.action == "login_failed"))
            .all()
        )
        db.session().execute(update(Staff).where(Staff.id == mod.id).values(locked_until=None))
        db.session().commit()
    assert failed == [f"mod-gp:{ACCOUNT_FREE}", f"mod-gp:{ACCOUNT_FREE + 1}"]
    client = app.test_client()
    resp = log_in(app, client, mod)
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"{ACCOUNT_FREE + 1} failed log-in attempts on your account" in page
    assert "failed log-in" not in client.get("/staff/queue").get_data(as_text=True)  # once


def test_10_one_code_opens_one_session_under_concurrent_log_ins(app: Flask, mod: Member) -> None:
    code = fresh_code(app, mod)
    n = 6
    clients = [app.test_client() for _ in range(n)]
    tokens = [csrf_of(c) for c in clients]
    barrier = threading.Barrier(n)

    def attempt(i: int) -> int:
        barrier.wait()
        return (
            clients[i]
            .post(
                "/staff/login",
                data={
                    "csrf_token": tokens[i],
                    "login": mod.login,
                    "password": PASSWORD,
                    "code": code,
                },
            )
            .status_code
        )

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(attempt, range(n)))
    assert results.count(303) == 1, results
    assert sum(c.get("/staff/queue").status_code == 200 for c in clients) == 1


def test_10_the_step_claim_is_atomic_in_the_database(app: Flask, mod: Member) -> None:
    from reporter.verify.account import claim_step

    fresh_code(app, mod)
    engine = app.extensions["reporter.db"].engine
    n = 8
    barrier = threading.Barrier(n)

    def claim(_: int) -> bool:
        with Session(engine) as sess:
            barrier.wait()
            won = claim_step(sess, mod.id, 1_000_000)
            sess.commit()
            return won

    with ThreadPoolExecutor(n) as pool:
        assert sorted(pool.map(claim, range(n))) == [False] * (n - 1) + [True]


# --- 1: one report, at most one incident; withdraw by route and command -----------------------


def _one_report(app: Flask) -> str:
    submit_plain(app.test_client(), narrative="a report in Gauteng")
    with app.app_context():
        return db.session().scalars(select(Report.id)).one()


def _publish_form(token: str) -> dict[str, object]:
    from reporter.domain import gazetteer

    town = next(t for t in gazetteer.towns_in("GP") if t.name == "Johannesburg")
    return {
        "csrf_token": token,
        "categories": ["extortion"],
        "perpetrators": "saps",
        "month": "2026-10",
        "province": "GP",
        "town": str(town.id),
        "people_affected": "1",
        "verification_level": "corroborated",
        "source_type": "peer_educator",
        "confirm": "y",
    }


def _national_count(app: Flask) -> int:
    from reporter.models.counts import IncidentCount

    with app.app_context():
        return int(
            db.session()
            .scalars(
                select(IncidentCount.count).where(
                    IncidentCount.resolution == 0,
                    IncidentCount.category == "*",
                    IncidentCount.perpetrator == "*",
                )
            )
            .first()
            or 0
        )


def test_1_publishing_twice_makes_one_incident(app: Flask, mod: Member) -> None:
    rid = _one_report(app)
    client = _logged_in(app, mod)
    token = csrf_of(client, f"/staff/reports/{rid}")
    first = client.post(f"/staff/reports/{rid}/publish", data=_publish_form(token))
    assert first.status_code == 303
    for _ in range(5):
        again = client.post(f"/staff/reports/{rid}/publish", data=_publish_form(token))
        assert again.status_code == 400
        assert "already published" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(func.count()).select_from(Incident)).one() == 1
    assert _national_count(app) == 1
    page = client.get(f"/staff/reports/{rid}").get_data(as_text=True)
    assert 'id="published-as"' in page and 'id="publish-form"' not in page


def test_1_concurrent_publishes_make_one_incident(app: Flask, mod: Member) -> None:
    rid = _one_report(app)
    n = 4
    clients = [_logged_in(app, mod) for _ in range(n)]
    tokens = [csrf_of(c, f"/staff/reports/{rid}") for c in clients]
    barrier = threading.Barrier(n)

    def publish(i: int) -> int:
        barrier.wait()
        return (
            clients[i]
            .post(f"/staff/reports/{rid}/publish", data=_publish_form(tokens[i]))
            .status_code
        )

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(publish, range(n)))
    assert sorted(results) == [303] + [400] * (n - 1), results
    with app.app_context():
        assert db.session().scalars(select(func.count()).select_from(Incident)).one() == 1
    assert _national_count(app) == 1


def test_1_withdraw_by_route_and_it_stays_withdrawn(app: Flask, mod: Member) -> None:
    rid = _one_report(app)
    client = _logged_in(app, mod)
    token = csrf_of(client, f"/staff/reports/{rid}")
    assert (
        client.post(f"/staff/reports/{rid}/publish", data=_publish_form(token)).status_code == 303
    )
    assert _national_count(app) == 1
    other = make_staff(app, "mod-kzn", ["moderator"], ["KZN"], iterations=1000)
    stranger = _logged_in(app, other)
    assert (
        stranger.post(
            f"/staff/reports/{rid}/withdraw", data={"csrf_token": csrf_of(stranger, "/staff/queue")}
        ).status_code
        == 403
    )
    resp = client.post(f"/staff/reports/{rid}/withdraw", data={"csrf_token": token})
    assert resp.status_code == 303
    assert _national_count(app) == 0
    with app.app_context():
        assert db.session().scalars(select(Incident.withdrawn)).one() is True
        assert "withdraw" in db.session().scalars(select(AuditEvent.action)).all()
    # withdrawn is final: publishing again would draw the noise a second time
    again = client.post(f"/staff/reports/{rid}/publish", data=_publish_form(token))
    assert again.status_code == 400 and "already published" in again.get_data(as_text=True)
    assert (
        client.post(f"/staff/reports/{rid}/withdraw", data={"csrf_token": token}).status_code == 303
    )  # idempotent


def test_1_withdraw_command(app: Flask, mod: Member) -> None:
    rid = _one_report(app)
    client = _logged_in(app, mod)
    token = csrf_of(client, f"/staff/reports/{rid}")
    client.post(f"/staff/reports/{rid}/publish", data=_publish_form(token))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["withdraw", rid])
    assert result.exit_code == 0, result.output
    assert "withdrawn" in result.output and _national_count(app) == 0
    assert runner.invoke(args=["withdraw", "0" * 20]).exit_code != 0


def test_1_incidents_withdraw_command_by_public_id(app: Flask, mod: Member) -> None:
    """`flask incidents withdraw <public_id>`: a report's incident through withdraw_report
    (as the staff route), an incident without a report alone; audited, idempotent."""
    from reporter.maps.publish import publish_incident
    from reporter.models.private import ReportPublication

    rid = _one_report(app)
    client = _logged_in(app, mod)
    client.post(
        f"/staff/reports/{rid}/publish",
        data=_publish_form(csrf_of(client, f"/staff/reports/{rid}")),
    )
    with app.app_context():
        linked = db.session().scalars(select(Incident.public_id)).one()
        alone = publish_incident(
            db.session(),
            categories=["extortion"],
            perpetrators=["saps"],
            month=dt.date(2026, 10, 1),
            province="GP",
            lat=-26.2,
            lon=28.04,
            people_affected=1,
            verification_level="reported",
            source_type="self",
        ).public_id
        db.session().commit()
    assert _national_count(app) == 2
    runner = app.test_cli_runner()
    for public_id in (linked, alone, linked):  # the second time changes nothing
        result = runner.invoke(args=["incidents", "withdraw", public_id])
        assert result.exit_code == 0, result.output
        assert f"withdrawn: incident {public_id}" in result.output
    assert _national_count(app) == 0
    with app.app_context():
        sess = db.session()
        assert set(sess.scalars(select(Incident.withdrawn))) == {True}
        assert sess.scalars(select(ReportPublication.report_id)).one() == rid
        withdrawals = sess.scalars(
            select(AuditEvent.object).where(AuditEvent.action == "withdraw").order_by(AuditEvent.id)
        ).all()
    assert withdrawals == [f"{rid}->{linked}", f"(no report)->{alone}"]
    assert runner.invoke(args=["incidents", "withdraw", "nope"]).exit_code != 0


def test_1_the_public_incident_table_names_no_report(app: Flask, mod: Member) -> None:
    from reporter.models.public import Incident as PublicIncident

    columns = {c.name for c in PublicIncident.__table__.columns}
    assert not {c for c in columns if "report" in c}
    rid = _one_report(app)
    client = _logged_in(app, mod)
    client.post(
        f"/staff/reports/{rid}/publish",
        data=_publish_form(csrf_of(client, f"/staff/reports/{rid}")),
    )
    with app.app_context():
        row = db.session().execute(text("SELECT i::text FROM incident i")).scalar_one()
    assert rid not in row


def test_1_migration_links_old_publications_and_withdraws_repeats(cluster) -> None:  # type: ignore[no-untyped-def]
    from reporter.ops import migrate, pgcluster
    from tests.conftest import fresh_database

    name, url = fresh_database(cluster)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO report (id, received_on, province, channel, status, size_bucket, "
                    "purged) VALUES ('r1', current_date, 'GP', 'web-js', 'verified', 1024, false)"
                )
            )
            for n in range(3):  # the same report published three times (the audit finding)
                conn.execute(
                    text(
                        "INSERT INTO incident (public_id, categories, perpetrators, month,"
                        " province,"
                        " geom, cell_r5, verification_level, source_type, people_affected,"
                        " published_on, withdrawn) VALUES (:p, '{extortion}', '{saps}',"
                        " '2026-10-01', 'GP', ST_SetSRID(ST_MakePoint(28, -26), 4326), 'c5',"
                        " 'corroborated', 'peer_educator', 1, current_date, false)"
                    ),
                    {"p": f"i{n}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO audit_event (id, at, staff_id, action, object, prev_hash,"
                        " hash)"
                        " VALUES (:n, now(), NULL, 'publish', :o, '', '')"
                    ),
                    {"n": n + 1, "o": f"r1->i{n}"},
                )
            conn.execute(
                text("INSERT INTO incident_count VALUES (0, '*', '2026-10-01', 'GP', '*', '*', 3)")
            )
        migrate.upgrade(engine, "0005")
        with engine.connect() as conn:
            links = conn.execute(
                text(
                    "SELECT p.report_id, i.public_id FROM report_publication p "
                    "JOIN incident i ON i.id = p.incident_id"
                )
            ).all()
            live = (
                conn.execute(text("SELECT public_id FROM incident WHERE NOT withdrawn"))
                .scalars()
                .all()
            )
            total = conn.execute(
                text(
                    "SELECT count FROM incident_count WHERE resolution = 0 AND category = '*' "
                    "AND perpetrator = '*'"
                )
            ).scalar()
        assert links == [("r1", "i0")] and live == ["i0"] and total == 1
    finally:
        engine.dispose()
        pgcluster.drop_database(cluster, name)


# --- 3: the national case key is never granted to a province-only moderator ----------------


def test_3_national_key_is_refused_for_a_moderator(app: Flask, mod: Member, admin: Member) -> None:
    coord = make_staff(app, "coord", ["coordinator"], iterations=1000)
    both = make_staff(app, "mod-coord", ["moderator", "coordinator"], ["GP"], iterations=1000)
    boss = _logged_in(app, admin)
    token = csrf_of(boss, "/staff/admin/keys")
    state = boss.get("/staff/admin/keys.json").get_json()
    national = next(k for k in state["case_keys"] if k["scope"] == "national")
    may_hold = {s["login"]: s["may_hold"] for s in state["staff"]}
    assert "national" not in may_hold["mod-gp"] and may_hold["mod-gp"] == ["GP"]
    assert "national" in may_hold["coord"] and "national" in may_hold["mod-coord"]

    def post(member: Member) -> int:
        sealed = envelope.seal({"scope": "national", "sk": "x"}, [member.pk])
        return boss.post(
            "/staff/admin/grants",
            json={"staff_id": member.id, "case_key_id": national["id"], "sealed": sealed},
            headers={"X-CSRFToken": token},
        ).status_code

    assert post(mod) == 403
    assert post(coord) == 200 and post(both) == 200
    page = boss.get("/staff/admin/keys").get_data(as_text=True)
    assert 'id="national-warning"' in page


# --- 14: /verify is rate-limited per session, and its unpacked cap fits real bundles --------


def _verify_post(client: FlaskClient, data: bytes) -> Any:
    import io

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart(
        MultiDict(
            {
                "csrf_token": csrf_of(client, "/verify"),
                "bundle": FileStorage(
                    io.BytesIO(data), filename="bundle.zip", content_type="application/zip"
                ),
            }
        )
    )
    return client.post(
        "/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_14_the_web_cap_fits_real_bundles_and_refuses_a_dense_zip(app: Flask) -> None:
    import io
    import zipfile

    from reporter.export.verify import WEB_LIMITS
    from tests.support.export import build, seed

    seed(app)
    data = build(app).data
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    print("media bundle", len(data), "packed,", unpacked, "unpacked")
    assert unpacked * 4 < WEB_LIMITS.max_total  # room for bigger real bundles
    assert _verify_post(app.test_client(), data).status_code == 200
    # the audit's zip: 2.8 MB at ratio 89, about 250 MB unpacked
    dense = io.BytesIO()
    with zipfile.ZipFile(dense, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in range(4):
            zf.writestr(f"part{n}.csv", (b"GP,extortion,saps,2026-10," * 8 + b"\n") * 300_000)
    assert WEB_LIMITS.max_total < 250 * 1024**2 // 4
    started = time.monotonic()
    resp = _verify_post(app.test_client(), dense.getvalue())
    assert resp.status_code == 413 and time.monotonic() - started < 0.5


def test_14_verify_is_limited_per_session_not_for_everyone(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(X_VERIFY_LIMIT="3 per minute")
    one, other = app.test_client(), app.test_client()
    codes = [_verify_post(one, b"not a zip").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert _verify_post(other, b"not a zip").status_code == 400  # another visitor is not hit


# --- 6: a flood of fresh sessions is no kill switch; a 429 keeps what she typed -------------


def test_6_a_fresh_flood_does_not_shut_out_a_reporter_on_the_page(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(X_RECEIPT_GLOBAL_LIMIT="5 per minute", X_HISTORY_SECONDS=1)
    her = app.test_client()
    her_token = csrf_of(her, "/followup")  # she opens the page, then types her number
    flood = []
    for _ in range(12):  # fresh sessions: load the page and post at once
        bot = app.test_client()
        flood.append(
            bot.post(
                "/followup",
                data={"csrf_token": csrf_of(bot, "/followup"), "receipt": "1234 5678 9012 3456"},
            ).status_code
        )
    assert 429 in flood  # the global cap holds for the flood ...
    time.sleep(1.1)
    resp = her.post("/followup", data={"csrf_token": her_token, "receipt": "1234 5678 9012 3456"})
    assert resp.status_code != 429  # ... and she has her own allowance


def test_6_a_staff_log_in_flood_does_not_shut_out_a_known_browser(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(X_STAFF_LOGIN_LIMIT="5 per minute")
    member = make_staff(app, "mod-gp", ["moderator"], ["GP"], iterations=1000)
    own = app.test_client()
    assert log_in(app, own, member).status_code == 303  # her browser, marked
    own.post("/staff/logout", data={"csrf_token": csrf_of(own, "/staff/queue")})
    flood = [
        log_in(
            app,
            app.test_client(),
            Member(0, f"x{n}", member.totp_secret, b"", b""),
            password="guess guess guess",
        ).status_code
        for n in range(10)
    ]
    assert 429 in flood
    assert log_in(app, own, member).status_code == 303


def test_6_a_refused_report_gives_back_what_she_typed(app_factory: Callable[..., Flask]) -> None:
    from tests.support.intake import open_form, plain_fields

    app = app_factory(X_REPORT_LIMIT="1 per minute")
    client = app.test_client()
    first = client.post("/report", data={**open_form(client), **plain_fields("first one")})
    assert first.status_code in (200, 303)
    words = "They took my condoms and my money at the taxi rank near the station."
    resp = client.post("/report", data={**open_form(client), **plain_fields(words)})
    assert resp.status_code == 429
    assert words in resp.get_data(as_text=True)


# --- 12: neither gunicorn nor flask-limiter logs the client or the session's key ------------


def test_12_garbage_and_rate_limits_leave_no_address_or_key_in_the_logs(
    database_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import http.cookiejar
    import os
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.parse
    import urllib.request

    from flask.sessions import SecureCookieSessionInterface

    from tests.conftest import ROOT
    from tests.test_traces import free_port

    port, secret = free_port(), "k" * 40
    env = {
        **os.environ,
        "PORT": str(port),
        "REPORTER_MODE": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WEB_CONCURRENCY": "1",
    }
    log_path = tmp_path / "gunicorn.log"
    out = open(log_path, "w+")  # noqa: SIM115 - closed below, after the server stops
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--log-level",
            "info",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        deadline = time.time() + 60
        while True:
            try:
                html = opener.open(f"{base}/followup", timeout=2).read().decode()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        for garbage in (
            b"GARBAGE-7f3a \x00\x01 nonsense\r\n\r\n",
            b"GET /report?x=GARBAGE-7f3a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
            b"\x16\x03\x01\x02\x00GARBAGE-7f3a",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(garbage)
                try:
                    sock.recv(4096)
                except OSError:
                    pass
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert token
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "receipt": "x"}).encode()
        codes = []
        for _ in range(12):  # over the per-session receipt limit (10 per 10 minutes)
            try:
                codes.append(opener.open(f"{base}/followup", data=body, timeout=10).status)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
                exc.close()
        assert 429 in codes, codes
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()
    cookie = next(c.value for c in jar if c.name == "s")
    app = Flask("t")
    app.secret_key = secret
    data = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    rate_key = data["rl"]
    text = log_path.read_text()
    assert "Booting worker" in text and "exceeded" in text  # the lines are there, filtered
    assert "invalid request refused" in text
    lines = [ln for ln in text.splitlines() if "Listening at" not in ln]  # our own bind
    for needle in ("127.0.0.1", "ip=", "GARBAGE-7f3a", rate_key):
        assert not any(needle in ln for ln in lines), (needle, text)


# --- TOTP secrets are stored sealed, under a key outside the database -----------------------


def test_totp_secrets_are_sealed_at_rest(app: Flask, mod: Member, database_url: str) -> None:
    with app.app_context():
        raw = (
            db.session()
            .execute(text("SELECT totp_secret FROM staff WHERE id = :i"), {"i": mod.id})
            .scalar_one()
        )
    assert raw.startswith("v1:") and mod.totp_secret not in raw
    assert mod.totp_secret not in table_dump(database_url)
    assert log_in(app, app.test_client(), mod).status_code == 303  # and still works


def test_totp_secret_of_another_key_fails_closed(app: Flask, mod: Member) -> None:
    from reporter.models import sealed as totpseal

    with app.app_context():
        db.session().execute(
            text("UPDATE staff SET totp_secret = :s WHERE id = :i"),
            {"s": totpseal.seal(mod.totp_secret, b"\x01" * 32), "i": mod.id},
        )
        db.session().commit()
    assert log_in(app, app.test_client(), mod).status_code == 401


def test_totp_migration_seals_existing_rows(cluster, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from reporter.models import sealed as totpseal
    from reporter.ops import migrate, pgcluster
    from tests.conftest import fresh_database

    pepper = bytes(range(32))
    monkeypatch.setenv("RECEIPT_PEPPER", pepper.hex())
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO staff (login, password_hash, totp_secret, totp_confirmed, roles, "
                    "provinces, disabled, failed_logins, created_at) VALUES ('a', 'x', "
                    "'JBSWY3DPEHPK3PXPADMINAAA', true, '{admin}', '{}', false, 0, now())"
                )
            )
        migrate.upgrade(engine, "0007")
        with engine.connect() as conn:
            sealed = conn.execute(text("SELECT totp_secret FROM staff")).scalar_one()
        assert sealed.startswith("v1:") and "JBSWY3DP" not in sealed
        key = totpseal.key_from_pepper(pepper)
        assert totpseal.open_sealed(sealed, key) == "JBSWY3DPEHPK3PXPADMINAAA"
        migrate.downgrade(engine, "0006")
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT totp_secret FROM staff")).scalar_one()
                == "JBSWY3DPEHPK3PXPADMINAAA"
            )
    finally:
        engine.dispose()
        pgcluster.drop_database(cluster, name)


# --- the same atomicity elsewhere: one grant per person and key, one active key per scope ---


def test_concurrent_grants_leave_one_grant(app: Flask, mod: Member, admin: Member) -> None:
    from reporter.models.private import KeyGrant

    n = 4
    clients = [_logged_in(app, admin) for _ in range(n)]
    tokens = [csrf_of(c, "/staff/admin/keys") for c in clients]
    state = clients[0].get("/staff/admin/keys.json").get_json()
    gp = next(k for k in state["case_keys"] if k["scope"] == "GP")
    barrier = threading.Barrier(n)

    def grant(i: int) -> int:
        sealed = envelope.seal({"scope": "GP", "sk": "x"}, [mod.pk])
        barrier.wait()
        return (
            clients[i]
            .post(
                "/staff/admin/grants",
                json={"staff_id": mod.id, "case_key_id": gp["id"], "sealed": sealed},
                headers={"X-CSRFToken": tokens[i]},
            )
            .status_code
        )

    with ThreadPoolExecutor(n) as pool:
        assert list(pool.map(grant, range(n))) == [200] * n
    with app.app_context():
        assert (
            db.session()
            .scalars(select(func.count()).select_from(KeyGrant).where(KeyGrant.staff_id == mod.id))
            .one()
            == 1
        )


def test_one_active_case_key_per_scope_in_the_database(app: Flask) -> None:
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        sess = db.session()
        with pytest.raises(IntegrityError):
            sess.execute(
                text(
                    "INSERT INTO case_key (scope, kid, public_key, active, created_at) "
                    "VALUES ('GP', 'ffffffffffffffff', 'x', true, now())"
                )
            )
        sess.rollback()
