"""The report payload: what every channel seals, one schema (docs/payload.md).

Pure: no Flask, no database. `make_payload` builds a payload (with the size floor's "pad") and
checks it; `check_payload` refuses a malformed one with `PayloadInvalid`, whose `reason` names
the field at fault. The JavaScript twin (reporter/static/js) passes the same vectors,
tests/data/payload-v1.json.

The vocabulary (categories, perpetrators, provinces) is checked against reporter.domain.vocabulary,
imported only when a check runs without an explicit `Vocabulary` (that module carries lazy
translations, so importing it here would pull in flask_babel).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VERSION = 1
CHANNELS = ("web-js", "web-nojs", "ussd", "sms", "helpline", "outreach", "meeting", "walk-in")
# reports that staff take down for someone else: the payload's "source" says which kind
STAFF_SOURCES = ("helpline", "outreach", "meeting", "walk-in")

NARRATIVE_MAX = 20_000  # = reporter.forms.forms.NARRATIVE_MAX (tests hold them equal)
DETAILS_MAX = 2_000
PLACE_MAX = 200
TOWN_MAX = 200
NAME_MAX = 100
MAX_ATTACHMENTS = 50
YEAR_MIN, YEAR_MAX = 1990, 2100

# Reports shorter than this all seal to the same size (a 10-character and a 3,000-character
# narrative look alike); longer ones fall into the envelope's power-of-two buckets.
PAYLOAD_FLOOR = 4096 - 4

FIELDS = (
    "v",
    "categories",
    "perpetrators",
    "when",
    "province",
    "place",
    "pin",
    "narrative",
    "perpetrator_details",
    "consent",
    "attachments",
    "language",
    "pad",
)
OPTIONAL_FIELDS = ("channel", "source", "callback")

_LANGUAGE = re.compile(r"[a-z]{2,3}\Z")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}\Z")
_B64_32 = re.compile(r"[A-Za-z0-9+/]{43}=\Z")


class PayloadInvalid(ValueError):
    """A payload that does not follow the schema; `reason` names the field (or "version",
    "unknown_field", "missing_field", "not_object")."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Vocabulary:
    categories: frozenset[str]
    perpetrators: frozenset[str]
    provinces: frozenset[str]


def default_vocabulary() -> Vocabulary:
    from reporter.domain import vocabulary as v

    return Vocabulary(
        frozenset(v.CATEGORY_VALUES), frozenset(v.PERPETRATOR_VALUES), frozenset(v.PROVINCES)
    )


