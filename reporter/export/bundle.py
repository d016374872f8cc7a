"""Building a signed bundle: one zip of aggregates (and, for casework, coarse rows).

Format (docs/exports.md has the full description):

    cells.geojson  summary.csv  map.html  map.png  report.pdf  [incidents.csv: casework only]
    manifest.json  parameters, counts, versions, creation time, SHA-256 and size of every file
    manifest.sig   the Ed25519 signature of the exact bytes of manifest.json, base64, one line

Signing the stored bytes (rather than a re-serialised "canonical" form) means a verifier
needs no JSON canonicalisation: it checks the signature over the file as it is, then parses it.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, Any

import h3
from flask_babel import force_locale
from nacl.signing import SigningKey
from sqlalchemy.orm import Session

from reporter import __version__
from reporter.config import Settings
from reporter.crypto.signing import fingerprint, public_key_b64
from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES, VOCABULARY_VERSION
from reporter.export import counts, images, rows, standalone
from reporter.export.filters import ExportFilters
from reporter.maps import lattice
from reporter.maps.render import cells_geojson
from reporter.models import audit

ORGANISATION = "Sisonke"
TITLE = "Verified incidents of abuse against sex workers in South Africa"
FORMAT = "reporter-bundle/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
MEDIA_FILES = ("README.txt", "cells.geojson", "summary.csv", "map.html", "map.png", "report.pdf")
CASEWORK_FILES = (*MEDIA_FILES, "incidents.csv")
PROGRESS_EVERY = 100_000  # rows between progress messages
# deflate level for the streamed CSV: level 1 packs incidents.csv nearly as small as level 6
# (the rows repeat a small vocabulary) at a fraction of the time (bench/export.py)
CSV_COMPRESSLEVEL = 1

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Bundle:
    filename: str
    sha256: str  # of the whole zip, as delivered (what the audit log names)
    size: int
    manifest: dict[str, Any]


def _names(values: tuple[str, ...], names: dict[str, str]) -> str:
    return ", ".join(names[v] for v in values) if values else "all"


def sheet(f: ExportFilters, settings: Settings, now: dt.datetime) -> images.Sheet:
    """The words printed beside the numbers (English: the bundle is evidence, its wording
    stays the same whoever exported it)."""
    km = round(settings.privacy_radius_m / 1000, 1)
    k = settings.k_anonymity
    notes = [
        f"Areas with fewer than {k} incidents are not shown, and table cells below {k} are "
        f"left blank (k = {k}).",
        f"Every published location was moved once at random, by about {km} km (privacy "
        f"radius {settings.privacy_radius_m:g} m), before it was counted.",
        f"Areas are H3 hexagons of resolution {f.res}, about "
        f"{h3.average_hexagon_area(f.res, 'km^2'):,.0f} km² each; small ones are drawn larger "
        "so that they can be seen.",
        "Counts are of incidents that Sisonke's paralegals checked and published. An incident "
        "can have several categories and several types of perpetrator.",
    ]
    if f.kind == "media":
        notes.append(
            "Counts are those of a scheduled release: they change only when a new "
            "period is released, and some areas or numbers of at least k are left out "
            "so that no small number can be worked out by subtracting one from another."
        )
    with force_locale("en"):
        cats = {t.value: str(t.label) for t in CATEGORIES}
        perps = {t.value: str(t.label) for t in PERPETRATORS}
    return images.Sheet(
        organisation=ORGANISATION,
        title=TITLE,
        period=f.period_text(),
        filters=[
            f"Provinces: {_names(f.provinces, PROVINCES)}",
            f"Categories: {_names(f.categories, cats)}",
            f"Perpetrators: {_names(f.perpetrators, perps)}",
            f"Bundle: {f.kind}",
        ],
        notes=notes,
        created=images.created_text(now),
        software=f"reporter {__version__}, vocabulary {VOCABULARY_VERSION}",
    )


def readme(f: ExportFilters, t: counts.Tables, settings: Settings, now: dt.datetime) -> str:
    """README.txt: what the bundle holds, when its numbers were made, what cannot be learnt."""
    k = settings.k_anonymity
    km = round(settings.privacy_radius_m / 1000, 1)
    lines = [
        f"{ORGANISATION}: {TITLE}",
        "",
        f"Made {images.created_text(now)} by reporter {__version__}. Period: {f.period_text()}.",
        "",
        "WHAT IS IN IT",
        "- cells.geojson, map.html, map.png: hexagonal areas (H3, resolution "
        f"{f.res}) with the number of checked and published incidents in each.",
        "- summary.csv, report.pdf: the same period by province, category, perpetrator type "
        "and month.",
    ]
    if f.kind == "casework":
        lines.append(
            "- incidents.csv: one coarse row per incident (month, province, a "
            "250 km2 area, categories). For the legal partner and court support only: "
            "rows can point to a person where numbers are small. Do not publish it."
        )
    lines += [
        "- manifest.json, manifest.sig: the hash of every file, signed by "
        f"{ORGANISATION}; check it at /verify or offline (docs/exports.md).",
        "",
        "WHEN THE NUMBERS WERE MADE",
    ]
    if f.kind == "media":
        lines += [
            f"- They are release {t.release_id or 'none yet'} of {ORGANISATION}'s public "
            "figures, the same as the public map shows for this period. Figures change "
            "only at scheduled releases; a month, quarter or year once released never "
            "changes, so two bundles, or a bundle and the map, agree.",
            "- Incidents checked after their month was released are not in any public figure.",
        ]
    else:
        lines.append("- Live figures at the time above (staff only), not a public release.")
    lines += [
        "",
        "WHAT CANNOT BE LEARNT FROM IT",
        f"- Where anything happened exactly: every place was moved once at random, by "
        f"about {km} km, before it was counted.",
        f"- Anything about fewer than {k} incidents: areas and table cells with fewer "
        f"are left out (blank), and so are some with more, so that no small number can "
        f"be worked out by subtracting shown numbers (a province from its areas, a "
        f"quarter from its months, one category from all incidents).",
        "- How much abuse there is in total: most abuse is never reported.",
        "",
    ]
    return "\n".join(lines)


def summary_csv(t: counts.Tables, f: ExportFilters) -> tuple[bytes, int]:
    """Province x category (blank = fewer than k, or none); the first row counts incidents of
    any of the selected categories. Returns the bytes and the number of data rows."""
    cross = dict(t.by_province_category)
    by_province = dict(t.by_province)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["category", "huridocs_code", "label", *PROVINCES])
    w.writerow(["*", "", "All selected categories", *[by_province.get(p, "") for p in PROVINCES]])
    n = 1
    with force_locale("en"):
        for term in CATEGORIES:
            if not f.categories or term.value in f.categories:
                w.writerow(
                    [
                        term.value,
                        term.huridocs,
                        str(term.label),
                        *[cross.get((p, term.value), "") for p in PROVINCES],
                    ]
                )
                n += 1
    return buf.getvalue().encode("utf-8"), n


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sign(manifest: bytes, key: SigningKey) -> bytes:
    """manifest.sig: the detached Ed25519 signature, base64, one line."""
    return base64.b64encode(key.sign(manifest).signature) + b"\n"


def csv_entry(zf: zipfile.ZipFile, now: dt.datetime) -> IO[bytes]:
    """incidents.csv, opened for streaming: zip64 (its size is not known in advance), deflated
    at CSV_COMPRESSLEVEL, dated like the other files."""
    info = zipfile.ZipInfo("incidents.csv", date_time=now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # the level's attribute is private before Python 3.13 (public as compress_level since)
    setattr(
        info,
        "compress_level" if hasattr(info, "compress_level") else "_compresslevel",
        CSV_COMPRESSLEVEL,
    )
    return zf.open(info, "w", force_zip64=True)


def _manifest(
    session: Session,
    f: ExportFilters,
    settings: Settings,
    key: SigningKey,
    t: counts.Tables,
    now: dt.datetime,
    tally: dict[str, int],
    files: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """manifest.json: what the bundle is, of what, and each file's hash; signed as stored."""
    verify_key = key.verify_key
    return {
        "format": FORMAT,
        "organisation": ORGANISATION,
        "kind": f.kind,
        "created": now.isoformat().replace("+00:00", "Z"),
        "software": {"name": "reporter", "version": __version__},
        "vocabulary_version": VOCABULARY_VERSION,
        "parameters": {
            **f.public(),
            "k_anonymity": settings.k_anonymity,
            "privacy_radius_m": settings.privacy_radius_m,
            "release": t.release_id,
        },
        "counts": tally,
        "files": files,
        # the audit chain's head when the bundle was made (docs/staff.md, audit log)
        "audit_head": audit.head(session),
        "signature": {
            "algorithm": "Ed25519",
            "file": SIGNATURE,
            "signs": "the bytes of manifest.json exactly as stored in the bundle",
            # a hint only: check against the key published by the organisation
            "public_key": public_key_b64(verify_key),
            "public_key_sha256": fingerprint(verify_key).replace(" ", ""),
        },
    }


