"""Staff sessions and default-deny access, shared by the staff side (verify) and exports.

Every /staff/ endpoint must declare the roles it allows with @allow(...); an endpoint that
declares nothing is refused (403) even to an admin, so a forgotten decorator fails closed.
Throttling is per session and per account, never per address; a session ends at log-out, when
her generation is bumped (log-out, disable, key reset, password change), after the idle time
and after an absolute lifetime.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, update
from werkzeug.wrappers import Response

from reporter.domain import policy
from reporter.domain.enums import Role
from reporter.models import db
from reporter.models.staff import Staff

# plain strings (click.Choice matches an Enum member by its name, not its value)
ROLES = tuple(r.value for r in Role)
# partner: staff of a partner organisation (issue 17); they see only reports referred to it
SESSION_KEY = "staff"

F = TypeVar("F", bound=Callable[..., Any])
_ALLOWED: dict[str, frozenset[str]] = {}
_PUBLIC: set[str] = set()


def hasher() -> PasswordHasher:
    s = current_app.extensions["reporter.settings"]
    return PasswordHasher(
        time_cost=s.password_argon2_time_cost,
        memory_cost=s.password_argon2_memory_kib,
        parallelism=1,
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(staff: Staff | None, password: str) -> bool:
    """Constant work whether or not the account exists (a dummy hash for unknown names)."""
    ph = hasher()
    target = staff.password_hash if staff else _dummy_hash()
    try:
        ok = ph.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and staff is not None


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = str(hasher().memory_cost)
    if key not in _DUMMY:
        _DUMMY[key] = hasher().hash("not a real password")
    return _DUMMY[key]


def allow(*roles: str) -> Callable[[F], F]:
    """Declare the roles that may use a staff view (anything undeclared is refused)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def mark(view: F) -> F:
        view._allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Staff endpoints reachable without a session (the log-in steps)."""
    view._staff_public = True  # type: ignore[attr-defined]
    return view


def current_staff() -> Staff | None:
    return g.get("staff")


def login_session(staff: Staff) -> None:
    """A new session for her: her session generation and the time it began are in it, so a
    later log-out, disabling or key reset (which bump the generation) ends it on every device,
    and it ends anyway after STAFF_SESSION_HOURS however active it is."""
    session.clear()
    now = int(time.time())
    session[SESSION_KEY] = {
        "id": staff.id,
        "gen": staff.session_generation or 0,
        "born": now,
        "seen": now,
    }


def logout_session() -> None:
    session.clear()


def revoke_sessions(sess: Any, staff_id: int) -> None:
    """End every session of hers (log-out, disable, key reset, password change). The caller
    commits. Atomic: no read-modify-write, so two bumps never collapse into one."""
    sess.execute(
        update(Staff)
        .where(Staff.id == staff_id)
        .values(session_generation=Staff.session_generation + 1)
    )


def _load_staff() -> Staff | None:
    ref = session.get(SESSION_KEY)
    if not isinstance(ref, dict):
        return None
    settings = current_app.extensions["reporter.settings"]
    now = time.time()
    try:
        seen, born, gen = int(ref["seen"]), int(ref["born"]), int(ref["gen"])
        staff_id = int(ref["id"])
    except (KeyError, TypeError, ValueError):  # a cookie from before generations: log in again
        session.pop(SESSION_KEY, None)
        return None
    if (
        seen + settings.staff_idle_minutes * 60 < now
        or born + settings.staff_session_hours * 3600 < now
        or born > now + 60
    ):
        session.pop(SESSION_KEY, None)
        return None
    staff = db.session().get(Staff, staff_id)
    if staff is None or staff.disabled or (staff.session_generation or 0) != gen:
        session.pop(SESSION_KEY, None)
        return None
    ref["seen"] = int(now)
    session[SESSION_KEY] = ref
    return staff


def guard(bp: Blueprint) -> None:
    """Default-deny for every endpoint of a staff blueprint."""

    @bp.before_request
    def _default_deny() -> Any:
        view = current_app.view_functions.get(request.endpoint or "")
        if view is None:
            return None  # 404/405 handled by Flask
        if getattr(view, "_staff_public", False):
            return None
        roles: frozenset[str] | None = getattr(view, "_allowed_roles", None)
        if roles is None:
            abort(403)  # undeclared: fail closed
        staff = _load_staff()
        if staff is None:
            if (
                request.method == "GET"
                and request.accept_mimetypes.accept_html
                and not (request.path.endswith(".json") or "/data" in request.path)
            ):
                return redirect(url_for("verify.login", next=request.path))
            abort(401)
        g.staff = staff
        if not roles.intersection(staff.roles):
            abort(403)
        return None


def may_see_province(staff: Staff, province: str) -> bool:
    """Coordinators and admins see every province; moderators only their own."""
    return policy.may_see_province(staff.roles, staff.provinces, province)


# --- log-in throttling: slow the attacker, never lock the owner out (finding 13.5) --------
#
# Every refusal looks the same (unknown name, wrong password, wrong or reused code, disabled
# account, or "wait first"), so the answer names nothing. Two progressive delays:
# - per session: after SESSION_FREE failures in one browser session, each further try must
#   wait 2, 4, 8 ... up to MAX_DELAY seconds;
# - per account: after ACCOUNT_FREE failures since her last log-in, a try for her account from
#   a browser she has not logged in from before waits likewise. Browsers she has used carry a
#   signed device mark (a cookie under /staff) and are exempt, so a stranger hammering her
#   name slows only strangers. A try made during a delay is refused before the password is
#   looked at (the same Argon2id work is still done, and the answer is the same).
# Failures from ACCOUNT_FREE on are audited; her count is shown to her at her next log-in.

SESSION_FREE = 3
ACCOUNT_FREE = 5
MAX_DELAY = 60
_THROTTLE = "login_wait"
DEVICE_COOKIE = "staff_device"
DEVICE_DAYS = 180
_DEVICE_SALT = "reporter-staff-device-v1"


def delay_after(failures: int, free: int) -> int:
    """Seconds to wait after `failures` failures when the first `free` cost nothing."""
    if failures < free:
        return 0
    return int(min(MAX_DELAY, 2 ** (failures - free + 1)))


def session_wait() -> float:
    """Seconds this browser session must still wait before its next try."""
    ref = session.get(_THROTTLE)
    if not isinstance(ref, list) or len(ref) != 2:
        return 0.0
    return max(0.0, float(ref[1]) - time.time())


def note_session_failure() -> None:
    ref = session.get(_THROTTLE)
    n = int(ref[0]) + 1 if isinstance(ref, list) and len(ref) == 2 else 1
    session[_THROTTLE] = [n, time.time() + delay_after(n, SESSION_FREE)]


def account_wait(staff: Staff) -> float:
    """Seconds a try for her account from an unknown browser must still wait."""
    if staff.locked_until is None:
        return 0.0
    return max(0.0, (staff.locked_until - dt.datetime.now(dt.UTC)).total_seconds())


def note_failure(sess: Any, staff: Staff) -> int:
    """Count a failure for her account (atomically) and set the delay; the new count."""
    count = int(
        sess.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(failed_logins=func.coalesce(Staff.failed_logins, 0) + 1)
            .returning(Staff.failed_logins)
        ).scalar_one()
    )
    wait = delay_after(count, ACCOUNT_FREE)
    if wait:
        sess.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(locked_until=func.now() + dt.timedelta(seconds=wait))
        )
    return count


def _device_tag(staff_id: int) -> str:
    key = current_app.secret_key
    raw = key.encode() if isinstance(key, str) else bytes(key or b"")
    return hmac.new(raw, f"{_DEVICE_SALT}:{staff_id}".encode(), "sha256").hexdigest()[:16]


def _device_signer() -> URLSafeTimedSerializer:
    key = current_app.secret_key
    if key is None:
        raise RuntimeError("the app has no SECRET_KEY")
    return URLSafeTimedSerializer(key, salt=_DEVICE_SALT)


def _device_tags() -> list[str]:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return []
    signer = _device_signer()
    try:
        tags = signer.loads(value, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return []
    return [t for t in tags if isinstance(t, str)][:8] if isinstance(tags, list) else []


def device_marked() -> bool:
    """This browser carries a valid device mark of some staff member (reporter.web.extensions
    gives such log-ins their own global bucket)."""
    return bool(_device_tags())


def known_device(staff: Staff) -> bool:
    """Has she logged in from this browser before (a signed mark; names no one)."""
    return _device_tag(staff.id) in _device_tags()


def remember_device(response: Response, staff: Staff) -> Response:
    tags = [_device_tag(staff.id), *(t for t in _device_tags() if t != _device_tag(staff.id))]
    signer = _device_signer()
    response.set_cookie(
        DEVICE_COOKIE,
        signer.dumps(tags[:8]),
        max_age=DEVICE_DAYS * 86400,
        path="/staff",
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response
