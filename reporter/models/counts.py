"""Aggregated counts of published incidents: what every public map, table and API reads.

Public requests never scan `incident`: they sum rows of `incident_count`, kept current inside
the same transaction as every publish and withdrawal (reporter/maps/publish.py), and suppress
any sum below k. Why the table has the shape it has is in docs/maps.md ("Aggregates").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base

# Stands for "any value" in the category, perpetrator and cell columns (resolution 0 = country).
ANY = "*"


class IncidentCount(Base):
    """Number of published, not withdrawn incidents per (resolution, cell, month, province,
    category, perpetrator); category and perpetrator may be ANY, so that every filter combination
    sums rows in which each incident is counted exactly once."""

    __tablename__ = "incident_count"

    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cell: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    province: Mapped[str] = mapped_column(String(3), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    perpetrator: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # every public query fixes resolution, category and perpetrator and ranges over month;
        # the included columns let PostgreSQL answer from the index alone
        Index(
            "ix_incident_count_lookup",
            "resolution",
            "category",
            "perpetrator",
            "month",
            postgresql_include=["province", "cell", "count"],
        ),
    )


class AggregateState(Base):
    """One row whose token changes with every change of incident_count; response caches are
    keyed by it, so a publish in any process invalidates every process's cache. A random token
    (not a counter) stays unique across truncation and restores from backup."""

    __tablename__ = "aggregate_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


class Release(Base):
    """One scheduled release of the public aggregates (docs/maps.md, "Releases"). Public
    outputs read only what releases have frozen; nothing public changes between two of them."""

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cut_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # the last month this release covers (months after it are not public yet)
    through_month: Mapped[dt.date] = mapped_column(Date)
    # when the next release is due (shown on the map page)
    next_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    k: Mapped[int] = mapped_column(SmallInteger)
    periods: Mapped[int] = mapped_column(Integer, default=0)  # periods first published here
    bins: Mapped[int] = mapped_column(Integer, default=0)  # bins first published here


class ReleasePeriod(Base):
    """A period (a month "2026-09", a quarter "2026-Q3" or a year "2026") and the release that
    published it. Its bins never change afterwards."""

    __tablename__ = "release_period"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    kind: Mapped[str] = mapped_column(String(7))  # month, quarter, year
    first_month: Mapped[dt.date] = mapped_column(Date)
    release_id: Mapped[int] = mapped_column(Integer, index=True)


class ReleaseBin(Base):
    """A published (never suppressed) count of a released period: a bin of the fixed lattice
    period x area x attribute. Suppressed bins are not stored at all."""

    __tablename__ = "release_bin"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    # ANY (every incident), "c:<category>" or "p:<perpetrator>"
    attribute: Mapped[str] = mapped_column(String(40), primary_key=True)
    # 0: the whole country (province ANY) or one province (cell ANY); 5, 6: h3 cells
    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    province: Mapped[str] = mapped_column(String(3), primary_key=True)
    cell: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    release_id: Mapped[int] = mapped_column(Integer)
