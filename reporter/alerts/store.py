"""Alerts without Flask: drafting, four-eyes approval, expiry, corrections, challenges,
corroboration, member codes and the check. Callers commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass

from nacl.hash import blake2b
from sqlalchemy import ColumnElement, and_, case, func, or_, select, text, update
from sqlalchemy.orm import Session

from reporter.alerts import index
from reporter.models.alerts import (
    Alert,
    AlertAuthorisation,
    AlertIdentifier,
    AlertSource,
    MemberCode,
)
from reporter.models.private import Receipt

# member codes: 12 symbols of Crockford's base32 (no I, L, O, U: nothing to misread on a card),
# 60 random bits, printed in three groups of four
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class FourEyes(PermissionError):
    """The one who drafted an alert cannot approve it."""


class NotCorroborating(ValueError):
    """The second report does not match, or has the same receipt."""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def authorised(session: Session) -> AlertAuthorisation | None:
    return session.scalars(
        select(AlertAuthorisation).order_by(AlertAuthorisation.id.desc()).limit(1)
    ).first()


# --- drafting and approval ------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    kind: str
    severity: str
    province: str
    area: str
    month: dt.date
    description: str
    phones: list[str]
    plates: list[str]


def identifier_rows(key: bytes, phones: list[str], plates: list[str]) -> list[index.Row]:
    """Keyed hashes of what she typed; raises NotAnIdentifier naming nothing she typed."""
    rows: list[index.Row] = []
    for typed in phones:
        rows += index.phone_rows(key, typed)
    for item, typed in enumerate(p for p in plates if p.strip()):
        rows += index.plate_rows(key, typed, item)
    return rows


def create_draft(
    session: Session, key: bytes, draft: Draft, staff_id: int, report_id: str
) -> Alert:
    phones = [p for p in draft.phones if p.strip()]
    plates = [p for p in draft.plates if p.strip()]
    rows = identifier_rows(key, phones, plates)
    alert = Alert(
        kind=draft.kind,
        severity=draft.severity,
        province=draft.province,
        area=draft.area,
        month=draft.month,
        description=draft.description,
        phone_count=len(phones),
        plate_count=len(plates),
        drafted_by=staff_id,
    )
    session.add(alert)
    session.flush()
    session.add(AlertSource(alert_id=alert.id, report_id=report_id))
    session.add_all(
        AlertIdentifier(alert_id=alert.id, kind=r.kind, item=r.item, grams=r.grams, digest=r.digest)
        for r in rows
    )
    session.flush()
    return alert


def approve(session: Session, alert: Alert, staff_id: int, months: int) -> None:
    if alert.drafted_by == staff_id:
        raise FourEyes("a second staff member must approve")
    alert.status = "published"
    alert.approved_by = staff_id
    alert.published_on = today()
    alert.expires_on = add_months(alert.published_on, months)


def current(province: str | None = None, on: dt.date | None = None) -> ColumnElement[bool]:
    """The condition of an alert members may see: published, not withdrawn, not expired."""
    cond = and_(Alert.status == "published", Alert.expires_on >= (on or today()))
    return and_(cond, Alert.province == province) if province else cond


def corroborate(
    session: Session, key: bytes, alert: Alert, report_id: str, identifier: str
) -> None:
    """A second report (from a different receipt) names the same number or plate."""
    from reporter.models.private import Report

    if session.get(Report, report_id) is None:
        raise NotCorroborating("no such report")
    if index.looks_like_phone(identifier):
        e164 = index.full_phone(identifier)
        if not e164:
            raise NotCorroborating("not a phone number")
        digests = [index.digest(key, "phone", e164)]
    else:
        digests = index.plate_query(key, identifier)
    matched = _matches(
        session, digests, plate=not index.looks_like_phone(identifier), only=alert.id
    )
    if alert.id not in matched:
        raise NotCorroborating("it names no number or plate of this alert")
    sources = session.scalars(
        select(AlertSource.report_id).where(AlertSource.alert_id == alert.id)
    ).all()
    if report_id in sources:
        raise NotCorroborating("this report is already a source")
    receipts = set(
        session.scalars(
            select(Receipt.id).where(Receipt.report_id.in_([*sources, report_id]))
        ).all()
    )
    mine = set(session.scalars(select(Receipt.id).where(Receipt.report_id == report_id)).all())
    others = receipts - mine
    if not mine or not others:
        raise NotCorroborating("both reports need their own receipt")
    session.add(AlertSource(alert_id=alert.id, report_id=report_id))
    alert.corroborated = True


# --- the check ------------------------------------------------------------------------------


def _matches(
    session: Session, digests: list[bytes], *, plate: bool, only: str | None = None
) -> set[str]:
    if not digests:
        return set()
    where: list[ColumnElement[bool]] = [AlertIdentifier.digest.in_(digests)]
    if only:
        where.append(AlertIdentifier.alert_id == only)
    if not plate:
        where.append(AlertIdentifier.kind.in_(("phone", "phone_prefix", "phone_suffix")))
        return set(session.scalars(select(AlertIdentifier.alert_id).where(*where)).all())
    where.append(AlertIdentifier.kind == "plate_gram")
    wanted = len(set(digests))
    rows = session.execute(
        select(
            AlertIdentifier.alert_id,
            AlertIdentifier.item,
            AlertIdentifier.grams,
            func.count(func.distinct(AlertIdentifier.digest)),
        )
        .where(*where)
        .group_by(AlertIdentifier.alert_id, AlertIdentifier.item, AlertIdentifier.grams)
    ).all()
    # the query inside the stored plate, or the stored (partial) plate inside the query
    return {alert_id for alert_id, _item, grams, hit in rows if hit == wanted or hit == grams}


def check(session: Session, key: bytes, text: str) -> list[Alert]:
    """Current alerts that name this number or (partial) registration, newest first.
    Raises index.NotAnIdentifier for what is neither."""
    text = text.strip()
    if index.looks_like_phone(text):
        e164 = index.full_phone(text)
        if not e164:
            raise index.NotAnIdentifier("not a phone number")
        ids = _matches(session, index.phone_query(key, e164), plate=False)
    else:
        ids = _matches(session, index.plate_query(key, text), plate=True)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.id.in_(ids), current())
            .order_by(Alert.published_on.desc(), Alert.id)
        ).all()
    )


def listing(session: Session, province: str, limit: int = 40) -> tuple[list[Alert], list[Alert]]:
    """Her province's current alerts, then the others', each newest first."""
    mine = session.scalars(
        select(Alert)
        .where(current(province))
        .order_by(Alert.published_on.desc(), Alert.month.desc(), Alert.id)
        .limit(limit)
    ).all()
    others = session.scalars(
        select(Alert)
        .where(current(), Alert.province != province)
        .order_by(Alert.published_on.desc(), Alert.month.desc(), Alert.id)
        .limit(max(0, limit - len(mine)))
    ).all()
    return list(mine), list(others)


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Current alerts by (province, kind), for a k-suppressed aggregate (docs/alerts.md)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for province, kind, n in session.execute(
        select(Alert.province, Alert.kind, func.count())
        .where(current())
        .group_by(Alert.province, Alert.kind)
    ):
        out[(province, kind)] = n
    return dict(out)


# --- member codes ---------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    code = "".join(ch for ch in (text or "").upper().translate(_READ_AS) if ch.isalnum())
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def code_hash(key: bytes, code: str) -> str:
    """A keyed hash (60 random bits need no slow hash; the key is outside the database)."""
    return blake2b(code.encode(), key=index.subkey(key, b"member-code"), digest_size=32).decode()


def issue_codes(
    session: Session, key: bytes, province: str, count: int, months: int, staff_id: int
) -> list[tuple[int, str, dt.date]]:
    """New codes for a province: (card number, code, expiry), shown once, never stored."""
    out = []
    expires = add_months(today(), months)
    for _ in range(count):
        code = new_code()
        row = MemberCode(
            lookup_hash=code_hash(key, code),
            province=province,
            issued_by=staff_id,
            expires_on=expires,
        )
        session.add(row)
        session.flush()
        out.append((row.id, code, expires))
    return out


def member_for(session: Session, key: bytes, text: str) -> MemberCode | None:
    code = normalise_code(text)
    if code is None:
        return None
    return live_member(
        session,
        session.scalars(
            select(MemberCode).where(MemberCode.lookup_hash == code_hash(key, code))
        ).first(),
    )


def live_member(session: Session, row: MemberCode | None) -> MemberCode | None:
    if row is None or row.revoked or row.expires_on < today():
        return None
    return row


# --- the checker's per-code slow-down --------------------------------------------------------

FREE_CHECKS = 10  # per hour and code, then each check waits 2, 4, 8 ... 60 seconds
WINDOW = dt.timedelta(hours=1)
MAX_WAIT = 60


def claim_check(session: Session, member: MemberCode, free: int = FREE_CHECKS) -> float:
    """0 when this code may check now (and counts it), else the seconds still to wait. One
    conditional UPDATE, so concurrent checks of one code cannot both slip through. The counter
    is committed without waiting for the disk (synchronous_commit off for this transaction):
    a crash may forget a few counts, never a report."""
    now = dt.datetime.now(dt.UTC)
    fresh = or_(MemberCode.window_start.is_(None), MemberCode.window_start < now - WINDOW)
    count = case((fresh, 1), else_=MemberCode.checks + 1)
    delay = func.least(MAX_WAIT, func.power(2, count - free))
    session.execute(text("SET LOCAL synchronous_commit = off"))
    row = session.execute(
        update(MemberCode)
        .where(
            MemberCode.id == member.id,
            or_(fresh, MemberCode.next_check_at.is_(None), MemberCode.next_check_at <= now),
        )
        .values(
            checks=count,
            window_start=case((fresh, now), else_=MemberCode.window_start),
            next_check_at=case(
                (count > free, now + func.make_interval(0, 0, 0, 0, 0, 0, delay)), else_=None
            ),
        )
        .returning(MemberCode.checks)
    ).first()
    if row is not None:
        return 0.0
    wait = session.scalars(select(MemberCode.next_check_at).where(MemberCode.id == member.id)).one()
    return max(1.0, (wait - now).total_seconds()) if wait else 1.0
