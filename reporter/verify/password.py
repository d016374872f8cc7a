"""Passwords and authenticators (finding 13.9): her own account page (fingerprint of her key,
password change), the forced password change at the first log-in of an account an admin made,
and the admin's audited TOTP reset.

- A change needs the current password; the new one at least 12 characters (as when an admin
  makes the account), hashed with Argon2id like every password (reporter.web.auth.hash_password).
  Every other session of hers ends (reporter.web.auth.revoke_sessions); this one goes on with a
  fresh cookie.
- An account made on the admin page carries `password_change_required`: after the password and
  her first TOTP code (enrolment) she gets only a short-lived "choose your password" state, no
  staff session, until she has chosen one.
- An admin's TOTP reset (a lost phone) drops her secret and the used step, ends her sessions and
  is audited; at her next log-in the password alone leads to enrolment again.
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import update
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from reporter.crypto import envelope
from reporter.domain.enums import Role
from reporter.models import audit, db
from reporter.models.staff import Staff
from reporter.services import staffing
from reporter.verify import bp
from reporter.verify.account import ALL
from reporter.web.auth import (
    allow,
    check_password,
    current_staff,
    hash_password,
    login_session,
    note_session_failure,
    public,
    revoke_sessions,
    session_wait,
)

FORCED = "pwchange"
FORCED_SECONDS = 600
MIN_LENGTH = staffing.PASSWORD_MIN  # as when an account is made


def fingerprint(public_key_b64: str | None) -> str | None:
    """The fingerprint people compare out of band: the first 16 bytes of SHA-512 of the public
    key in hex, in 8 groups of 4 (the first 4 groups are the kid). staff.js computes the same."""
    if not public_key_b64:
        return None
    import hashlib

    digest = hashlib.sha512(envelope.b64d(public_key_b64, 32)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


class NewPasswordForm(FlaskForm):
    new = PasswordField(
        "New password (at least 12 characters)",
        validators=[
            DataRequired(),
            Length(min=MIN_LENGTH, max=1024, message=f"At least {MIN_LENGTH} characters."),
        ],
    )
    again = PasswordField(
        "The new password again",
        validators=[
            DataRequired(),
            EqualTo("new", message="The two new passwords are not the same."),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])


def begin_forced_change(staff: Staff) -> Response:
    """After her password and TOTP code: no staff session yet, only the right to choose her
    own password within a few minutes."""
    session.clear()
    session[FORCED] = {
        "id": staff.id,
        "gen": staff.session_generation or 0,
        "exp": int(time.time()) + FORCED_SECONDS,
    }
    return redirect(url_for("verify.forced_password"), code=303)


def _forced_staff() -> Staff:
    ref = session.get(FORCED)
    if not isinstance(ref, dict) or int(ref.get("exp", 0)) < time.time():
        abort(401)
    staff = db.session().get(Staff, int(ref["id"]))
    if (
        staff is None
        or staff.disabled
        or not staff.password_change_required
        or (staff.session_generation or 0) != int(ref.get("gen", -1))
    ):
        abort(401)
    return staff


def _set_password(staff: Staff, password: str, how: str) -> None:
    """Store the new hash, end every session of hers, audit; the caller logs her in again."""
    sess = db.session()
    staff.password_hash = hash_password(password)
    staff.password_change_required = False
    revoke_sessions(sess, staff.id)
    audit.record(sess, staff.id, "staff_update", f"{staff.login}:password-{how}")
    sess.commit()
    sess.refresh(staff)


@bp.route("/password/new", methods=["GET", "POST"])
@public
def forced_password() -> Any:
    """First log-in of an account an admin made: choose her own password."""
    staff = _forced_staff()
    form = NewPasswordForm()
    if not form.is_submitted():
        return render_template("verify/password_new.html", form=form)
    if not form.validate():
        return render_template("verify/password_new.html", form=form), 400
    assert form.new.data is not None  # DataRequired has passed
    if check_password(staff, form.new.data):
        return render_template(
            "verify/password_new.html",
            form=form,
            error="Choose a password of your own, not the first one.",
        ), 400
    _set_password(staff, form.new.data, "first")
    session.pop(FORCED, None)
    login_session(staff)
    from reporter.verify.account import _home

    return redirect(_home(staff), code=303)


def _account_page(
    form: ChangePasswordForm, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    staff = current_staff()
    assert staff is not None
    return render_template(
        "verify/account.html",
        form=form,
        me=staff,
        error=error,
        fingerprint=fingerprint(staff.public_key),
    ), status


@bp.get("/account")
@allow(*ALL)
def account() -> tuple[str, int]:
    """Her own page: her key's fingerprint (colleagues compare it before a grant) and the
    password change."""
    return _account_page(ChangePasswordForm())


@bp.post("/account/password")
@allow(*ALL)
def change_password() -> Any:
    """Self-service change: current password, then the new one twice."""
    staff = current_staff()
    assert staff is not None
    form = ChangePasswordForm()
    if not form.validate():
        return _account_page(form, "Please correct the marked fields.", 400)
    assert form.current.data is not None and form.new.data is not None  # DataRequired passed
    if session_wait() > 0:
        return _account_page(form, "Too many tries: wait a minute, then try again.", 429)
    if not check_password(staff, form.current.data):
        note_session_failure()
        return _account_page(form, "The current password is not right.", 400)
    if form.new.data == form.current.data:
        return _account_page(form, "The new password must differ from the current one.", 400)
    _set_password(staff, form.new.data, "self")
    login_session(staff)  # every other session is dead; this one goes on
    return redirect(url_for("verify.account", done="password changed"), code=303)


@bp.post("/admin/staff/<int:staff_id>/reset-totp")
@allow(Role.ADMIN)
def reset_totp(staff_id: int) -> Response:
    """A lost or compromised phone: drop her TOTP secret; she enrols again at her next
    log-in. Her sessions end; the reset is audited."""
    sess = db.session()
    me = current_staff()
    assert me is not None
    staff = sess.get(Staff, staff_id)
    if staff is None:
        abort(404)
    if staff.id == me.id:
        abort(400)  # another admin resets hers, so that two people know
    sess.execute(
        update(Staff)
        .where(Staff.id == staff.id)
        .values(totp_secret=None, totp_confirmed=False, totp_last_step=None)
    )
    revoke_sessions(sess, staff.id)
    audit.record(sess, me.id, "staff_update", f"{staff.login}:totp-reset")
    sess.commit()
    return redirect(url_for("verify.admin", done="authenticator reset"), code=303)
