"""Demo data: seeded only in demo mode, with working documented logins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import KeyGrant, Report
from reporter.models.public import Incident
from reporter.models.staff import Staff
from reporter.ops.demo import DEMO_STAFF


def test_demo_seed_is_refused_outside_demo_mode(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code != 0 and "only for REPORTER_MODE=demo" in result.output


def test_demo_seed_makes_staff_reports_and_incidents(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    from reporter.models.private import CaseKey
    from tests.conftest import truncate_all

    demo = app_factory(REPORTER_MODE="demo", INSTANCE_PATH=str(tmp_path))
    with demo.app_context():  # app_factory made keys; the demo makes its own
        truncate_all(str(db.database().engine.url.render_as_string(hide_password=False)))
        assert db.session().scalar(select(func.count()).select_from(CaseKey)) == 0
    runner = demo.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["demo", "seed"])  # idempotent
    assert again.exit_code == 0
    with demo.app_context():
        sess = db.session()
        assert sess.scalar(select(func.count()).select_from(Staff)) == len(DEMO_STAFF)
        assert sess.scalar(select(func.count()).select_from(Report)) == 4
        assert sess.scalar(select(func.count()).select_from(Incident)) >= 300
        mod = sess.scalars(select(Staff).where(Staff.login == "moderator")).one()
        passphrase = next(s[5] for s in DEMO_STAFF if s[0] == "moderator")
        sk = envelope.unwrap_secret_key(mod.wrapped_secret_key, passphrase)
        grants = sess.scalars(select(KeyGrant).where(KeyGrant.staff_id == mod.id)).all()
        scopes = {envelope.open_envelope(g.sealed_key, sk)["scope"] for g in grants}
        assert scopes == {"GP", "KZN"}
    import pyotp

    from tests.support.staff import csrf_of

    client = demo.test_client()
    password, totp = next((s[3], s[4]) for s in DEMO_STAFF if s[0] == "moderator")
    resp = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_of(client),
            "login": "moderator",
            "password": password,
            "code": pyotp.TOTP(totp).now(),
        },
    )
    assert resp.status_code == 303
    assert "GP" in client.get("/staff/queue").get_data(as_text=True)
