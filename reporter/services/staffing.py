"""Staff accounts and case-key grants: the one set of rules (issue 14).

The admin page (reporter/verify/admin.py), the partners page (reporter/verify/partners.py), the
`flask staff create` command (reporter/verify/cli.py) and the demo (reporter/ops/demo.py) all
create accounts and grant case keys through here, so none of them can skip a rule:

- a login is 2 to 64 of a-z 0-9 . _ - and is not taken;
- the roles are known ones, at least one; `partner` only with an organisation (the partners
  page), so no partner account is without one;
- a moderator has at least one province, and only real provinces are kept;
- a password has 12 to 1,024 characters (reporter/verify/password.py uses the same floor);
- a grant goes only to someone with a key, never of the recovery key, never to an advocate, and
  only of a scope her role may hold (finding 13.3), sealed to her key.

Every creation, update and grant is audited in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.domain import policy
from reporter.domain.enums import Role
from reporter.models import audit
from reporter.models.partners import PARTNER_SCOPE, PartnerOrg, PartnerStaff
from reporter.models.private import CaseKey, KeyGrant
from reporter.models.staff import Staff
from reporter.web.auth import hash_password, revoke_sessions

LOGIN_MIN, LOGIN_MAX = 2, 64
LOGIN_PATTERN = r"^[a-z0-9._-]+$"
LOGIN_HINT = "Lower-case letters, digits, dot, dash, underscore."
PASSWORD_MIN, PASSWORD_MAX = 12, 1024
PARTNER_ELSEWHERE = policy.PARTNER_ELSEWHERE


class StaffRefused(ValueError):
    """A rule said no: `str(exc)` is the message for her, `status` the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- the rules ---------------------------------------------------------------------------------


def check_login(sess: Session, login: str) -> None:
    if not LOGIN_MIN <= len(login) <= LOGIN_MAX or not re.match(LOGIN_PATTERN, login):
        raise StaffRefused(f"The name: {LOGIN_MIN} to {LOGIN_MAX} characters. {LOGIN_HINT}")
    if sess.scalars(select(Staff).where(Staff.login == login)).first():
        raise StaffRefused("That name is taken.", 409)


