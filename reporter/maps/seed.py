"""Demo data: a few hundred published incidents around the cities where Sisonke works, so the
map shows something at once. Every one goes through publish_incident, so its point is displaced
like a real one. Demo mode only (the caller checks the mode)."""

from __future__ import annotations

import datetime as dt
import math
import random

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from reporter.domain.vocabulary import SOURCE_TYPES, VERIFICATION_LEVELS
from reporter.maps.fuzz import inside_bbox
from reporter.maps.publish import publish_incident
from reporter.models.public import Incident

# (name, lat, lon, province, share of incidents, spread in km): the hotspots where street-based
# sex work and police raids are reported (Hillbrow for Johannesburg).
CITIES = (
    ("Johannesburg (Hillbrow)", -26.1929, 28.0470, "GP", 0.22, 3.0),
    ("Pretoria", -25.7479, 28.1880, "GP", 0.10, 3.0),
    ("Durban", -29.8587, 31.0218, "KZN", 0.14, 3.5),
    ("Cape Town", -33.9249, 18.4241, "WC", 0.13, 3.5),
    ("Gqeberha", -33.9608, 25.6022, "EC", 0.07, 3.0),
    ("East London", -33.0153, 27.9116, "EC", 0.06, 3.0),
    ("Bloemfontein", -29.1211, 26.2140, "FS", 0.06, 3.0),
    ("Polokwane", -23.9045, 29.4689, "LP", 0.05, 3.0),
    ("Mbombela", -25.4658, 30.9853, "MP", 0.06, 3.0),
    ("Rustenburg", -25.6676, 27.2421, "NW", 0.06, 3.0),
    ("Kimberley", -28.7323, 24.7623, "NC", 0.05, 3.0),
)

# Police abuse dominates what Sisonke documents; weights are relative.
POLICE_CATEGORIES = {
    "unlawful_arrest": 8,
    "extortion": 7,
    "confiscation": 6,
    "harassment": 6,
    "physical_assault": 5,
    "sexual_assault": 3,
    "complaint_refused": 4,
    "threats": 3,
}
OTHER_CATEGORIES = {
    "physical_assault": 6,
    "robbery_nonpayment": 6,
    "threats": 4,
    "sexual_assault": 4,
    "stalking": 2,
    "denied_health_care": 3,
    "service_refused": 2,
    "eviction_mob": 2,
    "murder_attempt": 1,
}
OTHER_PERPETRATORS = {
    "client": 8,
    "manager": 3,
    "partner": 3,
    "community": 4,
    "health_worker": 2,
    "business": 1,
    "official": 1,
    "unknown": 2,
}


def _pick(rng: random.Random, weights: dict[str, int], most: int) -> list[str]:
    n = rng.choices(range(1, most + 1), weights=[6, 3, 1][:most])[0]
    out: list[str] = []
    while len(out) < n:
        value = rng.choices(list(weights), weights=list(weights.values()))[0]
        if value not in out:
            out.append(value)
    return out


def _month_back(today: dt.date, months: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def seed_incidents(session: Session, n: int = 1000, rng_seed: int = 20261128) -> int:
    """Publish `n` realistic demo incidents and commit; does nothing if any incident exists.

    rng_seed fixes the demo's true points, dates and categories; the displacement itself always
    comes from the system's random source, as for real incidents. Returns how many were made.
    """
    if session.scalar(select(exists().where(Incident.id.is_not(None)))):
        return 0
    rng = random.Random(rng_seed)  # noqa: S311 - demo data, not a secret
    today = dt.date.today()
    cities = list(CITIES)
    for _i in range(n):
        _name, lat, lon, province, _share, spread_km = rng.choices(
            cities, weights=[c[4] for c in cities]
        )[0]
        while True:
            # a true point near the city's hotspot (normal, spread_km standard deviation)
            dlat = rng.gauss(0, spread_km) / 111.2
            dlon = rng.gauss(0, spread_km) / (111.2 * math.cos(math.radians(lat)))
            if inside_bbox(lat + dlat, lon + dlon):
                break
        police = rng.random() < 0.65
        if police:
            categories = _pick(rng, POLICE_CATEGORIES, 3)
            perpetrators = ["saps"] if rng.random() < 0.7 else ["metro_police"]
            if rng.random() < 0.1:
                perpetrators.append("client")
        else:
            categories = _pick(rng, OTHER_CATEGORIES, 2)
            perpetrators = _pick(rng, OTHER_PERPETRATORS, 2)
        publish_incident(
            session,
            categories=categories,
            perpetrators=perpetrators,
            # months that the release due now covers (2 to 17 months back, more of them
            # recent), so that the demo map shows them
            month=_month_back(today, 2 + min(rng.randrange(16), rng.randrange(16))),
            province=province,
            lat=lat + dlat,
            lon=lon + dlon,
            people_affected=rng.choices([1, 2, 3, 4], weights=[80, 12, 5, 3])[0],
            verification_level=rng.choices(VERIFICATION_LEVELS, weights=[5, 3, 2])[0],
            source_type=rng.choices(SOURCE_TYPES, weights=[5, 3, 2, 1])[0],
        )
    session.commit()
    return n
