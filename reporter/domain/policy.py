"""The rules of who may see and hold what (issue 14), on plain values (a staff member's roles and
provinces, a province code, a key scope) so that every layer asks the same questions here:

- province scope: coordinators and admins see every province's reports; a moderator only her
  own provinces'; nobody else any (advocates work with aggregates, a partner's staff see only
  what was referred to their organisation);
- roles: known ones, at least one; `partner` only with an organisation and then alone; a
  moderator has at least one province, and only real ones;
- grants of case keys (finding 13.3: the server cannot see what a grant seals, so it refuses
  by the key's scope): never the recovery key, never to an advocate, and only a scope her role
  may hold.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from reporter.domain.enums import KeyScope, Role
from reporter.domain.vocabulary import PROVINCES

ALL_ROLES = tuple(Role)
# the roles that see every province (and may hold the national key and partners' keys)
EVERY_PROVINCE = frozenset({Role.COORDINATOR, Role.ADMIN})
# the roles that work on reports: the queue, publication, referrals, outcomes, alerts
CASEWORK = (Role.MODERATOR, Role.COORDINATOR, Role.ADMIN)
PARTNER_ELSEWHERE = "Add a partner organisation's staff on the Partners page."


# --- province scope ----------------------------------------------------------------------------


def sees_every_province(roles: Iterable[str]) -> bool:
    return bool(EVERY_PROVINCE & set(roles))


def visible_provinces(
    roles: Iterable[str], provinces: Iterable[str] | None
) -> frozenset[str] | None:
    """The provinces whose reports she sees: None for every province, else a set (empty for
    roles that see no province's reports)."""
    roles = set(roles)
    if sees_every_province(roles):
        return None
    if Role.MODERATOR in roles:
        return frozenset(provinces or ())
    return frozenset()


def may_see_province(roles: Iterable[str], provinces: Iterable[str] | None, province: str) -> bool:
    """Coordinators and admins see every province; moderators only their own."""
    visible = visible_provinces(roles, provinces)
    return visible is None or province in visible


# --- roles -------------------------------------------------------------------------------------


def roles_refusal(
    roles: Collection[str], provinces: Collection[str], *, partner: bool = False
) -> str | None:
    """Why these roles and provinces cannot be an account's (None: they can). `partner`: the
    account is made for a partner organisation (the partners page)."""
    roles, provinces = list(roles), list(provinces)
    if not roles or set(roles) - set(ALL_ROLES):
        return "Choose at least one role, of " + ", ".join(ALL_ROLES) + "."
    if partner and roles != [Role.PARTNER]:
        return "A partner organisation's staff have the partner role only."
    if not partner and Role.PARTNER in roles:
        return PARTNER_ELSEWHERE
    if set(provinces) - set(PROVINCES):
        return "Unknown province."
    if Role.MODERATOR in roles and not provinces:
        return "A moderator needs at least one province."
    return None


# --- grants of case keys -----------------------------------------------------------------------


def scopes_allowed(
    roles: Iterable[str],
    provinces: Iterable[str] | None,
    *,
    partner_scopes: Iterable[str] = (),
    own_partner_scope: str | None = None,
) -> set[str]:
    """The case keys she may hold, by role: coordinators and admins every scope (national and
    every partner's included), moderators only their provinces' keys, advocates none. A
    partner's staff hold only their organisation's key (`own_partner_scope`, None when the
    organisation is unknown or disabled)."""
    roles = set(roles)
    if Role.PARTNER in roles:
        return {own_partner_scope} if own_partner_scope is not None else set()
    if sees_every_province(roles):
        return {KeyScope.NATIONAL, *PROVINCES, *partner_scopes}
    if Role.MODERATOR in roles:
        return {p for p in (provinces or []) if p in PROVINCES}
    return set()


def grant_refusal(
    roles: Iterable[str], scope: str, allowed: Collection[str]
) -> tuple[str, int] | None:
    """Why a key of `scope` cannot be granted to someone with these roles, who may hold
    `allowed` (scopes_allowed), with the HTTP status to answer; None: it can."""
    if scope == KeyScope.RECOVERY:
        return "The recovery key is never granted; it stays on paper.", 400
    if set(roles) <= {Role.ADVOCATE}:
        return "Advocates work with aggregates only; they get no case keys.", 403
    if scope not in allowed:
        if scope == KeyScope.NATIONAL:
            return (
                "The national key opens every report of every province: only "
                "coordinators and admins may hold it, never a moderator of "
                "some provinces.",
                403,
            )
        return "A moderator gets only her provinces' keys.", 403
    return None
