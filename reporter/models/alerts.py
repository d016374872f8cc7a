"""Safety alerts (issue 16): the tables. Imported by reporter.models.load_all so that migrations and
tests see them.

Plaintext columns: what a sanitised alert says (kind, severity, province, an area name, a month,
a description the moderator wrote for members), who drafted and who approved it, and dates.
An offender's phone number or registration exists here ONLY as keyed hashes
(`alert_identifier.digest`, HMAC-style keyed BLAKE2b under a secret outside the database:
reporter/alerts/index.py). Member codes exist only as keyed hashes. No column holds a number,
a plate, a code, an address or anything a reporter wrote.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, random_id, utcnow

ALERT_STATUSES = ("draft", "published", "rejected", "withdrawn")
# the report vocabulary's kinds plus two that only alerts need
EXTRA_KINDS = ("time_waster", "non_payment")
SEVERITIES = ("caution", "danger", "extreme_danger")
IDENTIFIER_KINDS = ("phone", "phone_prefix", "phone_suffix", "plate_gram")
CHALLENGE_REASONS = ("not_this_person", "number_reassigned", "did_not_happen", "other")
CHALLENGE_STATES = ("open", "upheld", "dismissed")


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=random_id)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(3), index=True)
    area: Mapped[str] = mapped_column(String(80))  # a town or area name, never a point
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    description: Mapped[str] = mapped_column(Text)
    # identifiers counted, for the approver ("2 numbers, 1 partial plate"); never the values
    phone_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    plate_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    corroborated: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    drafted_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    published_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    corrected_on: Mapped[dt.date | None] = mapped_column(Date)
    # when the SMS job sent it to the province's opted-in members (migration 0013)
    sms_sent_on: Mapped[dt.date | None] = mapped_column(Date)


class AlertSource(Base):
    """Which reports an alert rests on (staff side only; never shown to members). The
    corroborated mark needs two sources whose reports have different receipts."""

    __tablename__ = "alert_source"
    __table_args__ = (UniqueConstraint("alert_id", "report_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))


class AlertIdentifier(Base):
    """One keyed hash of an offender's number or registration (or of a piece of one)."""

    __tablename__ = "alert_identifier"
    __table_args__ = (Index("ix_alert_identifier_digest", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    # which plate of the alert a gram belongs to, and how many grams that plate has
    item: Mapped[int] = mapped_column(SmallInteger, default=0)
    grams: Mapped[int] = mapped_column(SmallInteger, default=0)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))


class MemberCode(Base):
    """A member's code: random, printed on a card, stored only as a keyed hash."""

    __tablename__ = "member_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the card number
    lookup_hash: Mapped[str] = mapped_column(String(64), unique=True)
    province: Mapped[str] = mapped_column(String(3))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    issued_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # the checker's progressive delay for this code (reporter/alerts/throttle.py)
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_check_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AlertChallenge(Base):
    """Someone says an alert is false: a reason from a fixed list (no free text), reviewed."""

    __tablename__ = "alert_challenge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    made_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date)


class AlertAuthorisation(Base):
    """The Information Regulator's prior authorisation (POPIA s 57(1)(b)) as an admin recorded
    it: without a row, alerts stay off even when ALERTS_ENABLED is set."""

    __tablename__ = "alert_authorisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    granted_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AlertSmsSubscription(Base):
    """A member who asked for alerts by SMS: her number sealed (envelope) to the alerts-SMS
    public key, whose secret only the sending job holds (reporter/alerts/sms.py). The web app
    cannot open it; the job can, and so can the SMS gateway and the network that carry it."""

    __tablename__ = "alert_sms_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_code_id: Mapped[int] = mapped_column(
        ForeignKey("member_code.id", ondelete="CASCADE"), unique=True
    )
    sealed: Mapped[dict] = mapped_column(JSONB)
    created_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
