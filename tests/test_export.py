"""Advocacy exports (issue 6): signed bundles that verify, fail loudly when tampered with, hold
only k-suppressed counts in media bundles, and are made only by the right roles, audited.

Costs: two bundles (media and casework) are built once for the module, about 2 s with the
gazetteer's first load; the rest re-zip their bytes or use the test client.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from nacl.signing import SigningKey, VerifyKey
from PIL import Image, ImageStat
from pypdf import PdfReader
from sqlalchemy import create_engine, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from reporter.crypto.signing import fingerprint, load_signing_key
from reporter.domain.vocabulary import CATEGORIES
from reporter.export.bundle import CASEWORK_FILES, MEDIA_FILES
from reporter.export.filters import ExportFilters, ExportInvalid, parse_export_filters
from reporter.export.images import HEIGHT, WIDTH
from reporter.export.verify import BundleTooLarge, verify_bundle
from reporter.models import db
from reporter.models.audit import AuditEvent
from reporter.models.public import Incident
from reporter.ops import migrate, pgcluster
from tests.conftest import fresh_database, make_app, with_keys
from tests.support.export import PLACES, Built, build, members, months_back, rezip, seed
from tests.support.staff import Member, csrf_of, log_in, make_staff

K = 5


@pytest.fixture(scope="module")
def bundles(cluster: Path) -> Iterator[dict[str, Any]]:
    """A database of its own for the module (about 1 s to create and migrate), seeded once;
    its media and casework bundles, the public key and the seeded cells."""
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    application = make_app(url)
    with_keys(application)
    try:
        cells = seed(application)
        with application.app_context():
            key = load_signing_key(application.extensions["reporter.settings"].instance_path)
        yield {
            "media": build(application),
            "casework": build(application, ExportFilters(kind="casework")),
            "key": key.verify_key,
            "cells": cells,
            "url": url,
        }
    finally:
        application.extensions["reporter.db"].engine.dispose()
        pgcluster.drop_database(cluster, name)


# --- a fresh bundle, and every way of tampering with one ----------------------------------------


@pytest.mark.parametrize("kind", ["media", "casework"])
def test_a_fresh_bundle_verifies(bundles: dict[str, Any], kind: str) -> None:
    built: Built = bundles[kind]
    assert verify_bundle(built.data, bundles["key"]) == []
    names = set(members(built.data))
    expected = set(MEDIA_FILES if kind == "media" else CASEWORK_FILES)
    assert names == expected | {"manifest.json", "manifest.sig"}
    assert set(built.manifest["files"]) == expected


@pytest.mark.parametrize("name", [*CASEWORK_FILES, "manifest.json"])
def test_changing_one_byte_of_any_file_is_named(bundles: dict[str, Any], name: str) -> None:
    # Given a casework bundle with one byte of one file changed
    files = members(bundles["casework"].data)
    data = bytearray(files[name])
    data[len(data) // 2] ^= 0x01
    files[name] = bytes(data)
    # When it is checked
    problems = verify_bundle(rezip(files), bundles["key"])
    # Then the problem names that file (a changed manifest breaks the signature)
    if name == "manifest.json":
        assert any(p.startswith("bad signature") for p in problems), problems
    else:
        assert problems == [f"changed file: {name} does not match its SHA-256 in the manifest"]


@pytest.mark.parametrize("name", CASEWORK_FILES)
def test_removing_a_file_is_named(bundles: dict[str, Any], name: str) -> None:
    files = members(bundles["casework"].data)
    del files[name]
    assert verify_bundle(rezip(files), bundles["key"]) == [
        f"missing file: {name} is listed in the manifest but not in the zip"
    ]


@pytest.mark.parametrize("name", ["notes.txt", "incidents.csv"])
def test_adding_a_file_is_named(bundles: dict[str, Any], name: str) -> None:
    # incidents.csv added to a media bundle is the case that matters most
    files = members(bundles["media"].data)
    files[name] = b"id,month\n1,2026-01\n"
    assert verify_bundle(rezip(files), bundles["key"]) == [
        f"extra file: {name} is not listed in the manifest"
    ]


def test_removing_the_manifest_or_its_signature_is_named(bundles: dict[str, Any]) -> None:
    files = members(bundles["media"].data)
    no_sig = {k: v for k, v in files.items() if k != "manifest.sig"}
    assert verify_bundle(rezip(no_sig), bundles["key"]) == [
        "manifest.sig is missing: the bundle is not signed"
    ]
    no_manifest = {k: v for k, v in files.items() if k != "manifest.json"}
    assert verify_bundle(rezip(no_manifest), bundles["key"]) == [
        "manifest.json is missing: nothing in this bundle can be checked"
    ]


def test_a_swapped_signature_fails(bundles: dict[str, Any]) -> None:
    # Given the media bundle carrying the casework bundle's (valid, same-key) signature
    files = members(bundles["media"].data)
    files["manifest.sig"] = members(bundles["casework"].data)["manifest.sig"]
    problems = verify_bundle(rezip(files), bundles["key"])
    assert len(problems) == 1 and problems[0].startswith("bad signature"), problems


def test_a_manifest_re_signed_by_another_key_fails(bundles: dict[str, Any]) -> None:
    # Given a forger who edits the manifest to match changed files and signs with her own key
    files = members(bundles["media"].data)
    files["summary.csv"] = files["summary.csv"].replace(b"12", b"99")
    manifest = json.loads(files["manifest.json"])
    import hashlib

    manifest["files"]["summary.csv"]["sha256"] = hashlib.sha256(files["summary.csv"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    forger = SigningKey.generate()
    files["manifest.sig"] = base64.b64encode(forger.sign(files["manifest.json"]).signature)
    # Then the organisation's key refuses it, and the forger's key would accept it
    problems = verify_bundle(rezip(files), bundles["key"])
    assert len(problems) == 1 and problems[0].startswith("bad signature"), problems
    assert verify_bundle(rezip(files), forger.verify_key) == []


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "manifest.json is malformed: it is not valid JSON"),
        (b"[1, 2]", "manifest.json is malformed: it is not a JSON object"),
        (b'{"files": {}}', "manifest.json is malformed: it lists no files"),
        (
            b'{"files": {"map.png": {"sha256": "xyz"}}}',
            "manifest.json is malformed: no valid SHA-256 for 'map.png'",
        ),
    ],
)
def test_a_malformed_manifest_is_named(bundles: dict[str, Any], body: bytes, message: str) -> None:
    # Given a manifest that is well signed but malformed (the signer's bug, or an old format)
    signer = SigningKey.generate()
    files = members(bundles["media"].data)
    files["manifest.json"] = body
    files["manifest.sig"] = base64.b64encode(signer.sign(body).signature)
    assert message in verify_bundle(rezip(files), signer.verify_key)


def test_a_garbled_signature_is_named(bundles: dict[str, Any]) -> None:
    files = members(bundles["media"].data)
    files["manifest.sig"] = b"not base64!"
    assert verify_bundle(rezip(files), bundles["key"]) == [
        "manifest.sig is malformed (not a base64 Ed25519 signature)"
    ]


def test_a_zip_bomb_is_refused_before_unpacking(bundles: dict[str, Any]) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cells.geojson", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(BundleTooLarge, match="zip bomb"):
        verify_bundle(out.getvalue(), bundles["key"])


# --- the files themselves ---------------------------------------------------------------------


def test_the_standalone_map_names_no_address(bundles: dict[str, Any]) -> None:
    html = members(bundles["media"].data)["map.html"].decode()
    assert "http://" not in html and "https://" not in html
    assert "L.map(" in html and "heatLayer" in html  # Leaflet and the plugin are inlined
    assert "<script src" not in html and "<link" not in html


def test_the_png_is_the_expected_size_and_not_blank(bundles: dict[str, Any]) -> None:
    image = Image.open(io.BytesIO(members(bundles["media"].data)["map.png"]))
    assert image.size == (WIDTH, HEIGHT) == (1600, 1200)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10  # not one flat colour
    # the hexagon colours are on it (Johannesburg: 12 incidents, the 10-19 class)
    colours = {c for _n, c in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert (0xFD, 0x8D, 0x3C) in colours


def test_the_pdf_holds_the_legend_and_the_tables_as_text(bundles: dict[str, Any]) -> None:
    reader = PdfReader(io.BytesIO(members(bundles["media"].data)["report.pdf"]))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in (
        "Sisonke",
        "Legend",
        "Incidents per area",
        "5–9",
        "10–19",
        "Major town",
        "Incidents by province and category",
        "Incidents by month",
        "Asked for money, sex or goods (bribe)",
        "MT4:11",
        "KZN",
        months_back(1).strftime("%Y-%m"),
        "k = 5",
    ):
        assert words in text, words


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_no_count_in_a_media_bundle_is_below_k(bundles: dict[str, Any]) -> None:
    files = members(bundles["media"].data)
    # no row-level file
    assert "incidents.csv" not in files
    fc = json.loads(files["cells.geojson"])
    counts = [f["properties"]["count"] for f in fc["features"]]
    assert counts and min(counts) >= K
    assert {f["id"] for f in fc["features"]} == {
        bundles["cells"]["johannesburg"],
        bundles["cells"]["cape_town"],
    }
    # Durban's 2 incidents appear nowhere: not as a cell, not in the table
    assert all(f["geometry"]["type"] == "Polygon" for f in fc["features"])
    table = _csv(files["summary.csv"])
    numbers = [int(v) for row in table for k, v in row.items() if len(k) <= 3 and v]
    assert numbers and min(numbers) >= K
    assert all(row["KZN"] == "" for row in table)
    manifest = json.loads(files["manifest.json"])
    assert manifest["kind"] == "media" and "incident_rows" not in manifest["counts"]
    assert manifest["parameters"]["k_anonymity"] == K


def test_the_casework_csv_has_coarse_rows_with_huridocs_codes(bundles: dict[str, Any]) -> None:
    rows = _csv(members(bundles["casework"].data)["incidents.csv"])
    assert len(rows) == sum(p[3] for p in PLACES.values()) == 21
    row = next(r for r in rows if r["province"] == "GP")
    codes = {t.value: t.huridocs for t in CATEGORIES}
    assert row["categories"] == "extortion;unlawful_arrest"
    assert row["category_codes"] == f"{codes['extortion']};{codes['unlawful_arrest']}"
    assert row["perpetrators"] == "saps" and row["perpetrator_codes"] == "MT36:111"
    assert row["cell_r5"] and len(row["cell_r5"]) == 15
    assert set(rows[0]) == {
        "id",
        "month",
        "province",
        "cell_r5",
        "categories",
        "category_codes",
        "perpetrators",
        "perpetrator_codes",
        "verification_level",
        "source_type",
        "people_affected",
        "vocabulary_version",
    }
    # never a point: no column, and no number that looks like a coordinate
    text = members(bundles["casework"].data)["incidents.csv"].decode()
    assert "-26.1" not in text and "28.04" not in text and "POINT" not in text


def test_filters_narrow_the_bundle(bundles: dict[str, Any]) -> None:
    # the module's data, through a second app on the same database
    application = make_app(bundles["url"])
    try:
        built = build(application, ExportFilters(provinces=("WC",), kind="casework"))
    finally:
        application.extensions["reporter.db"].engine.dispose()
    files = members(built.data)
    assert {r["province"] for r in _csv(files["incidents.csv"])} == {"WC"}
    assert [f["id"] for f in json.loads(files["cells.geojson"])["features"]] == [
        bundles["cells"]["cape_town"]
    ]
    assert built.manifest["parameters"]["provinces"] == ["WC"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"from": "2026-13"}, "from must be a month"),
        ({"from": "2026-05", "to": "2026-01"}, "from must not be after to"),
        ({"province": "XX"}, "province must be among"),
        ({"category": "nope"}, "category must be among"),
        ({"perpetrator": "nope"}, "perpetrator must be among"),
        ({"kind": "everything"}, "kind must be media or casework"),
        ({"res": "9"}, "res must be one of"),
    ],
)
def test_bad_filters_are_named(args: dict[str, str], message: str) -> None:
    with pytest.raises(ExportInvalid, match=message):
        parse_export_filters(args)


def test_good_filters_parse() -> None:
    f = parse_export_filters(
        {
            "from": "2025-01",
            "to": "2025-12",
            "province": ["WC", "GP"],
            "category": "extortion,unlawful_arrest",
            "kind": "casework",
        }
    )
    assert f.provinces == ("GP", "WC")  # vocabulary order
    assert f.categories == ("unlawful_arrest", "extortion")
    assert f.audit_text() == (
        "kind=casework from=2025-01 to=2025-12 provinces=GP,WC "
        "categories=unlawful_arrest,extortion perpetrators=* res=6"
    )


# --- pages and roles ----------------------------------------------------------------------------


def _staff(app: Flask, client: FlaskClient, roles: list[str]) -> Member:
    member = make_staff(app, f"{roles[0]}-user", roles, iterations=1000)
    assert log_in(app, client, member).status_code in (302, 303)
    return member


def _post(client: FlaskClient, **form: Any) -> Any:
    return client.post(
        "/staff/exports", data={"csrf_token": csrf_of(client, "/staff/exports"), **form}
    )


def test_an_advocate_exports_media_bundles_only(app: Flask, client: FlaskClient) -> None:
    seed(app)
    member = _staff(app, client, ["advocate"])
    # Given an advocate, the form offers no casework bundle
    page = client.get("/staff/exports").get_data(as_text=True)
    assert 'value="media"' in page and 'value="casework"' not in page
    # When she asks for a media bundle she gets a download that verifies
    # (two provinces at once are not in the release's lattice: refused, by name)
    refused = _post(client, kind="media", province=["GP", "WC"])
    assert refused.status_code == 400
    assert "a media bundle takes one province or all" in refused.get_data(as_text=True)
    resp = _post(client, kind="media", province=["GP"])
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/zip"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    data = resp.get_data()
    with app.app_context():
        key = load_signing_key(app.extensions["reporter.settings"].instance_path).verify_key
    assert verify_bundle(data, key) == []
    assert "incidents.csv" not in members(data)
    # and the export is in the audit log: who, filters and the bundle's hash, no content
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    assert resp.headers["X-Bundle-SHA256"] == digest
    with app.app_context():
        event = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.staff_id == member.id
    assert event.object == (
        f"kind=media from=* to=* provinces=GP categories=* "
        f"perpetrators=* res=6 via=web sha256={digest}"
    )
    # When she asks for a casework bundle anyway, the server refuses
    assert _post(client, kind="casework").status_code == 403
    # and she cannot open a report's envelope either
    assert client.get("/staff/reports/anything/data").status_code == 403


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_and_admins_export_casework(
    app: Flask, client: FlaskClient, role: str
) -> None:
    seed(app)
    _staff(app, client, [role])
    assert 'value="casework"' in client.get("/staff/exports").get_data(as_text=True)
    resp = _post(client, kind="casework", category="physical_assault")
    assert resp.status_code == 200
    rows = _csv(members(resp.get_data())["incidents.csv"])
    assert len(rows) == 7 and {r["province"] for r in rows} == {"WC"}


def test_a_moderator_cannot_export(app: Flask, client: FlaskClient) -> None:
    _staff(app, client, ["moderator"])
    assert client.get("/staff/exports").status_code == 403


@pytest.mark.parametrize(
    "form",
    [
        {"from": "2026-99"},
        {"from": "x" * 500},
        {"province": "ZZ"},
        {"category": "<script>"},
        {"kind": "casework2"},
        {"res": "0"},
        {"from": "2026-05", "to": "2026-01"},
        {"province": ["GP"] * 100},
    ],
)
def test_bad_filters_get_a_4xx_never_a_500(
    app: Flask, client: FlaskClient, form: dict[str, Any]
) -> None:
    _staff(app, client, ["admin"])
    resp = _post(client, **form)
    assert resp.status_code == 400
    assert "<script>" not in resp.get_data(as_text=True)
    assert 'class="error"' in resp.get_data(as_text=True)


def test_exports_need_a_log_in(client: FlaskClient) -> None:
    assert client.post("/staff/exports", data={"kind": "media"}).status_code in (400, 401)
    assert client.get("/staff/exports").status_code == 401
    assert client.get("/staff/exports", headers={"Accept": "text/html"}).status_code == 302


# --- the public checker and key -----------------------------------------------------------------


def _verify(client: FlaskClient, data: bytes, name: str = "bundle.zip") -> Any:
    # encoded here, in memory: the test client would spool a large body to a temporary file
    # that it never closes (a ResourceWarning, an error under filterwarnings=error)
    boundary, body = encode_multipart(
        MultiDict(
            {
                "csrf_token": csrf_of(client, "/verify"),
                "bundle": FileStorage(
                    io.BytesIO(data), filename=name, content_type="application/zip"
                ),
            }
        )
    )
    return client.post(
        "/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_the_signing_key_is_published_with_its_fingerprint(app: Flask, client: FlaskClient) -> None:
    resp = client.get("/.well-known/reporter-signing-key")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    key = VerifyKey(base64.b64decode(resp.get_data(as_text=True).strip(), validate=True))
    with app.app_context():
        own = load_signing_key(app.extensions["reporter.settings"].instance_path).verify_key
    assert key == own
    page = client.get("/verify").get_data(as_text=True)
    assert fingerprint(key) in page


def test_the_verify_page_accepts_a_good_bundle_and_names_a_tampered_one(
    app: Flask, client: FlaskClient
) -> None:
    seed(app)
    data = build(app).data
    resp = _verify(client, data)
    assert resp.status_code == 200
    assert "This bundle is intact." in resp.get_data(as_text=True)
    files = members(data)
    files["summary.csv"] += b"GP,1\n"
    resp = _verify(client, rezip(files))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This bundle does not check out" in page
    assert "changed file: summary.csv does not match its SHA-256" in page


def test_the_verify_page_refuses_a_zip_bomb_and_junk(client: FlaskClient) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("map.png", b"\0" * (300 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    resp = _verify(client, out.getvalue())
    assert resp.status_code == 413
    assert "Refused without unpacking it" in resp.get_data(as_text=True)
    resp = _verify(client, b"this is not a zip")
    assert resp.status_code == 400
    assert "not a zip file" in resp.get_data(as_text=True)


def test_the_verify_page_refuses_an_upload_over_its_limit(app_factory: Any) -> None:
    application = app_factory(MAX_ATTACHMENT_BYTES=1024 * 1024)
    client = application.test_client()
    resp = _verify(client, b"\0" * (3 * 1024 * 1024))
    assert resp.status_code == 413
    assert "larger than 1 MB" in resp.get_data(as_text=True)


# --- the command line ---------------------------------------------------------------------------


def test_cli_creates_a_bundle_that_cli_verifies(app: Flask, tmp_path: Any) -> None:
    seed(app)
    runner = app.test_cli_runner(mix_stderr=False) if _mix_stderr() else app.test_cli_runner()
    result = runner.invoke(
        args=[
            "export",
            "create",
            "--out",
            str(tmp_path),
            "--kind",
            "casework",
            "--province",
            "GP",
            "--from",
            months_back(3).strftime("%Y-%m"),
        ]
    )
    assert result.exit_code == 0, result.output
    path = result.stdout.strip().splitlines()[-1]
    assert path.endswith(".zip") and "incidents.csv" in _stderr(result)
    ok = runner.invoke(args=["export", "verify", path])
    assert ok.exit_code == 0 and "OK" in ok.stdout
    # a tampered copy fails with exit 1 and says what is wrong
    files = members(Path(path).read_bytes())
    files["incidents.csv"] += b"x"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip(files))
    result = runner.invoke(args=["export", "verify", str(bad)])
    assert result.exit_code == 1
    assert "changed file: incidents.csv" in _stderr(result)
    # the CLI export is audited too (no staff member: the operator's shell)
    with app.app_context():
        event = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.staff_id is None and "via=cli" in (event.object or "")


def test_cli_refuses_bad_filters(app: Flask, tmp_path: Any) -> None:
    result = app.test_cli_runner().invoke(
        args=["export", "create", "--out", str(tmp_path), "--province", "XX"]
    )
    assert result.exit_code != 0 and "province must be among" in result.output


def _mix_stderr() -> bool:
    import inspect

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def _stderr(result: Any) -> str:
    return getattr(result, "stderr", "") or result.output


def test_an_odd_value_is_quoted_not_broken(app: Flask) -> None:
    # Given an incident whose id would break an unquoted CSV line (never made by the app,
    # but the writer must not depend on that)
    seed(app)
    with app.app_context():
        session = db.session()
        first = session.scalars(select(Incident).limit(1)).one()
        first.public_id = 'a,b"c\nd'
        session.commit()
    # When a casework bundle is made
    rows = _csv(members(build(app, ExportFilters(kind="casework")).data)["incidents.csv"])
    # Then that row reads back whole, and every other row too
    assert len(rows) == 21
    assert [r["id"] for r in rows].count('a,b"c\nd') == 1
    assert all(len(r) == 12 and None not in r for r in rows)


def test_the_offline_check_in_the_docs_works(bundles: dict[str, Any], tmp_path: Path) -> None:
    # Given the journalist's snippet from docs/exports.md, the published key and a bundle
    import re
    import subprocess
    import sys

    doc = (Path(__file__).resolve().parent.parent / "docs" / "exports.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", doc, re.S)
    assert snippet and len([x for x in snippet.group(1).splitlines() if x.strip()]) <= 10
    (tmp_path / "check.py").write_text(snippet.group(1))
    (tmp_path / "reporter-signing-key").write_text(
        base64.b64encode(bytes(bundles["key"])).decode() + "\n"
    )
    (tmp_path / "good.zip").write_bytes(bundles["media"].data)
    files = members(bundles["media"].data)
    files["map.png"] += b"\0"
    (tmp_path / "bad.zip").write_bytes(rezip(files))

    def check(name: str) -> str:
        return subprocess.run(
            [sys.executable, "check.py", name],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    # Then it prints the key's fingerprint and OK for the bundle, and names a changed file
    out = check("good.zip")
    assert fingerprint(bundles["key"]).replace(" ", "") in out and out.endswith("OK\n")
    assert "CHANGED: ['map.png']" in check("bad.zip")
