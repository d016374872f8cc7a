"""Publishing and withdrawing incidents, and keeping the aggregates current in the same
transaction.

The staff side calls publish_incident when a moderator verifies a report; the exact point exists
only in that call. It is displaced once (reporter/maps/fuzz.py), and only the displaced point and
its cells are stored. The caller owns the transaction: nothing here commits, so an incident and
its counts are committed, or rolled back, together.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Sequence
from itertools import product
from typing import Any, cast

import h3
from flask import current_app
from geoalchemy2 import WKTElement
from sqlalchemy import Row, Table, and_, bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from reporter.domain.vocabulary import (
    CATEGORY_VALUES,
    PERPETRATOR_VALUES,
    PROVINCES,
    SOURCE_TYPES,
    VERIFICATION_LEVELS,
)
from reporter.maps import fuzz
from reporter.models.counts import AggregateState, IncidentCount
from reporter.models.public import Incident

ANY = "*"
RESOLUTIONS = (5, 6, 7)
# resolution 0 is the whole country (cell ANY): what tables and summaries read
AGGREGATE_RESOLUTIONS = (0, *RESOLUTIONS)
FIRST_MONTH = dt.date(2000, 1, 1)
MAX_PEOPLE = 1000


class PublishInvalid(ValueError):
    """A value for the public record is missing or not in the controlled vocabulary."""


class IncidentUnknown(LookupError):
    """No incident with that id."""


def _terms(values: Sequence[str], allowed: frozenset[str], what: str) -> list[str]:
    if isinstance(values, str) or not values:
        raise PublishInvalid(f"{what}: give a list of at least one value")
    out = list(dict.fromkeys(values))
    unknown = [v for v in out if v not in allowed]
    if unknown:
        raise PublishInvalid(f"{what}: not in the vocabulary: {', '.join(map(str, unknown))}")
    return out


def _month(value: dt.date) -> dt.date:
    if not isinstance(value, dt.date):
        raise PublishInvalid("month: give a date")
    first = dt.date(value.year, value.month, 1)
    today = dt.date.today()
    if first < FIRST_MONTH or first > dt.date(today.year, today.month, 1):
        raise PublishInvalid("month: must be between 2000-01 and this month")
    return first


def cells_of(lat: float, lon: float) -> dict[int, str]:
    return {res: h3.latlng_to_cell(lat, lon, res) for res in RESOLUTIONS}


def aggregate_keys(incident: Incident) -> list[tuple[int, str, dt.date, str, str, str]]:
    """The incident_count rows this incident adds one to, sorted (a fixed lock order, so that
    concurrent publishes cannot deadlock)."""
    cells = {0: ANY, 5: incident.cell_r5, 6: incident.cell_r6, 7: incident.cell_r7}
    keys = [
        (res, cell, incident.month, incident.province, category, perpetrator)
        for res in AGGREGATE_RESOLUTIONS
        if (cell := cells[res]) is not None
        for category, perpetrator in product(
            [ANY, *incident.categories], [ANY, *incident.perpetrators]
        )
    ]
    return sorted(set(keys))


def mark_changed(session: Session) -> None:
    """Give the aggregates a new random token, so that every process's cache misses."""
    stmt = insert(AggregateState).values(id=1, token=secrets.token_hex(16), changes=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[AggregateState.id],
            set_={"token": stmt.excluded.token, "changes": AggregateState.changes + 1},
        )
    )


def _add(session: Session, incident: Incident) -> None:
    rows = [
        dict(
            zip(
                ("resolution", "cell", "month", "province", "category", "perpetrator"),
                key,
                strict=True,
            ),
            count=1,
        )
        for key in aggregate_keys(incident)
    ]
    stmt = insert(IncidentCount).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            constraint="pk_incident_count",
            set_={"count": IncidentCount.count + stmt.excluded.count},
        )
    )


def _subtract(session: Session, incident: Incident) -> None:
    keys = aggregate_keys(incident)
    names = ("resolution", "cell", "month", "province", "category", "perpetrator")
    params = [{f"k_{n}": v for n, v in zip(names, key, strict=True)} for key in keys]
    match = and_(*(getattr(IncidentCount, n) == bindparam(f"k_{n}") for n in names))
    conn = session.connection()
    conn.execute(update(IncidentCount).where(match).values(count=IncidentCount.count - 1), params)
    # only this incident's rows can have reached zero
    conn.execute(delete(IncidentCount).where(match, IncidentCount.count <= 0), params)


