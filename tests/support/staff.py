"""Staff accounts for tests, made the way the app makes them (hash, TOTP, wrapped key)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from nacl.public import PrivateKey
from sqlalchemy import update

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import CaseKey, KeyGrant
from reporter.models.staff import Staff
from reporter.web.auth import hash_password

PASSWORD = "correct horse battery staple"
PASSPHRASE = "a long unlock passphrase for tests"


@dataclass
class Member:
    id: int
    login: str
    totp_secret: str
    sk: bytes
    pk: bytes


def make_staff(
    app: Flask,
    login: str,
    roles: list[str],
    provinces: list[str] | None = None,
    *,
    with_key: bool = True,
    iterations: int = 600_000,
) -> Member:
    secret = pyotp.random_base32()
    sk = PrivateKey.generate()
    pk = bytes(sk.public_key)
    with app.app_context():
        sess = db.session()
        staff = Staff(
            login=login,
            password_hash=hash_password(PASSWORD),
            roles=roles,
            provinces=provinces or [],
            totp_secret=secret,
            totp_confirmed=True,
        )
        if with_key:
            staff.public_key = envelope.b64e(pk)
            staff.wrapped_secret_key = envelope.wrap_secret_key(
                bytes(sk), PASSPHRASE, iterations=iterations
            )
        sess.add(staff)
        sess.commit()
        return Member(staff.id, login, secret, bytes(sk), pk)


def grant(app: Flask, member: Member, scope: str) -> None:
    """What an admin's browser does: seal the case key's secret to her public key."""
    secret = app.extensions["test.keys"].case_secrets[scope]
    with app.app_context():
        sess = db.session()
        key = sess.query(CaseKey).filter_by(scope=scope, active=True).one()
        sess.add(
            KeyGrant(
                case_key_id=key.id,
                staff_id=member.id,
                sealed_key=envelope.seal(
                    {"scope": scope, "sk": envelope.b64e(secret)}, [member.pk]
                ),
            )
        )
        sess.commit()


def fresh_code(app: Flask, member: Member) -> str:
    """A TOTP code usable now (the single-use marker is reset, as if 30 s had passed)."""
    with app.app_context():
        db.session().execute(update(Staff).where(Staff.id == member.id).values(totp_last_step=None))
        db.session().commit()
    return pyotp.TOTP(member.totp_secret).now()


def csrf_of(client: FlaskClient, path: str = "/staff/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, html[:500]
    return m.group(1)


def log_in(
    app: Flask,
    client: FlaskClient,
    member: Member,
    code: str | None = None,
    password: str = PASSWORD,
):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_of(client),
            "login": member.login,
            "password": password,
            "code": code if code is not None else fresh_code(app, member),
        },
    )
