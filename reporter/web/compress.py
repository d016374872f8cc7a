"""Compressed responses for phones on 2G (docs/operations.md, "Compression").

Static assets are compressed once, at set-up (`scripts/vendor_assets.py` calls `precompress`):
next to each css/js/json/svg/html file under reporter/static lies `<file>.gz` (gzip -9) and,
when the `brotli` package is installed, `<file>.br` (quality 11), unless it would not be
smaller (a tiny icon). The static route then sends the smallest variant the client's
Accept-Encoding allows, with its own Content-Length and ETag (send_file derives both from the
variant's file) and `Vary: Accept-Encoding`. A variant older
than its source (an asset edited after set-up) is never sent: the plain file is.

HTML is compressed only for public pages that carry no secret (COMPRESSED_PAGES: the map and
the home page, the same for everyone). A page with a CSRF token, a receipt or an inbox is
always sent as it is: compressing a secret together with text an attacker can make the page
reflect leaks the secret through the response's length (BREACH). As a second guard, a response
for which a CSRF token was generated is never compressed, whatever its endpoint.
"""

from __future__ import annotations

import gzip
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, g, request, send_from_directory
from werkzeug.security import safe_join

try:  # optional: gzip alone when the brotli package is missing
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency; kept optional for set-up
    brotli = None

# what set-up precompresses (images and fonts are compressed formats already)
SUFFIXES = (".css", ".js", ".json", ".svg", ".html")
# Content-Encoding -> file suffix, in order of preference at equal quality
VARIANTS = (("br", ".br"), ("gzip", ".gz"))
# public pages the same for everyone, without a form token or anything of the visitor's
COMPRESSED_PAGES = frozenset({"maps.public_map", "site.index"})
# Pages that hold a form token but reflect nothing of the request: compressed only when asked
# for without a query string (the one request input the page could echo, in its language
# links). BREACH needs all three of compression, a secret and attacker-chosen text in the same
# body; here the third is missing: the path is fixed, the language comes from a fixed list,
# and no header, cookie or parameter is written into the page (tests/test_compression.py
# checks that a sentinel sent every way never appears). The single-use form id is new in
# every response, and the CSRF token only lets someone file a report in her name. The report
# form is the page a reporter on 2G waits for: 24 KB plain, 6 KB compressed.
UNREFLECTING_FORMS = frozenset({"forms.report"})
MIN_BYTES = 1024  # below about one packet, compression gains nothing


def _assets(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES:
            yield path


def _encode(encoding: str, data: bytes, best: bool = True) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(data, quality=11 if best else 5))
    # mtime=0: the same input always gives the same file (reproducible, a stable ETag)
    return gzip.compress(data, compresslevel=9 if best else 6, mtime=0)


def encodings() -> tuple[tuple[str, str], ...]:
    return tuple((enc, suffix) for enc, suffix in VARIANTS if enc != "br" or brotli is not None)


def precompress(folder: Path) -> list[Path]:
    """Write the .gz (and .br) variant of every asset under `folder` that lacks an up-to-date
    one, and remove variants whose source is gone; returns the variants written."""
    written = []
    available = encodings()
    for source in _assets(folder):
        data = None
        for encoding, suffix in available:
            target = source.with_name(source.name + suffix)
            if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
                if target.stat().st_size >= source.stat().st_size:
                    target.unlink()
                continue
            data = source.read_bytes() if data is None else data
            encoded = _encode(encoding, data)
            if len(encoded) >= len(data):  # a tiny file: sent as it is
                target.unlink(missing_ok=True)
                continue
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(encoded)
            os.replace(tmp, target)
            written.append(target)
    for _encoding, suffix in VARIANTS:
        for variant in folder.rglob("*" + suffix):
            source = variant.with_name(variant.name[: -len(suffix)])
            if source.suffix in SUFFIXES and not source.exists():
                variant.unlink()
    return written


def _accepted() -> list[tuple[str, str]]:
    """The variants this request accepts, best first (quality, then our preference)."""
    accept = request.accept_encodings
    ranked = [(accept.quality(enc), -i, enc, suffix) for i, (enc, suffix) in enumerate(encodings())]
    return [(enc, suffix) for q, _i, enc, suffix in sorted(ranked, reverse=True) if q > 0]


def _fresh_variant(folder: str, filename: str, suffix: str) -> bool:
    source = safe_join(folder, filename)
    variant = safe_join(folder, filename + suffix)
    if source is None or variant is None or not os.path.isfile(variant):
        return False
    try:
        return os.stat(variant).st_mtime >= os.stat(source).st_mtime
    except OSError:
        return False


def init_app(app: Flask) -> None:
    folder = app.static_folder
    if folder is None:  # pragma: no cover - the app always has its static folder
        return

    def static(filename: str) -> Response:
        compressible = os.path.splitext(filename)[1] in SUFFIXES
        if compressible:
            for encoding, suffix in _accepted():
                if _fresh_variant(folder, filename, suffix):
                    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                    resp = send_from_directory(
                        folder,
                        filename + suffix,
                        mimetype=mimetype,
                        max_age=app.get_send_file_max_age(filename),
                    )
                    resp.headers["Content-Encoding"] = encoding
                    resp.vary.add("Accept-Encoding")
                    return resp
        resp = app.send_static_file(filename)
        if compressible:
            resp.vary.add("Accept-Encoding")
        return resp

    app.view_functions["static"] = static

    @app.after_request
    def _compress_public_html(resp: Response) -> Response:
        unreflecting = request.endpoint in UNREFLECTING_FORMS and not request.query_string
        listed = request.endpoint in COMPRESSED_PAGES or unreflecting
        if listed:
            resp.vary.add("Accept-Encoding")
        if (
            not listed
            or request.method not in ("GET", "HEAD")
            or resp.status_code != 200
            or resp.mimetype != "text/html"
            or resp.direct_passthrough
            or resp.is_streamed
            or "Content-Encoding" in resp.headers
            # a form token was made for this response: never, but for the listed forms
            or ("csrf_token" in g and not unreflecting)
        ):
            return resp
        body = resp.get_data()
        accepted = _accepted()
        if len(body) < MIN_BYTES or not accepted:
            return resp
        encoding = accepted[0][0]
        resp.set_data(_encode(encoding, body, best=False))
        resp.headers["Content-Encoding"] = encoding
        etag, weak = resp.get_etag()
        if etag:
            resp.set_etag(f"{etag}-{encoding}", weak=bool(weak))
        return resp