def _check_fields(
    province: str, verification_level: str, source_type: str, people_affected: int
) -> None:
    """Raises PublishInvalid naming the first field that is not one of its values."""
    if province not in PROVINCES:
        raise PublishInvalid(f"province: not one of {', '.join(PROVINCES)}")
    if verification_level not in VERIFICATION_LEVELS:
        raise PublishInvalid(f"verification_level: not one of {', '.join(VERIFICATION_LEVELS)}")
    if source_type not in SOURCE_TYPES:
        raise PublishInvalid(f"source_type: not one of {', '.join(SOURCE_TYPES)}")
    if (
        isinstance(people_affected, bool)
        or not isinstance(people_affected, int)
        or not (1 <= people_affected <= MAX_PEOPLE)
    ):
        raise PublishInvalid(f"people_affected: a whole number from 1 to {MAX_PEOPLE}")


def _place(lat: float, lon: float) -> tuple[float, float]:
    """The true point as floats; raises PublishInvalid unless it is inside South Africa."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError) as exc:
        raise PublishInvalid("lat, lon: give numbers") from exc
    if not (math.isfinite(lat) and math.isfinite(lon)) or not fuzz.inside_bbox(lat, lon):
        raise PublishInvalid("lat, lon: the place must be inside South Africa")
    return lat, lon


def publish_incident(
    session: Session,
    *,
    categories: Sequence[str],
    perpetrators: Sequence[str],
    month: dt.date,
    province: str,
    lat: float,
    lon: float,
    people_affected: int,
    verification_level: str,
    source_type: str,
    privacy_radius_m: float | None = None,
) -> Incident:
    """Validate, displace once, store only the displaced point and its cells, count it.

    Raises PublishInvalid (nothing is written). The caller commits.
    """
    cats = _terms(categories, CATEGORY_VALUES, "categories")
    perps = _terms(perpetrators, PERPETRATOR_VALUES, "perpetrators")
    first = _month(month)
    _check_fields(province, verification_level, source_type, people_affected)
    lat, lon = _place(lat, lon)
    if privacy_radius_m is None:
        privacy_radius_m = current_app.extensions["reporter.settings"].privacy_radius_m

    # the only place the true point is used; only the displaced one is stored
    shown_lat, shown_lon = fuzz.displace(lat, lon, privacy_radius_m)
    cells = cells_of(shown_lat, shown_lon)
    incident = Incident(
        categories=cats,
        perpetrators=perps,
        month=first,
        province=province,
        geom=WKTElement(f"POINT({shown_lon!r} {shown_lat!r})", srid=4326),
        cell_r5=cells[5],
        cell_r6=cells[6],
        cell_r7=cells[7],
        verification_level=verification_level,
        source_type=source_type,
        people_affected=people_affected,
        withdrawn=False,
    )
    session.add(incident)
    session.flush()
    _add(session, incident)
    mark_changed(session)
    return incident


def withdraw_incident(session: Session, incident_id: int) -> Incident:
    """Withdraw a published incident and take it out of every count (idempotent).

    Raises IncidentUnknown. The caller commits.
    """
    incident = session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).first()
    if incident is None:
        raise IncidentUnknown("no incident with that id")
    if incident.withdrawn:
        return incident
    incident.withdrawn = True
    session.flush()
    _subtract(session, incident)
    mark_changed(session)
    return incident


# One statement per resolution: four smaller aggregations run faster than one large one
# (about 40 % at 200,000 incidents), since each fits in memory.
REFRESH_SQL = """
    INSERT INTO incident_count
        (resolution, cell, month, province, category, perpetrator, count)
    SELECT :resolution, {cell}, i.month, i.province, c.category, p.perpetrator, count(*)
    FROM incident i
    CROSS JOIN LATERAL (SELECT '*' UNION ALL SELECT unnest(i.categories)) AS c(category)
    CROSS JOIN LATERAL (SELECT '*' UNION ALL SELECT unnest(i.perpetrators)) AS p(perpetrator)
    WHERE NOT i.withdrawn AND {cell} IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6
"""
CELL_COLUMN = {0: "'*'", 5: "i.cell_r5", 6: "i.cell_r6", 7: "i.cell_r7"}


def refresh_aggregates(session: Session) -> None:
    """Rebuild every count from the incidents (a repair tool and the bulk path; publish and
    withdraw keep the counts current on their own). Readers see the old counts until the
    caller commits."""
    session.execute(text("LOCK TABLE incident_count IN EXCLUSIVE MODE"))
    session.execute(delete(IncidentCount))
    for resolution in AGGREGATE_RESOLUTIONS:
        sql = REFRESH_SQL.format(cell=CELL_COLUMN[resolution])
        session.execute(text(sql), {"resolution": resolution})
    mark_changed(session)


def count_rows(session: Session) -> Sequence[Row[Any]]:
    """Every aggregate row, sorted (for checks that incremental and refreshed counts agree)."""
    return session.execute(
        select(
            IncidentCount.resolution,
            IncidentCount.cell,
            IncidentCount.month,
            IncidentCount.province,
            IncidentCount.category,
            IncidentCount.perpetrator,
            IncidentCount.count,
        ).order_by(*cast(Table, IncidentCount.__table__).primary_key.columns)
    ).all()
