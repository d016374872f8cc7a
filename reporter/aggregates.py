"""Aggregated counts of published incidents: what every public map, table and API reads.

Public requests never scan `incident`: they sum rows of `incident_count`, kept current inside
the same transaction as every publish and withdrawal (reporter/maps/publish.py), and suppress
any sum below k. Why the table has the shape it has is in docs/maps.md ("Aggregates").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.modelbase import Base

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
        Index("ix_incident_count_lookup", "resolution", "category", "perpetrator", "month",
              postgresql_include=["province", "cell", "count"]),
    )


class AggregateState(Base):
    """One row whose token changes with every change of incident_count; response caches are
    keyed by it, so a publish in any process invalidates every process's cache. A random token
    (not a counter) stays unique across truncation and restores from backup."""

    __tablename__ = "aggregate_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
