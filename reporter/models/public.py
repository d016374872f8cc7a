"""Published, de-identified records and the audit log: all that the public side (maps) and
the advocacy side (export) may read. This module imports nothing about reports, receipts or
messages, so those packages cannot reach what reporters wrote (DESIGN.md section 3)."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, random_id, utcnow
from reporter.models.counts import AggregateState, IncidentCount, Release, ReleaseBin, ReleasePeriod

__all__ = [
    "Incident",
    "SiteContent",
    "IncidentCount",
    "AggregateState",
    "Release",
    "ReleaseBin",
    "ReleasePeriod",
]


class Incident(Base):
    """The published, de-identified record: coarse values only, point already displaced."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(20), unique=True, default=random_id)
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    perpetrators: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    month: Mapped[dt.date] = mapped_column(Date, index=True)
    province: Mapped[str] = mapped_column(String(3), index=True)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    cell_r5: Mapped[str | None] = mapped_column(String(16), index=True)
    cell_r6: Mapped[str | None] = mapped_column(String(16), index=True)
    cell_r7: Mapped[str | None] = mapped_column(String(16), index=True)
    verification_level: Mapped[str] = mapped_column(String(16))
    source_type: Mapped[str] = mapped_column(String(16))
    people_affected: Mapped[int] = mapped_column(SmallInteger, default=1)
    published_on: Mapped[dt.date] = mapped_column(Date, default=lambda: utcnow().date())
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # the release that counted it (reporter/maps/release.py); None: not public (yet, or ever,
    # when it was published after its month had been released)
    release_id: Mapped[int | None] = mapped_column(Integer, index=True)


class SiteContent(Base):
    """Admin-edited, bleach-sanitised snippets shown on public pages."""

    __tablename__ = "site_content"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    # the language this text is for ("*": every language without its own; migration 0014)
    lang: Mapped[str] = mapped_column(
        String(8), primary_key=True, default="en", server_default="en"
    )
    html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=func.now()
    )
