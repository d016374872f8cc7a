"""Location fuzzing: one planar Laplace displacement per published incident.

Geo-indistinguishability (Andrés, Bordenabe, Chatzikokolakis, Palamidessi, CCS 2013): the
published point z is drawn around the true point x with density proportional to
exp(-eps * d(x, z)). The angle is uniform; the radius has the CDF C(r) = 1 - (1 + eps r) e^(-eps r),
inverted with the lower branch of the Lambert W function:

    r = -(1/eps) * (W_-1((p - 1) / e) + 1),   p uniform in [0, 1)

The mean displacement is 2/eps; with eps = 2 / privacy_radius_m the mean is the configured radius.
For any two true points within d metres of each other, the probability of any published point
differs by at most a factor e^(eps d) (with the default 2 km radius: a factor e within 1 km).

The draw happens once, at publish time, and is stored; it is never re-drawn, since averaging
several draws of the same incident would converge on the true point. See docs/maps.md.
"""

from __future__ import annotations

import math
import secrets
from random import Random

# Mainland South Africa (with Lesotho and Eswatini inside it), in degrees. The Prince Edward
# Islands are far outside and never a reporting location.
SA_BBOX = (16.45, -34.85, 32.95, -22.12)  # (min lon, min lat, max lon, max lat)

EARTH_RADIUS_M = 6_371_008.8
MAX_DRAWS = 64

_system = secrets.SystemRandom()


class OutsideSouthAfrica(ValueError):
    """The true point is not inside South Africa's bounding box."""


def inside_bbox(lat: float, lon: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


def lambert_w_minus1(x: float) -> float:
    """W_-1(x) for x in [-1/e, 0): the branch with W <= -1 (Halley's method, ~1e-12 relative)."""
    if not -1 / math.e <= x < 0:
        raise ValueError("W_-1 is defined on [-1/e, 0)")
    if x == -1 / math.e:
        return -1.0
    # starting points: the series around the branch point, or the asymptote near 0
    if x < -0.25:
        q = -math.sqrt(max(0.0, 2 * (1 + math.e * x)))
        w = -1 + q - q * q / 3 + 11 / 72 * q**3
    else:
        lx = math.log(-x)
        w = lx - math.log(-lx)
    for _ in range(50):
        ew = math.exp(w)
        f = w * ew - x
        denominator = ew * (w + 1) - (w + 2) * f / (2 * w + 2) if w != -1.0 else 0.0
        if denominator == 0.0 or not math.isfinite(denominator):
            break
        step = f / denominator
        w -= step
        if abs(step) <= 1e-14 * abs(w):
            break
    return min(w, -1.0)


def laplace_radius(eps: float, p: float) -> float:
    """The radius whose planar Laplace CDF is p (inverse of C(r) = 1 - (1 + eps r) e^(-eps r))."""
    return -(lambert_w_minus1((p - 1) / math.e) + 1) / eps


def planar_laplace_cdf(r: float, eps: float) -> float:
    return 1 - (1 + eps * r) * math.exp(-eps * r)


def _offset(lat: float, lon: float, distance_m: float, angle: float) -> tuple[float, float]:
    """Move by distance_m along angle (0 = east) in a local equirectangular projection."""
    dy = distance_m * math.sin(angle)
    dx = distance_m * math.cos(angle)
    new_lat = lat + math.degrees(dy / EARTH_RADIUS_M)
    new_lon = lon + math.degrees(dx / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return new_lat, new_lon


def displace(
    lat: float, lon: float, privacy_radius_m: float, rng: Random | None = None
) -> tuple[float, float]:
    """The one published point for a true point: planar Laplace noise, mean distance = radius.

    A draw that falls outside South Africa's bounding box is discarded and drawn again, before
    anything is stored or shown: only the accepted draw ever leaves this function, so the
    discarded ones cannot be averaged. The loop is bounded (MAX_DRAWS); from any point in the box
    at least about a quarter of draws land inside, so the bound is never reached in practice, and
    if it were, the last draw is clamped to the box (still a single draw).
    """
    if not (math.isfinite(lat) and math.isfinite(lon)) or not inside_bbox(lat, lon):
        raise OutsideSouthAfrica("the point is not inside South Africa")
    if privacy_radius_m <= 0:
        raise ValueError("privacy_radius_m must be positive")
    rng = rng or _system
    eps = 2.0 / privacy_radius_m
    for _ in range(MAX_DRAWS):
        angle = rng.random() * 2 * math.pi
        radius = laplace_radius(eps, rng.random())
        new_lat, new_lon = _offset(lat, lon, radius, angle)
        if inside_bbox(new_lat, new_lon):
            return new_lat, new_lon
    min_lon, min_lat, max_lon, max_lat = SA_BBOX
    return min(max(new_lat, min_lat), max_lat), min(max(new_lon, min_lon), max_lon)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), for tests and checks."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