def check_password_rule(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise StaffRefused(
            f"The password needs at least {PASSWORD_MIN} characters (at most {PASSWORD_MAX})."
        )


def check_roles(roles: Iterable[str], provinces: Iterable[str], *, partner: bool = False) -> None:
    refusal = policy.roles_refusal(list(roles), list(provinces), partner=partner)
    if refusal is not None:
        raise StaffRefused(refusal)


# --- creating and updating accounts ------------------------------------------------------------


def create_staff(
    sess: Session,
    *,
    login: str,
    roles: Iterable[str],
    provinces: Iterable[str],
    password: str,
    actor_id: int | None,
    change_password: bool = True,
    **extra: Any,
) -> Staff:
    """A new account (not a partner's: create_partner_staff). With `change_password` (an
    account an admin made) she chooses her own password at her first log-in
    (reporter/verify/password.py). `extra` sets further columns (the demo's TOTP and key)."""
    roles, provinces = list(roles), list(provinces)
    check_login(sess, login)
    check_roles(roles, provinces)
    check_password_rule(password)
    staff = _add(sess, login, password, roles, provinces, change_password, extra)
    audit.record(sess, actor_id, "staff_create", f"{staff.login}:{','.join(staff.roles)}")
    return staff


def create_partner_staff(
    sess: Session, org: PartnerOrg, *, login: str, password: str, actor_id: int | None
) -> Staff:
    """A staff account of a partner organisation: role `partner` only, no province; she
    chooses her own password at her first log-in."""
    check_login(sess, login)
    check_roles([Role.PARTNER], [], partner=True)
    check_password_rule(password)
    staff = _add(sess, login, password, [Role.PARTNER], [], True, {})
    sess.add(PartnerStaff(staff_id=staff.id, partner_id=org.id))
    audit.record(sess, actor_id, "staff_create", f"{staff.login}:partner:{org.id}")
    return staff


def _add(
    sess: Session,
    login: str,
    password: str,
    roles: list[str],
    provinces: list[str],
    change_password: bool,
    extra: dict[str, Any],
) -> Staff:
    staff = Staff(
        login=login,
        password_hash=hash_password(password),
        roles=roles,
        provinces=provinces,
        password_change_required=change_password,
        **extra,
    )
    sess.add(staff)
    sess.flush()
    return staff


def toggle_disabled(sess: Session, staff: Staff, actor_id: int) -> None:
    """Disable (or re-enable) an account, never her own; her open sessions end now. Her grants
    stay until revoked."""
    if staff.id == actor_id:
        raise StaffRefused("You cannot disable your own account.")
    staff.disabled = not staff.disabled
    revoke_sessions(sess, staff.id)
    audit.record(
        sess,
        actor_id,
        "staff_update",
        f"{staff.login}:{'disabled' if staff.disabled else 'enabled'}",
    )


def reset_key(sess: Session, staff: Staff, actor_id: int) -> None:
    """A lost passphrase: her key and grants go; she makes a new key at her next log-in."""
    staff.public_key = None
    staff.wrapped_secret_key = None
    sess.execute(delete(KeyGrant).where(KeyGrant.staff_id == staff.id))
    revoke_sessions(sess, staff.id)
    audit.record(sess, actor_id, "staff_update", f"{staff.login}:key-reset")


# --- partner organisations' scopes ---------------------------------------------------------


def partner_scope(partner_id: int) -> str:
    return f"{PARTNER_SCOPE}{partner_id}"


def partner_of(sess: Session, staff: Staff) -> PartnerOrg | None:
    """The organisation a partner's staff member works for (None for everyone else)."""
    if Role.PARTNER not in staff.roles:
        return None
    row = sess.get(PartnerStaff, staff.id)
    return sess.get(PartnerOrg, row.partner_id) if row else None


def partner_scopes_allowed(sess: Session, staff: Staff) -> set[str]:
    """The case keys a partner's staff member may hold: her organisation's key only."""
    org = partner_of(sess, staff)
    return {partner_scope(org.id)} if org is not None and not org.disabled else set()


def all_partner_scopes(sess: Session) -> set[str]:
    return {partner_scope(i) for i in sess.scalars(select(PartnerOrg.id))}


# --- grants of case keys -----------------------------------------------------------------------


def scopes_allowed(sess: Session, staff: Staff) -> set[str]:
    """The case keys she may hold, by role: coordinators and admins every scope (national
    included), moderators only their provinces' keys, advocates none (finding 13.3: the
    server cannot see what a grant seals, so it must refuse by the key's scope). A partner's
    staff hold only their organisation's key; coordinators and admins may hold those too."""
    if Role.PARTNER in staff.roles:
        return partner_scopes_allowed(sess, staff)
    every = policy.sees_every_province(staff.roles)
    return policy.scopes_allowed(
        staff.roles, staff.provinces, partner_scopes=all_partner_scopes(sess) if every else ()
    )


def check_grant(sess: Session, target: Staff, key: CaseKey) -> None:
    if target.public_key is None:
        raise StaffRefused("She has not set up her key yet.", 409)
    refusal = policy.grant_refusal(target.roles, key.scope, scopes_allowed(sess, target))
    if refusal is not None:
        raise StaffRefused(*refusal)


def grant(
    sess: Session, key: CaseKey, target: Staff, sealed: object, granter_id: int | None
) -> None:
    """Store the case key sealed (in the granter's browser, or by the demo) to her key, after
    the rules; a second grant of one key to one person replaces the first."""
    check_grant(sess, target, key)
    assert target.public_key is not None
    try:
        checked = envelope.validate(sealed, {envelope.kid(envelope.b64d(target.public_key, 32))})
    except envelope.EnvelopeError as exc:
        raise StaffRefused(f"The sealed key was refused: {exc}") from exc
    # one statement: concurrent grants of one key to one person leave one grant
    stmt = pg_insert(KeyGrant).values(
        case_key_id=key.id, staff_id=target.id, sealed_key=checked, granted_by=granter_id
    )
    sess.execute(
        stmt.on_conflict_do_update(
            index_elements=[KeyGrant.case_key_id, KeyGrant.staff_id],
            set_={"sealed_key": stmt.excluded.sealed_key, "granted_by": stmt.excluded.granted_by},
        )
    )
    audit.record(sess, granter_id, "grant", f"{key.scope}:{key.kid}->{target.login}")
