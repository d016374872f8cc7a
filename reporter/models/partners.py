"""Models of partner organisations, referrals, case outcomes and staff notification choices
(issue 17, docs/partners.md). Private side only: maps and export never import this module.

Kept import-free of any blueprint; reporter.models.load_all imports it so that migrations and
tests (Base.metadata) see the tables.

- A partner organisation's key is a case key with the scope `partner:<id>` (one X25519 key per
  organisation, made in an admin's browser, its secret sealed to the recovery key and granted to
  the partner's staff like any case key: `key_grant`).
- A referral has its own X25519 key, made in the referring moderator's browser: the report's
  envelope and each attachment header gain one wrapped key for it (`add_recipient`), and its
  secret is stored sealed to the partner organisation's key. Withdrawing deletes both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from reporter.domain.enums import PARTNER_SCOPE as PARTNER_SCOPE  # re-exported
from reporter.models.base import Base, utcnow
from reporter.models.sealed import SealedText

# Coarse, typed outcomes of a verified report (docs/partners.md); codes are stable, the labels
# are for staff pages (English)
OUTCOMES: dict[str, str] = {
    "reported_saps": "Reported to SAPS",
    "refused_saps": "SAPS refused the complaint",
    "ipid_complaint": "Complaint to IPID",
    "case_number": "Case number issued",
    "charge_laid": "Charge laid",
    "withdrawn": "Withdrawn",
    "in_court": "In court",
    "conviction": "Conviction",
    "acquittal": "Acquittal",
    "civil_claim": "Civil claim",
    "settled": "Settled",
    "no_further_action": "No further action",
}

DIGEST_CHOICES = ("off", "always", "activity")


class PartnerOrg(Base):
    __tablename__ = "partner_org"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # the organisation's key: a case_key row with scope partner:<id>
    case_key_id: Mapped[int | None] = mapped_column(ForeignKey("case_key.id", ondelete="SET NULL"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PartnerStaff(Base):
    """Which partner organisation a staff member (role `partner`) works for."""

    __tablename__ = "partner_staff"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_org.id", ondelete="CASCADE"), index=True
    )


class Referral(Base):
    """A report referred to a partner: the referral key's public half (its kid is the one wrapped
    key the envelopes gained) and its secret sealed to the partner organisation's key."""

    __tablename__ = "referral"
    __table_args__ = (UniqueConstraint("report_id", "partner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_org.id", ondelete="CASCADE"), index=True
    )
    kid: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64))
    sealed_key: Mapped[dict[str, Any]] = mapped_column()
    referred_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    referred_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())


class CaseOutcome(Base):
    """What happened next with a verified report: one coarse, typed step with a month; the case
    number and court details only sealed (in the moderator's browser, to the case keys)."""

    __tablename__ = "case_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    month: Mapped[dt.date] = mapped_column(Date)
    sealed_details: Mapped[dict[str, Any] | None] = mapped_column()
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class StaffNotify(Base):
    """A staff member's notification choices. The address is personal data: stored sealed under
    a key derived from the receipt pepper (a copy of the database alone does not give it)."""

    __tablename__ = "staff_notify"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(SealedText())
    digest: Mapped[str] = mapped_column(String(10), default="off")  # DIGEST_CHOICES
    notices: Mapped[bool] = mapped_column(Boolean, default=True)
    last_digest_on: Mapped[dt.date | None] = mapped_column(Date)
