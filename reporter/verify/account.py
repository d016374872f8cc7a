"""Staff log-in (password + TOTP), TOTP enrolment, and key custody in the browser."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import segno
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import or_, select, update
from werkzeug.wrappers import Response

from reporter.crypto import envelope
from reporter.domain.enums import Role
from reporter.models import audit, db
from reporter.models.private import CaseKey, KeyGrant
from reporter.models.staff import Staff
from reporter.verify import bp
from reporter.verify.forms import CodeForm, LoginForm
from reporter.web.auth import (
    ACCOUNT_FREE,
    account_wait,
    allow,
    check_password,
    current_staff,
    known_device,
    login_session,
    logout_session,
    note_failure,
    note_session_failure,
    public,
    remember_device,
    revoke_sessions,
    session_wait,
)
from reporter.web.extensions import global_key, limiter
from reporter.web.json import json_body, json_error

ENROL = "enrol"
ALL = tuple(Role)


def totp_step_ok(staff: Staff, code: str) -> int | None:
    """The accepted time step, or None. Codes are single-use: a step at or before the last
    accepted one is refused, so a code seen over a shoulder cannot be replayed."""
    code = code.strip()
    if not staff.totp_secret:  # none yet, or sealed under another server's key
        return None
    totp = pyotp.TOTP(staff.totp_secret)
    now = int(time.time()) // 30
    for step in (now - 1, now, now + 1):
        if pyotp.utils.strings_equal(totp.at(step * 30), code):
            if staff.totp_last_step is not None and step <= staff.totp_last_step:
                return None
            return step
    return None


def totp_just_used(staff: Staff, code: str) -> bool:
    """The code is right but its step was already accepted (she typed it twice)."""
    if not staff.totp_secret:
        return False
    totp = pyotp.TOTP(staff.totp_secret)
    now = int(time.time()) // 30
    return staff.totp_last_step is not None and any(
        step <= staff.totp_last_step and pyotp.utils.strings_equal(totp.at(step * 30), code.strip())
        for step in (now - 1, now, now + 1)
    )


def _home(staff: Staff) -> str:
    if staff.public_key is None:
        return url_for("verify.key_setup")
    if Role.PARTNER in staff.roles:  # a partner's staff see only what was referred to them
        return url_for("verify.partner_home")
    if set(staff.roles) <= {Role.ADVOCATE}:
        return url_for("export.exports")
    return url_for("verify.queue")


def _safe_next(target: str | None, staff: Staff) -> str:
    if target and target.startswith("/staff/") and not target.startswith("//"):
        return target
    return _home(staff)


REFUSED = (
    "That did not work. Check your name, password and code. After several tries, "
    "wait a minute before the next one."
)


def claim_step(sess: Any, staff_id: int, step: int) -> bool:
    """Mark the TOTP step used, atomically: of concurrent log-ins with one code only the one
    whose conditional UPDATE changes the row wins (finding 13.10)."""
    result = sess.execute(
        update(Staff)
        .where(
            Staff.id == staff_id, or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step)
        )
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


def _refuse(form: LoginForm, error: str = REFUSED) -> tuple[str, int]:
    return render_template("verify/login.html", form=form, error=error), 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.extensions["reporter.settings"].staff_login_limit,
    key_func=global_key,
    scope="staff-login",
    methods=["POST"],
)
@public
def login() -> Any:
    """Staff log-in: name, password and a TOTP code. Every refusal gives the same answer;
    repeated failures slow down (per session, and per account from unknown browsers) but
    never lock her out (reporter.web.auth)."""
    form = LoginForm()
    if request.method == "GET" or not form.validate():
        return render_template(
            "verify/login.html", form=form
        ), 200 if request.method == "GET" else 400
    sess = db.session()
    assert form.login.data is not None and form.password.data is not None  # DataRequired
    staff = sess.scalars(select(Staff).where(Staff.login == form.login.data.strip())).first()
    wait = session_wait()
    if staff is not None and not known_device(staff):
        wait = max(wait, account_wait(staff))
    # the same Argon2id work for an unknown name, a disabled account and a delayed try
    password_ok = check_password(staff, form.password.data)
    usable = staff is not None and not staff.disabled and wait <= 0 and password_ok
    if usable and staff is not None and not staff.totp_confirmed:
        session.clear()
        session[ENROL] = {"id": staff.id, "exp": int(time.time()) + 600}
        return redirect(url_for("verify.enrol"), code=303)
    step = totp_step_ok(staff, form.code.data or "") if usable and staff is not None else None
    if step is None or staff is None or not claim_step(sess, staff.id, step):
        sess.rollback()
        note_session_failure()
        if staff is None:
            return _refuse(form)
        reused = usable and totp_just_used(staff, form.code.data or "")
        if wait <= 0:  # a try refused unread during a delay does not lengthen it
            count = note_failure(sess, staff)
            if count >= ACCOUNT_FREE:
                audit.record(sess, staff.id, "login_failed", f"{staff.login}:{count}")
            sess.commit()
        # only someone who knows her password sees this (she typed the same code twice)
        return _refuse(
            form, "That code was just used. Wait for the next code." if reused else REFUSED
        )
    failures = staff.failed_logins or 0
    staff.failed_logins = 0
    staff.locked_until = None
    audit.record(sess, staff.id, "login", staff.login)
    sess.commit()
    if staff.password_change_required:  # an admin made the account: her own password first
        from reporter.verify.password import begin_forced_change

        return remember_device(begin_forced_change(staff), staff)
    login_session(staff)
    if failures:
        flash(
            f"{failures} failed log-in attempt{'s' if failures != 1 else ''} on your account "
            "since your last log-in. If that was not you, tell an admin.",
            "warning",
        )
    return remember_device(redirect(_safe_next(request.args.get("next"), staff), code=303), staff)


def _enrolling() -> Staff:
    ref = session.get(ENROL)
    if not isinstance(ref, dict) or int(ref.get("exp", 0)) < time.time():
        abort(401)
    staff = db.session().get(Staff, int(ref["id"]))
    if staff is None or staff.totp_confirmed or staff.disabled:
        abort(401)
    return staff


@bp.route("/enrol", methods=["GET", "POST"])
@public
def enrol() -> Any:
    """First log-in: scan the QR code (made here, no third party) and type a first code."""
    staff = _enrolling()
    sess = db.session()
    if not staff.totp_secret:
        # conditional: two tabs opening this page at once show the same secret
        sess.execute(
            update(Staff)
            .where(Staff.id == staff.id, Staff.totp_secret.is_(None))
            .values(totp_secret=pyotp.random_base32())
        )
        sess.commit()
        sess.refresh(staff)
    assert staff.totp_secret is not None  # set just above, by this request or another
    uri = pyotp.TOTP(staff.totp_secret).provisioning_uri(
        name=staff.login, issuer_name="Sisonke reports"
    )
    # segno writes the SVG from our own provisioning URI (login names are [a-z0-9._-])
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))  # noqa: S704
    form = CodeForm()
    if request.method == "POST":
        step = totp_step_ok(staff, form.code.data or "") if form.validate() else None
        if step is None:
            return render_template(
                "verify/enrol.html",
                form=form,
                qr=qr,
                secret=staff.totp_secret,
                error="That code did not match. Check the time on your "
                "phone and try the newest code.",
            ), 400
        if not claim_step(sess, staff.id, step):
            sess.rollback()
            abort(401)
        staff.totp_confirmed = True
        audit.record(sess, staff.id, "enrol_totp", staff.login)
        audit.record(sess, staff.id, "login", staff.login)
        sess.commit()
        if staff.password_change_required:  # an admin made the account: her own password
            from reporter.verify.password import begin_forced_change

            return begin_forced_change(staff)
        login_session(staff)
        return redirect(_home(staff), code=303)
    return render_template("verify/enrol.html", form=form, qr=qr, secret=staff.totp_secret)


@bp.post("/logout")
@allow(*ALL)
def logout() -> Response:
    """End the staff session (the browser also forgets the unlocked keys)."""
    staff = current_staff()
    if staff is not None:
        revoke_sessions(db.session(), staff.id)  # this cookie, and any copy of it, is dead
        audit.record(db.session(), staff.id, "logout", staff.login)
        db.session().commit()
    logout_session()
    return redirect(url_for("verify.login"), code=303)


@bp.get("/keys/setup")
@allow(*ALL)
def key_setup() -> str:
    """Choose an unlock passphrase; the browser makes the key pair and wraps the secret."""
    return render_template("verify/key_setup.html", staff=current_staff())


@bp.post("/keys/setup")
@allow(*ALL)
def key_setup_save() -> Any:
    """Store the public key and the passphrase-wrapped secret (the server never sees either
    the passphrase or the secret)."""
    staff = current_staff()
    assert staff is not None
    if staff.public_key is not None:
        return json_error("Your key is already set up. Ask an admin to reset it.", 409)
    data = json_body()
    try:
        pk = envelope.b64d(str(data.get("public_key", "")), 32)
        wrap = envelope.check_key_wrap(data.get("wrap"), pk)
    except (ValueError, envelope.EnvelopeError) as exc:
        return json_error(str(exc))
    staff.public_key = envelope.b64e(pk)
    staff.wrapped_secret_key = wrap
    audit.record(db.session(), staff.id, "key_setup", envelope.kid(pk))
    db.session().commit()
    return jsonify(ok=True, next=_home(staff))


@bp.get("/keys/me")
@allow(*ALL)
def my_keys() -> Response:
    """My wrapped key and the case keys granted to me (sealed to my public key)."""
    staff = current_staff()
    assert staff is not None
    sess = db.session()
    rows = sess.execute(
        select(KeyGrant, CaseKey)
        .join(CaseKey, KeyGrant.case_key_id == CaseKey.id)
        .where(KeyGrant.staff_id == staff.id)
    ).all()
    return jsonify(
        public_key=staff.public_key,
        wrap=staff.wrapped_secret_key,
        grants=[
            {
                "id": g.id,
                "case_key_id": c.id,
                "scope": c.scope,
                "kid": c.kid,
                "pk": c.public_key,
                "active": c.active,
                "sealed": g.sealed_key,
            }
            for g, c in rows
        ],
    )


@bp.post("/keys/unlocked")
@allow(*ALL)
def unlocked() -> Response:
    """The browser says it unlocked her key (an audit event; the server cannot check it)."""
    staff = current_staff()
    assert staff is not None
    audit.record(db.session(), staff.id, "unlock", staff.login)
    db.session().commit()
    return jsonify(ok=True)
