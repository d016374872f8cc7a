"""Typed models of the private side. The plaintext columns are exactly those of DESIGN.md
section 4; everything a reporter wrote lives only inside envelopes (JSONB of ciphertext) and
attachment bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reporter.domain.enums import FINAL_STATUSES as FINAL_STATUSES  # re-exported
from reporter.domain.enums import (
    PARTNER_SCOPE_PATTERN,
    Channel,
    Direction,
    KeyScope,
    ReportStatus,
)
from reporter.domain.vocabulary import PROVINCES
from reporter.models.base import Base, random_id, sql_in, utcnow

REPORT_STATUSES = tuple(ReportStatus)
CHANNELS = tuple(Channel)


class Report(Base):
    __tablename__ = "report"
    # the database refuses any other status or channel (migration 0015)
    __table_args__ = (
        CheckConstraint(sql_in("status", ReportStatus), name="status"),
        CheckConstraint(sql_in("channel", Channel), name="channel"),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=random_id)
    # a date only: the time of day would help match a report to a phone on a cell tower
    received_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    province: Mapped[str] = mapped_column(String(3), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=ReportStatus.NEW, index=True)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    size_bucket: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[dict[str, Any] | None] = mapped_column()
    duplicate_of: Mapped[str | None] = mapped_column(String(20))
    final_on: Mapped[dt.date | None] = mapped_column(Date)
    purged: Mapped[bool] = mapped_column(Boolean, default=False)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="report",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Message.id",
    )


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=random_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    header: Mapped[dict[str, Any]] = mapped_column()
    body: Mapped[bytes] = mapped_column(LargeBinary)
    size_bucket: Mapped[int] = mapped_column(Integer)

    report: Mapped[Report] = relationship(back_populates="attachments")


class Receipt(Base):
    __tablename__ = "receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lookup_hash: Mapped[str] = mapped_column(String(128), unique=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    reply_public_key: Mapped[str] = mapped_column(String(64))
    wrapped_reply_key: Mapped[dict[str, Any]] = mapped_column()
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (CheckConstraint(sql_in("direction", Direction), name="direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # Direction
    sent_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    envelope: Mapped[dict[str, Any]] = mapped_column()

    report: Mapped[Report] = relationship(back_populates="messages")


class CaseKey(Base):
    __tablename__ = "case_key"
    # one active key per scope, even when two coordinators rotate at once (migration 0008)
    __table_args__ = (
        Index("uq_case_key_active_scope", "scope", unique=True, postgresql_where=text("active")),
        # national, recovery, a province or partner:<id> (migration 0015)
        CheckConstraint(
            f"{sql_in('scope', (*KeyScope, *PROVINCES))} OR scope ~ '{PARTNER_SCOPE_PATTERN}'",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), index=True)  # KeyScope, EC ... WC, partner:<id>
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the secret half sealed to the recovery key only (the server cannot open it)
    sealed_secret: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KeyGrant(Base):
    __tablename__ = "key_grant"
    # one grant per person and key: a second grant replaces the first (migration 0008)
    __table_args__ = (UniqueConstraint("case_key_id", "staff_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_key_id: Mapped[int] = mapped_column(ForeignKey("case_key.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    sealed_key: Mapped[dict[str, Any]] = mapped_column()
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportPublication(Base):
    """Which incident a report was published as: at most one per report (unique), so that a
    re-posted publish form cannot re-draw the location noise. Private side only: the public
    `incident` table carries no report id, and maps/export never read this table."""

    __tablename__ = "report_publication"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), unique=True
    )
    published_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class IntakeToken(Base):
    """A report form that was accepted (tokens.py): its keyed hash, and for a few minutes the
    receipt sealed under a key derived from the form id. No column names the report."""

    __tablename__ = "intake_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_receipt: Mapped[bytes | None] = mapped_column(LargeBinary)
    receipt_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # when the form id stops being accepted anyway (hour-granular, from when it was shown)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class InboxSession(Base):
    """A reporter's open inbox (inbox.py). The cookie holds the key; this row only says the
    session is still open, so "Close my inbox" and Quick exit end it on the server too."""

    __tablename__ = "inbox_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipt.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class GatewaySession(Base):
    """A USSD session between two requests (reporter/gateway/store.py): an HMAC key and a
    sealed box, never the phone number."""

    __tablename__ = "gateway_session"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    box: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
