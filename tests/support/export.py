"""Published incidents with known counts, and bundles built from them, for the export tests.

Points sit at the middle of their resolution-6 hexagon and are displaced by at most a few
metres (a 1 m privacy radius), so every incident of a place lands in the same cell at every
resolution and the counts are known exactly: 12 in Johannesburg, 7 in Cape Town, 2 in Durban
(below k = 5, so the Durban cell and every KZN count must never appear in a media bundle).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import h3
from flask import Flask

from reporter.crypto.signing import load_signing_key
from reporter.export.bundle import build_bundle
from reporter.export.filters import ExportFilters
from reporter.maps.publish import publish_incident
from reporter.models import db
from tests.support.dates import months_ago

PLACES = {
    # name: (lat, lon, province, n, categories, perpetrators)
    "johannesburg": (-26.1929, 28.0470, "GP", 12, ["extortion", "unlawful_arrest"], ["saps"]),
    "cape_town": (-33.9249, 18.4241, "WC", 7, ["physical_assault"], ["client"]),
    "durban": (-29.8587, 31.0218, "KZN", 2, ["extortion"], ["metro_police"]),
}


months_back = months_ago


def seed_months() -> list[dt.date]:
    """The first two months of the latest quarter that the release due today covers (with the
    default monthly schedule and one month's lag), so that a release cut now shows them."""
    from reporter.maps import lattice

    through = lattice.add_months(dt.date.today().replace(day=1), -2)
    q = lattice.quarter_of(through)
    if q.last > through:
        q = lattice.quarter_of(lattice.add_months(q.first, -1))
    return list(q.months[:2])


def centre(lat: float, lon: float) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 6))


def seed(app: Flask) -> dict[str, str]:
    """Publish the incidents and cut the release that shows them; returns each place's
    resolution-6 cell."""
    from reporter.maps.release import cut_release

    cells = {}
    months = seed_months()
    with app.app_context():
        session = db.session()
        for name, (lat, lon, province, n, cats, perps) in PLACES.items():
            lat, lon = centre(lat, lon)
            cells[name] = h3.latlng_to_cell(lat, lon, 6)
            for i in range(n):
                publish_incident(
                    session,
                    categories=cats,
                    perpetrators=perps,
                    month=months[i % 2],
                    province=province,
                    lat=lat,
                    lon=lon,
                    people_affected=1 + i % 3,
                    verification_level="corroborated",
                    source_type="paralegal",
                    privacy_radius_m=1.0,
                )
        session.commit()
        cut_release(session, app.extensions["reporter.settings"])
        session.commit()
    return cells


@dataclass(frozen=True)
class Built:
    data: bytes
    manifest: dict[str, object]
    sha256: str


def build(app: Flask, f: ExportFilters | None = None) -> Built:
    with app.app_context():
        settings = app.extensions["reporter.settings"]
        out = io.BytesIO()
        bundle = build_bundle(
            db.session(),
            f or ExportFilters(),
            settings,
            load_signing_key(settings.instance_path),
            out,
        )
        return Built(out.getvalue(), bundle.manifest, bundle.sha256)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()
