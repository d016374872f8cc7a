"""Photos lose their hidden details (GPS, phone model, time, XMP) before sealing, on the no-JS
path in the server's memory, unless the reporter ticks "Keep the original file"."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from PIL import ExifTags, Image
from sqlalchemy import select

from reporter.crypto import envelope
from reporter.models import db
from reporter.models.private import Attachment, Report
from reporter.services.photos import PhotoUnreadable, strip_metadata
from tests.support.intake import secrets_of, submit_plain

PHONE = "SM-A045F-Sentinel"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>XMP-Sentinel-q7'
    b"</rdf:Description></x:xmpmeta>"
)


def gps_jpeg(width: int = 80, height: int = 60, orientation: int = 1) -> bytes:
    """A phone photo as a phone writes it: GPS position, phone model, time, orientation, XMP."""
    image = Image.new("RGB", (width, height), (180, 40, 90))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = PHONE
    exif[ExifTags.Base.DateTime] = "2026:10:03 23:41:07"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {1: "S", 2: (26.0, 12.0, 30.5), 3: "E", 4: (28.0, 2.0, 41.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=XMP)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def assert_clean(data: bytes) -> None:
    assert not has_gps(data)
    with Image.open(io.BytesIO(data)) as image:
        assert not dict(image.getexif())
        assert "xmp" not in image.info and "exif" not in image.info
    assert PHONE.encode() not in data and b"XMP-Sentinel" not in data and b"2026:10:03" not in data


def test_the_fixture_photo_really_carries_gps() -> None:
    data = gps_jpeg()
    assert has_gps(data) and PHONE.encode() in data and b"XMP-Sentinel" in data


@pytest.mark.parametrize(
    "kind, fmt", [("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")]
)
def test_strip_keeps_the_picture_and_drops_the_details(app: Flask, kind: str, fmt: str) -> None:
    source = gps_jpeg()
    if fmt != "JPEG":  # the same details carried in a PNG or WebP
        with Image.open(io.BytesIO(source)) as im:
            out = io.BytesIO()
            im.save(out, fmt, exif=im.getexif(), xmp=XMP)
            source = out.getvalue()
        assert PHONE.encode() in source
    with app.test_request_context():
        clean = strip_metadata(source, kind)
    assert_clean(clean)
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == fmt and image.size == (80, 60)
        r, g, b = image.convert("RGB").getpixel((40, 30))
        assert abs(r - 180) < 12 and abs(g - 40) < 12 and abs(b - 90) < 12


def test_a_sideways_phone_photo_is_turned_upright_not_left_sideways(app: Flask) -> None:
    with app.test_request_context():
        clean = strip_metadata(gps_jpeg(80, 60, orientation=6), "image/jpeg")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (60, 80)


def test_documents_and_voice_notes_pass_unchanged(app: Flask) -> None:
    with app.test_request_context():
        assert strip_metadata(b"%PDF-1.4 fine slip", "application/pdf") == b"%PDF-1.4 fine slip"
        assert strip_metadata(b"OggS voice", "audio/ogg") == b"OggS voice"


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"not a photo at all", "image/jpeg"),
        (gps_jpeg()[:300], "image/jpeg"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
    ],
)
def test_a_photo_that_cannot_be_cleaned_is_refused_not_passed_through(
    app: Flask, data: bytes, kind: str
) -> None:
    with app.test_request_context(), pytest.raises(PhotoUnreadable, match="Keep the original"):
        strip_metadata(data, kind)


def stored_photo(app: Flask) -> tuple[bytes, dict]:
    """Open the report and its file with the province's case key, as a moderator's browser does."""
    keys = secrets_of(app)
    with app.app_context():
        report = db.session().scalars(select(Report)).one()
        att = db.session().scalars(select(Attachment)).one()
        payload = envelope.open_envelope(report.envelope, keys["GP"])
        return envelope.open_attachment(att.header, att.body, keys["GP"]), payload


def test_no_js_photo_reaches_the_moderator_without_gps(app: Flask) -> None:
    client = app.test_client()
    resp = submit_plain(client, files=[(gps_jpeg(), "IMG_2041.jpg", "image/jpeg")])
    assert resp.status_code in (200, 303), resp.get_data(as_text=True)[:500]
    photo, payload = stored_photo(app)
    assert_clean(photo)
    assert payload["attachments"][0]["metadata_removed"] is True
    assert payload["attachments"][0]["size"] == len(photo)


def test_no_js_keep_original_keeps_the_file_byte_for_byte(app: Flask) -> None:
    client = app.test_client()
    original = gps_jpeg()
    resp = submit_plain(client, files=[(original, "IMG_2041.jpg", "image/jpeg")], keep_original="y")
    assert resp.status_code in (200, 303)
    photo, payload = stored_photo(app)
    assert photo == original and has_gps(photo)
    assert payload["attachments"][0]["metadata_removed"] is False


def test_no_js_broken_photo_gets_a_clear_400_and_nothing_is_stored(app: Flask) -> None:
    client = app.test_client()
    resp = submit_plain(client, files=[(b"\xff\xd8\xff broken", "IMG.jpg", "image/jpeg")])
    assert resp.status_code == 400
    assert "could not be read to remove its hidden details" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Report)).first() is None