def compact_size(payload: Mapping[str, Any]) -> int:
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def with_floor(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Add a "pad" of spaces so the compact JSON is at least PAYLOAD_FLOOR bytes."""
    out = {**payload, "pad": ""}
    out["pad"] = " " * max(0, PAYLOAD_FLOOR - compact_size(out))
    return out


def attachment_name(name: str | None) -> str:
    """An attachment's name as the payload keeps it (both twins: payload.js attachmentName):
    the last path component only, printable characters, no leading or trailing dots or
    spaces, the first 100 characters; "attachment" when nothing is left. The name is
    evidence, never a path."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip(". ")
    return base[:100] or "attachment"


def attachment_type(kind: str | None) -> str:
    """An attachment's media type as the payload keeps it: lowercased, at most 100 characters."""
    return (kind or "").strip().lower()[:100]


def make_payload(
    *,
    categories: Iterable[str],
    perpetrators: Iterable[str],
    year: int,
    month: int | None,
    day: int | None = None,
    province: str,
    town_id: int | None = None,
    town: str | None = None,
    place_text: str | None = None,
    pin: Mapping[str, float] | None = None,
    narrative: str,
    perpetrator_details: str = "",
    consent_contact: bool = False,
    consent_legal: bool = False,
    attachments: Iterable[Mapping[str, Any]] = (),
    language: str = "en",
    channel: str | None = None,
    source: str | None = None,
    callback_phone: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> dict[str, Any]:
    """A checked payload, padded to the floor. Optional fields are left out when not given;
    `callback_phone` only when she asked to be called back (it exists only in the envelope)."""
    text = (place_text or "").strip() or None
    payload: dict[str, Any] = {
        "v": VERSION,
        "categories": list(dict.fromkeys(categories)),  # a form may send one twice
        "perpetrators": list(dict.fromkeys(perpetrators)),
        "when": {"year": year, "month": month or None, "day": day},
        "province": province,
        "place": {"town_id": town_id, "town": town, "text": text},
        "pin": dict(pin) if pin is not None else None,
        "narrative": narrative,
        "perpetrator_details": perpetrator_details or "",
        "consent": {"contact": bool(consent_contact), "legal": bool(consent_legal)},
        "attachments": [dict(a) for a in attachments],
        "language": language,
    }
    if channel is not None:
        payload["channel"] = channel
    if source is not None:
        payload["source"] = source
    if callback_phone is not None:
        payload["callback"] = {"phone": callback_phone}
    payload = with_floor(payload)
    check_payload(payload, vocabulary)
    return payload


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _keys(
    obj: Any, reason: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise PayloadInvalid(reason, "not an object")
    missing = [k for k in required if k not in obj]
    extra = [k for k in obj if k not in required and k not in optional]
    if missing:
        raise PayloadInvalid(reason, "missing " + ", ".join(missing))
    if extra:
        raise PayloadInvalid(reason, "unknown " + ", ".join(map(str, extra)))
    return obj


def _opt_text(value: Any, limit: int) -> bool:
    return value is None or (isinstance(value, str) and 0 < len(value) <= limit)


def _terms(value: Any, allowed: frozenset[str], reason: str) -> None:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise PayloadInvalid(reason, "a list of strings")
    if len(set(value)) != len(value):
        raise PayloadInvalid(reason, "repeated")
    unknown = [x for x in value if x not in allowed]
    if unknown:
        raise PayloadInvalid(reason, "not in the vocabulary")


def _when(value: Any) -> None:
    w = _keys(value, "when", ("year", "month", "day"))
    year, month, day = w["year"], w["month"], w["day"]
    if not _is_int(year) or not YEAR_MIN <= year <= YEAR_MAX:
        raise PayloadInvalid("when", "year")
    if month is not None and (not _is_int(month) or not 1 <= month <= 12):
        raise PayloadInvalid("when", "month is 1-12, or null when she does not remember")
    if day is not None:
        if not _is_int(day) or month is None:
            raise PayloadInvalid("when", "day needs a month")
        try:
            dt.date(year, month, day)
        except ValueError:
            raise PayloadInvalid("when", "no such day") from None


def _place(value: Any) -> None:
    p = _keys(value, "place", ("town_id", "town", "text"))
    if p["town_id"] is not None and (not _is_int(p["town_id"]) or p["town_id"] < 0):
        raise PayloadInvalid("place", "town_id")
    if (p["town_id"] is None) != (p["town"] is None) or not _opt_text(p["town"], TOWN_MAX):
        raise PayloadInvalid("place", "town and town_id go together")
    if not _opt_text(p["text"], PLACE_MAX):
        raise PayloadInvalid("place", "text")


def _pin(value: Any) -> None:
    if value is None:
        return
    p = _keys(value, "pin", ("lat", "lon"))
    lat, lon = p["lat"], p["lon"]
    for c, bound in ((lat, 90), (lon, 180)):
        if not isinstance(c, int | float) or isinstance(c, bool) or not -bound <= c <= bound:
            raise PayloadInvalid("pin", "lat and lon in degrees")


def _attachments(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise PayloadInvalid("attachments", "a list")
    for i, a in enumerate(value):
        a = _keys(a, "attachments", ("index", "name", "type", "size", "kc", "metadata_removed"))
        ok = (
            a["index"] == i
            and _is_int(a["index"])
            and isinstance(a["name"], str)
            and 0 < len(a["name"]) <= NAME_MAX
            and isinstance(a["type"], str)
            and len(a["type"]) <= 100
            and _is_int(a["size"])
            and a["size"] >= 0
            and isinstance(a["kc"], str)
            and _B64_32.match(a["kc"]) is not None
            and isinstance(a["metadata_removed"], bool)
        )
        if not ok:
            raise PayloadInvalid("attachments", f"entry {i}")


def check_payload(payload: Any, vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """Return the payload if it follows the schema, else raise PayloadInvalid."""
    if not isinstance(payload, dict):
        raise PayloadInvalid("not_object")
    if payload.get("v") != VERSION or not _is_int(payload.get("v")):
        raise PayloadInvalid("version", "v must be 1")
    extra = [k for k in payload if k not in FIELDS and k not in OPTIONAL_FIELDS]
    if extra:
        raise PayloadInvalid("unknown_field", ", ".join(map(str, extra)))
    missing = [k for k in FIELDS if k not in payload]
    if missing:
        raise PayloadInvalid("missing_field", ", ".join(missing))
    vocab = vocabulary or default_vocabulary()
    _terms(payload["categories"], vocab.categories, "categories")
    _terms(payload["perpetrators"], vocab.perpetrators, "perpetrators")
    _when(payload["when"])
    if payload["province"] not in vocab.provinces:
        raise PayloadInvalid("province")
    _place(payload["place"])
    _pin(payload["pin"])
    if not isinstance(payload["narrative"], str) or len(payload["narrative"]) > NARRATIVE_MAX:
        raise PayloadInvalid("narrative")
    details = payload["perpetrator_details"]
    if not isinstance(details, str) or len(details) > DETAILS_MAX:
        raise PayloadInvalid("perpetrator_details")
    consent = _keys(payload["consent"], "consent", ("contact", "legal"))
    if not all(isinstance(consent[k], bool) for k in ("contact", "legal")):
        raise PayloadInvalid("consent", "true or false")
    _attachments(payload["attachments"])
    language = payload["language"]
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise PayloadInvalid("language")
    pad = payload["pad"]
    if not isinstance(pad, str) or pad.strip(" "):
        raise PayloadInvalid("pad", "spaces only")
    channel = payload.get("channel")
    if "channel" in payload and channel not in CHANNELS:
        raise PayloadInvalid("channel")
    if "source" in payload:
        if payload["source"] not in STAFF_SOURCES:
            raise PayloadInvalid("source")
        if channel is not None and channel not in STAFF_SOURCES:
            raise PayloadInvalid("source", "only for reports taken by staff")
    if "callback" in payload:
        cb = _keys(payload["callback"], "callback", ("phone",))
        if not isinstance(cb["phone"], str) or not _E164.match(cb["phone"]):
            raise PayloadInvalid("callback", "an E.164 number, +27...")
    return payload