def _sha256_of(out: IO[bytes]) -> tuple[str, int]:
    """The written bundle's SHA-256 and size (read back from the start; left at the start)."""
    out.flush()
    out.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := out.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    out.seek(0)
    return digest.hexdigest(), size


def _map_html(fc: dict[str, Any], t: counts.Tables, words: images.Sheet) -> bytes:
    """map.html: the standalone map of the cells, titled, with the period and the filters."""
    return standalone.build_html(
        fc,
        t.k,
        f"{ORGANISATION}: {TITLE}",
        [
            f"Period: {words.period}",
            f"Shown: {t.shown_on_map:,} incidents in {len(t.cells):,} areas.",
            *words.notes[:2],
            *words.filters,
            f"Created {words.created}, {words.software}.",
        ],
    ).encode()


def _write_incidents_csv(
    session: Session,
    f: ExportFilters,
    zf: zipfile.ZipFile,
    now: dt.datetime,
    say: Progress,
    files: dict[str, dict[str, Any]],
    tally: dict[str, int],
) -> None:
    """incidents.csv (casework only), streamed into the zip with progress every
    PROGRESS_EVERY rows; its hash into `files`, its row count into `tally`."""
    total = counts.matching(session, f)
    say(f"incidents.csv: {total:,} rows to write")
    step = [PROGRESS_EVERY]

    def rows_done(n: int) -> None:
        if n >= step[0]:
            say(f"incidents.csv: {n:,} of {total:,} rows")
            step[0] = (n // PROGRESS_EVERY + 1) * PROGRESS_EVERY

    with csv_entry(zf, now) as entry:
        written = rows.write_incidents_csv(session, f, entry, rows_done)
    files["incidents.csv"] = {"sha256": written.sha256, "bytes": written.bytes}
    tally["incident_rows"] = written.rows


def build_bundle(
    session: Session,
    f: ExportFilters,
    settings: Settings,
    key: SigningKey,
    out: IO[bytes],
    *,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> Bundle:
    """Write the bundle into `out` (a seekable binary file, e.g. a temporary file)."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    say = progress or (lambda _msg: None)
    say("counting (k-suppressed tables)")
    t = counts.tables(session, f, settings)
    if t.period is not None:  # the released period the counts are of (default: the latest)
        f = replace(f, period=lattice.parse_period(t.period))
    words = sheet(f, settings, now)
    files: dict[str, dict[str, Any]] = {}
    tally: dict[str, int] = {
        "cells": len(t.cells),
        "incidents_shown_on_map": t.shown_on_map,
        "months": len(t.by_month),
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:

        def put(name: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> None:
            zf.writestr(name, data, compress_type=compress)
            files[name] = _digest(data)

        put("README.txt", readme(f, t, settings, now).encode())
        fc = cells_geojson(t.cells, f, settings)
        put("cells.geojson", json.dumps(fc, separators=(",", ":")).encode())
        table, tally["summary_rows"] = summary_csv(t, f)
        put("summary.csv", table)
        say("drawing map.html")
        put("map.html", _map_html(fc, t, words))
        say("drawing map.png and report.pdf")
        png = images.map_png(t, words)
        put("map.png", png, zipfile.ZIP_STORED)  # already compressed
        put("report.pdf", images.report_pdf(t, words, png, f.categories))
        if f.kind == "casework":
            _write_incidents_csv(session, f, zf, now, say, files, tally)
        manifest = _manifest(session, f, settings, key, t, now, tally, files)
        body = manifest_bytes(manifest)
        zf.writestr(MANIFEST, body)
        zf.writestr(SIGNATURE, sign(body, key))
    say("signed")
    sha256, size = _sha256_of(out)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return Bundle(f"sisonke-{f.kind}-{stamp}.zip", sha256, size, manifest)


def audit_object(f: ExportFilters, bundle: Bundle, via: str) -> str:
    """The audit log's object for an export: filters and the bundle's hash, never content."""
    return f"{f.audit_text()} via={via} sha256={bundle.sha256}"
