"""Remove the hidden details a photo carries (EXIF, XMP, GPS, phone model, time) before sealing.

Used on the no-JavaScript path, where the server seals an upload on arrival: the photo is
decoded and re-encoded in this request's memory (never on disk), so only its pixels remain.
With JavaScript on, the reporter's browser does the same on a canvas before sealing.

Anything that is not a photo (voice notes, PDF documents) is returned unchanged. A photo that
cannot be decoded is refused with a message she can act on, never passed through silently with
its metadata.
"""

from __future__ import annotations

import io
import warnings

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Re-encoded formats, by the upload's declared type: (Pillow format, save options).
FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    "image/jpeg": ("JPEG", {"quality": 90, "optimize": True}),
    "image/jpg": ("JPEG", {"quality": 90, "optimize": True}),
    "image/pjpeg": ("JPEG", {"quality": 90, "optimize": True}),
    "image/png": ("PNG", {"optimize": True}),
    "image/webp": ("WEBP", {"quality": 90}),
    "image/gif": ("GIF", {}),
    "image/bmp": ("PNG", {}),
}
# A phone photo is 12 to 50 megapixels; beyond this it is not a photo but a decompression bomb.
MAX_PIXELS = 64_000_000


class PhotoUnreadable(ValueError):
    """A photo whose hidden details could not be removed; the message is for the reporter."""


def _refuse() -> PhotoUnreadable:
    return PhotoUnreadable(
        _(
            "A photo could not be read to remove its hidden details (where and "
            "when it was taken, which phone). Attach it again as a JPEG or PNG "
            "photo, or tick “Keep the original file” to send it as it is."
        )
    )


def strip_metadata(data: bytes, content_type: str | None) -> bytes:
    """The photo's pixels only, re-encoded in memory; non-images are returned as they are.

    The picture is turned upright first (the EXIF orientation is metadata too), and no EXIF,
    XMP, IPTC, ICC profile or text chunk is written back. Raises PhotoUnreadable (a
    ValueError) when an image cannot be decoded.
    """
    kind = (content_type or "").lower().split(";")[0].strip()
    if not kind.startswith("image/"):
        return data
    target = FORMATS.get(kind)
    if target is None:  # HEIC, SVG, TIFF...: we cannot promise to clean them
        raise _refuse()
    fmt, options = target
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as original:
                width, height = original.size
                if width * height > MAX_PIXELS:
                    raise _refuse()
                original.load()
                image = ImageOps.exif_transpose(original)
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        elif fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        # a fresh image from the raw pixels: none of the original's info (EXIF, XMP, ICC,
        # text chunks, comments) comes along
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        if image.mode == "P":
            clean.putpalette(image.getpalette() or [])
            if "transparency" in image.info:
                clean.info["transparency"] = image.info["transparency"]
        out = io.BytesIO()
        clean.save(out, format=fmt, **options)
        return out.getvalue()
    except PhotoUnreadable:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _refuse() from exc
