"""Staff sessions and default-deny access, shared by the staff side (verify) and exports.

Every /staff/ endpoint must declare the roles it allows with @allow(...); an endpoint that
declares nothing is refused (403) even to an admin, so a forgotten decorator fails closed.
Throttling is per account, never per address.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for

from reporter import db
from reporter.models import Staff

ROLES = ("moderator", "coordinator", "advocate", "admin")
SESSION_KEY = "staff"
MAX_FAILURES = 5
LOCK_MINUTES = 15

F = TypeVar("F", bound=Callable[..., Any])
_ALLOWED: dict[str, frozenset[str]] = {}
_PUBLIC: set[str] = set()


def hasher() -> PasswordHasher:
    s = current_app.extensions["reporter.settings"]
    return PasswordHasher(time_cost=s.password_argon2_time_cost,
                          memory_cost=s.password_argon2_memory_kib, parallelism=1)


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
    session.clear()
    session[SESSION_KEY] = {"id": staff.id, "seen": int(time.time())}


def logout_session() -> None:
    session.clear()


def _load_staff() -> Staff | None:
    ref = session.get(SESSION_KEY)
    if not isinstance(ref, dict):
        return None
    idle = current_app.extensions["reporter.settings"].staff_idle_minutes * 60
    if int(ref.get("seen", 0)) + idle < time.time():
        session.pop(SESSION_KEY, None)
        return None
    staff = db.session().get(Staff, int(ref["id"]))
    if staff is None or staff.disabled:
        session.pop(SESSION_KEY, None)
        return None
    ref["seen"] = int(time.time())
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
            if request.method == "GET" and request.accept_mimetypes.accept_html and not (
                    request.path.endswith(".json") or "/data" in request.path):
                return redirect(url_for("verify.login", next=request.path))
            abort(401)
        g.staff = staff
        if not roles.intersection(staff.roles):
            abort(403)
        return None


def may_see_province(staff: Staff, province: str) -> bool:
    """Coordinators and admins see every province; moderators only their own."""
    if {"coordinator", "admin"} & set(staff.roles):
        return True
    return "moderator" in staff.roles and province in (staff.provinces or [])


def locked(staff: Staff) -> bool:
    return bool(staff.locked_until and staff.locked_until > dt.datetime.now(dt.UTC))


def note_failure(staff: Staff) -> None:
    staff.failed_logins = (staff.failed_logins or 0) + 1
    if staff.failed_logins >= MAX_FAILURES:
        staff.locked_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=LOCK_MINUTES)
        staff.failed_logins = 0
