"""Staff accounts: moderators, advocates, admins, partner staff. A password hash, a sealed TOTP
secret and a key wrapped in the browser; no reporter data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, CheckConstraint, DateTime, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from reporter.domain.enums import Role
from reporter.models.base import Base, sql_array, utcnow
from reporter.models.sealed import SealedTotp


class Staff(Base):
    __tablename__ = "staff"
    # only known roles (migration 0015)
    __table_args__ = (CheckConstraint(f"roles <@ {sql_array(Role, 'varchar[]')}", name="roles"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # stored sealed under a key outside the database (reporter.models.sealed); read as plain text
    totp_secret: Mapped[str | None] = mapped_column(SealedTotp())
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    provinces: Mapped[list[str]] = mapped_column(ARRAY(String(3)), default=list)
    public_key: Mapped[str | None] = mapped_column(String(64))
    wrapped_secret_key: Mapped[dict[str, Any] | None] = mapped_column()
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    # failed_logins: failures since her last successful log-in (shown to her at the next one);
    # locked_until: until then a log-in from a browser she has not used before waits (a
    # progressive delay, never a lock-out of the owner: reporter.web.auth)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # bumped on log-out, disabling, key reset and password change: every session cookie made
    # before that stops working (reporter.web.auth)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # set for an account an admin made: she chooses her own password at her first log-in
    # (migration 0012; reporter/verify/password.py)
    password_change_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
