"""Compressed responses (issue 11, docs/operations.md "Compression"): every static asset is sent
as its precompressed variant when the client accepts it, byte for byte the file set-up wrote;
HTML carrying a secret (a form token, a receipt) is always sent uncompressed (BREACH)."""

from __future__ import annotations

import gzip
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from flask import Flask

from reporter.web import compress
from tests.support.browser import live_server
from tests.support.intake import hidden, plain_fields

STATIC = Path(compress.__file__).resolve().parent.parent / "static"
BOTH = "gzip, deflate, br"


@pytest.fixture(scope="module", autouse=True)
def precompressed() -> None:
    compress.precompress(STATIC)  # what set-up does (idempotent)


def assets() -> list[str]:
    return [
        p.relative_to(STATIC).as_posix()
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.suffix in compress.SUFFIXES
    ]


def test_set_up_precompresses_each_kind_of_asset_and_only_those(tmp_path: Path) -> None:
    for name in ("a.css", "b.js", "c.json", "d.svg", "e.html", "f.png", "sub/g.js"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"body { color: red }\n" * 50)
    (tmp_path / "tiny.svg").write_bytes(b"<svg/>")
    written = compress.precompress(tmp_path)
    assert len(written) == 12  # six assets, two variants each; never the image
    assert not (tmp_path / "f.png.gz").exists()
    assert not (tmp_path / "tiny.svg.gz").exists()  # it would grow
    assert (
        gzip.decompress((tmp_path / "sub/g.js.gz").read_bytes())
        == (tmp_path / "sub/g.js").read_bytes()
    )
    assert (
        brotli.decompress((tmp_path / "a.css.br").read_bytes()) == (tmp_path / "a.css").read_bytes()
    )
    # again: nothing to do; an edited asset is compressed again; a removed one loses its variants
    assert compress.precompress(tmp_path) == []
    (tmp_path / "b.js").write_bytes(b"var changed = 1;\n" * 20)
    os.utime(tmp_path / "b.js", (2e9, 2e9))
    assert sorted(p.name for p in compress.precompress(tmp_path)) == ["b.js.br", "b.js.gz"]
    assert gzip.decompress((tmp_path / "b.js.gz").read_bytes()) == b"var changed = 1;\n" * 20
    (tmp_path / "c.json").unlink()
    compress.precompress(tmp_path)
    assert not (tmp_path / "c.json.gz").exists() and not (tmp_path / "c.json.br").exists()


def test_every_asset_is_sent_as_its_precompressed_file(app: Flask) -> None:
    client = app.test_client()
    names = assets()
    assert "js/report.js" in names and "vendor/leaflet/leaflet.js" in names
    for name in names:
        original = (STATIC / name).read_bytes()
        etags = set()
        for accept, encoding, suffix in (
            ("gzip", "gzip", ".gz"),
            (BOTH, "br", ".br"),
            ("", None, ""),
        ):
            if encoding and not (STATIC / (name + suffix)).exists():
                # set-up keeps no variant that is not smaller (a tiny icon): sent as it is
                assert len(original) < 200, name
                encoding, suffix = None, ""
            resp = client.get(f"/static/{name}", headers={"Accept-Encoding": accept})
            body = resp.get_data()
            assert resp.status_code == 200, name
            assert resp.headers.get("Content-Encoding") == encoding, (name, accept)
            assert body == (STATIC / (name + suffix)).read_bytes(), (name, accept)
            assert int(resp.headers["Content-Length"]) == len(body)
            assert "Accept-Encoding" in resp.headers.get("Vary", ""), name
            decoded = {"gzip": gzip.decompress, "br": brotli.decompress}.get(
                encoding or "", lambda b: b
            )(body)
            assert decoded == original, (name, accept)
            if encoding:
                assert len(body) < len(original), name
            etags.add(resp.headers["ETag"])
            # a cache revalidating the variant it holds gets a 304 for that one only
            again = client.get(
                f"/static/{name}",
                headers={"Accept-Encoding": accept, "If-None-Match": resp.headers["ETag"]},
            )
            assert again.status_code == 304, (name, accept)
            resp.close()
            again.close()
        assert len(etags) == 3 or len(original) < 200, name  # one ETag per encoding


