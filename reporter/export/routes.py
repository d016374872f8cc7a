"""Export views (staff), the public bundle checker and the published signing key."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, current_app, render_template, request
from nacl.signing import VerifyKey
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from reporter.config import Settings
from reporter.crypto.signing import KeyMissing, fingerprint, load_signing_key, public_key_b64
from reporter.domain import policy
from reporter.domain.enums import Role
from reporter.domain.vocabulary import CATEGORIES, PERPETRATORS, PROVINCES
from reporter.export import bp
from reporter.export.bundle import audit_object, build_bundle
from reporter.export.filters import ExportFilters, ExportInvalid, parse_export_filters
from reporter.export.verify import (
    WEB_LIMITS,
    BundleRefused,
    BundleTooLarge,
    read_manifest,
    verify_bundle,
)
from reporter.maps import query
from reporter.models import audit, db
from reporter.web.auth import allow, current_staff, guard, public
from reporter.web.errors import render_error
from reporter.web.extensions import global_key, limiter

guard(bp)

EXPORTERS = (Role.ADVOCATE, Role.COORDINATOR, Role.ADMIN)
# casework bundles hold a row per incident: where counts are small, a row can point to a person
CASEWORKERS = policy.EVERY_PROVINCE
KEY_PATH = "/.well-known/reporter-signing-key"


def _settings() -> Settings:
    return current_app.extensions["reporter.settings"]


def _may_casework() -> bool:
    staff = current_staff()
    return staff is not None and bool(CASEWORKERS & set(staff.roles))


def _form(
    status: int = 200, error: str | None = None, f: ExportFilters | None = None
) -> tuple[str, int]:
    rel = query.released(db.session())
    return render_template(
        "export/exports.html",
        error=error,
        f=f or ExportFilters(),
        provinces=PROVINCES,
        periods=[*rel.quarters[:12], *rel.years[:10], *rel.months[:36]],
        categories=CATEGORIES,
        perpetrators=PERPETRATORS,
        casework=_may_casework(),
        today=dt.date.today().strftime("%Y-%m"),
    ), status


@bp.get("/staff/exports")
@allow(*EXPORTERS)
def exports() -> tuple[str, int]:
    """Advocacy exports: media bundles (aggregates) and casework bundles."""
    return _form()


@bp.post("/staff/exports")
@allow(*EXPORTERS)
def create_export() -> Any:
    """Build a signed bundle for the filters, audit it, and send it as a download."""
    try:
        f = parse_export_filters(request.form)
    except ExportInvalid as exc:
        return _form(400, str(exc))
    if f.kind == "casework" and not _may_casework():
        raise Forbidden()
    settings = _settings()
    try:
        key = load_signing_key(settings.instance_path)
    except KeyMissing as exc:
        return _form(503, str(exc), f)
    session = db.session()
    # unlinked at once (nothing to clean up); holds published, coarse data only
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
    try:
        try:
            bundle = build_bundle(session, f, settings, key, out)
        except ExportInvalid as exc:  # e.g. a period that was not released
            out.close()
            return _form(400, str(exc), f)
        staff = current_staff()
        # audited before a byte leaves: an export that cannot be recorded is not sent
        audit.record(session, staff.id if staff else None, "export", audit_object(f, bundle, "web"))
        session.commit()
    except BaseException:
        out.close()
        raise
    resp = Response(
        _chunks(out),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "X-Bundle-SHA256": bundle.sha256,
        },
    )
    resp.content_length = bundle.size
    return resp


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    """The bundle in pieces; the temporary file is closed when the last one is sent (or the
    client goes away)."""
    try:
        while chunk := fh.read(256 * 1024):
            yield chunk
    finally:
        fh.close()


def _public_key() -> VerifyKey | None:
    try:
        return load_signing_key(_settings().instance_path).verify_key
    except KeyMissing:
        return None


@bp.get(KEY_PATH)
@public
def signing_key() -> Response:
    """The organisation's Ed25519 public key (base64 of 32 bytes), which signs bundles."""
    key = _public_key()
    if key is None:
        return Response("no signing key has been made yet\n", status=404, mimetype="text/plain")
    resp = Response(public_key_b64(key) + "\n", mimetype="text/plain")
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp


def _verify_page(status: int = 200, **context: Any) -> tuple[str, int]:
    key = _public_key()
    return render_template(
        "export/verify.html",
        fingerprint=fingerprint(key) if key else None,
        key_path=KEY_PATH,
        limit_mb=_upload_limit() // (1024 * 1024),
        **context,
    ), status


def _pieces(stream: Any) -> Iterator[bytes]:
    """The upload's bytes: from the app's sealed in-memory spool (reporter/web/upload.py)
    through its plaintext() reader, else by plain reads."""
    reader = getattr(stream, "plaintext", None)
    if reader is not None:
        yield from reader()
        return
    while piece := stream.read(256 * 1024):
        yield piece


def _too_big_text() -> str:
    return (
        f"The file is larger than {_upload_limit() // (1024 * 1024)} MB, the most this page "
        "checks. Check large bundles offline (see below)."
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    """An upload over the limit is stopped while the form is read (before the view runs);
    the checker says so in its own words, other views keep the site's error page."""
    if request.endpoint == "export.verify_page":
        return _verify_page(413, refused=_too_big_text())
    return render_error(413)


def _upload_limit() -> int:
    # uploads stream into the app's sealed in-memory spool, which holds at most this much
    return _settings().max_attachment_bytes


@bp.route("/verify", methods=["GET", "POST"])
# each check unpacks and hashes a zip: limited per session (never per address), and a
# global cap at what the CPU can do, split fresh/seen (reporter.web.extensions)
@limiter.limit(lambda: _settings().verify_limit, methods=["POST"])
@limiter.limit(
    lambda: _settings().verify_global_limit,
    key_func=global_key,
    scope="verify-global",
    methods=["POST"],
)
@public
def verify_page() -> tuple[str, int]:
    """Check an uploaded bundle against this site's signing key; say the result plainly."""
    if request.method == "GET":
        return _verify_page()
    limit = _upload_limit()
    too_big = _too_big_text()
    if (request.content_length or 0) > limit + 64 * 1024:
        return _verify_page(413, refused=too_big)
    upload = request.files.get("bundle")
    data = bytearray()
    for piece in _pieces(upload.stream) if upload else ():
        data += piece
        if len(data) > limit:
            return _verify_page(413, refused=too_big)
    if not data:
        return _verify_page(400, refused="Choose a bundle (a .zip file) to check.")
    key = _public_key()
    if key is None:
        return _verify_page(
            503, refused="This site has no signing key yet, so there is nothing to check against."
        )
    try:
        problems = verify_bundle(bytes(data), key, WEB_LIMITS)
        claims = read_manifest(bytes(data), WEB_LIMITS)
    except BundleTooLarge as exc:
        return _verify_page(413, refused=f"Refused without unpacking it: {exc}.")
    except BundleRefused as exc:
        return _verify_page(400, refused=f"This cannot be checked: {exc}.")
    return _verify_page(
        200,
        checked=True,
        problems=problems,
        claims=claims or {},
        name=(upload.filename or "")[:120] if upload else "",
    )