def test_a_client_that_refuses_an_encoding_does_not_get_it(app: Flask) -> None:
    client = app.test_client()
    resp = client.get("/static/js/envelope.js", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    resp.close()
    resp = client.get("/static/js/envelope.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in resp.headers
    resp.close()


def test_a_variant_older_than_its_asset_is_not_sent(app: Flask) -> None:
    source = STATIC / "css" / "site.css"
    variants = [source.with_name(source.name + s) for s in (".gz", ".br")]
    saved = [(v, v.stat().st_atime, v.stat().st_mtime) for v in variants]
    try:
        for v in variants:
            os.utime(v, (source.stat().st_mtime - 10, source.stat().st_mtime - 10))
        resp = app.test_client().get("/static/css/site.css", headers={"Accept-Encoding": BOTH})
        assert "Content-Encoding" not in resp.headers
        assert resp.get_data() == source.read_bytes()
        resp.close()
    finally:
        for v, atime, mtime in saved:
            os.utime(v, (atime, mtime))


def test_pages_with_a_secret_are_sent_uncompressed(app: Flask) -> None:
    client = app.test_client()
    headers = {"Accept-Encoding": BOTH}
    # the report form with a query string (the one input it could echo) stays plain
    form = client.get("/report?q=1", headers=headers)
    html = form.get_data(as_text=True)
    assert "Content-Encoding" not in form.headers and 'name="csrf_token"' in html
    for path in ("/zu/report?a=b", "/followup", "/staff/login"):
        resp = client.get(path, headers=headers)
        assert "Content-Encoding" not in resp.headers, path
    # the receipt (after the POST, wherever it is shown)
    data = {
        "csrf_token": hidden(html, "csrf_token"),
        "form_id": hidden(html, "form_id"),
        **plain_fields(),
    }
    receipt = client.post("/report", data=data, headers=headers, follow_redirects=True)
    assert 'id="receipt"' in receipt.get_data(as_text=True)
    assert "Content-Encoding" not in receipt.headers
    for resp in receipt.history:
        assert "Content-Encoding" not in resp.headers


def test_a_form_token_keeps_even_a_listed_page_uncompressed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second guard: were the inbox log-in ever listed as public, its token keeps it plain
    monkeypatch.setattr(
        compress, "COMPRESSED_PAGES", compress.COMPRESSED_PAGES | {"forms.followup"}
    )
    resp = app.test_client().get("/followup", headers={"Accept-Encoding": BOTH})
    assert "Content-Encoding" not in resp.headers
    assert 'name="csrf_token"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["", "/zu"])
def test_the_report_form_is_compressed_and_reflects_nothing_of_the_request(
    app_factory: Callable[..., Flask], lang: str
) -> None:
    app = app_factory(LANGUAGES="en,zu")
    client = app.test_client()
    sentinel = "SENTINELreflect9q"
    client.set_cookie("probe", sentinel)
    resp = client.get(
        lang + "/report",
        headers={
            "Accept-Encoding": "gzip",
            "Accept-Language": f"zu,{sentinel};q=0.5",
            "User-Agent": sentinel,
            "X-Forwarded-Host": sentinel,
            "Referer": sentinel,
        },
    )
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in resp.headers.get("Vary", "")
    html = gzip.decompress(resp.get_data()).decode()
    assert 'name="csrf_token"' in html and 'name="form_id"' in html
    # BREACH needs text of the attacker's choosing beside the secret: none gets in
    assert sentinel not in html and sentinel.lower() not in html.lower()
    # and a query string, the one input the page could echo, turns compression off
    plain = client.get(lang + f"/report?{sentinel}=1", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers


def test_the_public_map_page_is_compressed_and_the_same_page(app: Flask) -> None:
    client = app.test_client()
    plain = client.get("/map", headers={"Accept-Encoding": "identity"})
    packed = client.get("/map", headers={"Accept-Encoding": BOTH})
    assert "Content-Encoding" not in plain.headers and 'name="csrf_token"' not in plain.text
    assert packed.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())
    page = brotli.decompress(packed.get_data()).decode()
    assert len(page) == len(plain.text) and page.endswith("</html>")


def test_over_http_the_bytes_sent_are_the_gzip_file(app: Flask) -> None:
    name = "vendor/nacl-fast.min.js"
    with live_server(app) as base:
        req = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/static/{name}",
            headers={"Accept-Encoding": "gzip"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            body = resp.read()
            assert resp.headers["Content-Encoding"] == "gzip"
            assert int(resp.headers["Content-Length"]) == len(body)
    assert body == (STATIC / (name + ".gz")).read_bytes()
    assert gzip.decompress(body) == (STATIC / name).read_bytes()
