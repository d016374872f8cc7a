"""The keyed-hash index of offenders' phone numbers and registrations.

Nothing here stores a number or a plate: each is turned into keyed BLAKE2b digests (PyNaCl's
`blake2b(key=...)`, a MAC; DESIGN.md section 9 asks for HMAC with a secret outside the
database, and keyed BLAKE2b is that construction in libsodium) under the alerts index key,
which lives in instance/keys/alerts-index or ALERTS_INDEX_KEY (hex), never in the database.
A plain hash of a phone number is reversed by hashing every number (10^9 per country); a keyed
hash cannot be without the key.

Scheme (docs/alerts.md):
- a full number: digest("phone", E.164). Any South African way of writing it (082 123 4567,
  +27 82 123 4567, 0027821234567, 27821234567) is normalised with `phonenumbers` first;
- a partial number the victim remembered: its known leading digits (at least 6, national form
  "0821234") or trailing digits (at least 4): digest("phone-prefix", digits) or
  digest("phone-suffix", digits). A checked full number is hashed as every prefix of 6..9 and
  every suffix of 4..9 digits, so it meets a stored partial one;
- a registration (full or partial, at least 4 letters or digits once normalised: upper case,
  A-Z and 0-9 only): the set of digests of its 4-letter n-grams, digest("plate4", gram). A
  checked (partial) plate matches a stored one when all the query's grams are among the stored
  plate's grams (the query is inside it), or all the stored plate's grams are among the
  query's (a stored partial plate is inside the query).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from reporter.crypto.signing import KeyMissing

GRAM = 4
MIN_PLATE = 4
MIN_PREFIX = 6
MIN_SUFFIX = 4
_PLATE_JUNK = re.compile(r"[^A-Z0-9]")
_PHONE_CHARS = re.compile(r"^[\d\s+().\-/]+$")
_DIGITS = re.compile(r"\d")
KEY_FILE = "alerts-index"


class NotAnIdentifier(ValueError):
    """Neither a South African phone number nor at least 4 letters/digits of a plate."""


def index_key(instance_path: Path, *, create: bool = False) -> bytes:
    """The alerts index key: ALERTS_INDEX_KEY (hex) or instance/keys/alerts-index (created
    when `create`: `flask --app wsgi alerts init-key`, the demo and the tests)."""
    env = os.environ.get("ALERTS_INDEX_KEY")
    if env:
        value = bytes.fromhex(env)
    else:
        path = instance_path / "keys" / KEY_FILE
        if not path.exists():
            if not create:
                raise KeyMissing("no alerts index key: run `flask --app wsgi alerts init-key`")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(32))
        value = path.read_bytes()
    if len(value) < 32:
        raise KeyMissing("the alerts index key is too short (32 bytes)")
    return value[:64]


def subkey(key: bytes, purpose: bytes) -> bytes:
    """A key for one purpose (index digests, member codes), derived from the index key."""
    return blake2b(b"", key=key, person=purpose[:16], digest_size=32, encoder=RawEncoder)


def digest(key: bytes, label: str, value: str) -> bytes:
    return blake2b(
        f"{label}:{value}".encode(),
        key=subkey(key, b"alerts-index"),
        digest_size=32,
        encoder=RawEncoder,
    )


# --- normalising what people type ------------------------------------------------------------


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_CHARS.match(text.strip())) and len(_DIGITS.findall(text)) >= 9


def full_phone(text: str) -> str | None:
    """E.164 of a South African (or international) number written any usual way, else None."""
    raw = text.strip()
    digits = "".join(_DIGITS.findall(raw))
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif digits.startswith("27") and len(digits) == 11 and not raw.startswith("+"):
        raw = "+" + digits  # 27821234567, written without the plus
    try:
        number = phonenumbers.parse(raw, "ZA")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """0 + the national significant number for +27 numbers ("0821234567"); else the digits."""
    return "0" + e164[3:] if e164.startswith("+27") else e164.lstrip("+")


def plate(text: str) -> str:
    return _PLATE_JUNK.sub("", text.upper())


def grams(normalised: str) -> list[str]:
    if len(normalised) < GRAM:
        return []
    return sorted({normalised[i : i + GRAM] for i in range(len(normalised) - GRAM + 1)})


@dataclass(frozen=True)
class Row:
    kind: str
    digest: bytes
    item: int = 0
    grams: int = 0


def phone_rows(key: bytes, text: str) -> list[Row]:
    """What a moderator typed for one offender number: full, or partial with its known digits
    and "x", "?", "*" or "." for the unknown ones ("082 555 12xx" or "xxx xxx 4567")."""
    raw = text.strip()
    if not raw:
        return []
    e164 = full_phone(raw) if "x" not in raw.lower() and "?" not in raw and "*" not in raw else None
    if e164:
        return [Row("phone", digest(key, "phone", e164))]
    marked = re.sub(r"[\s()\-/+]", "", raw.lower())
    marked = re.sub(r"^(00)?27(?=\d)", "0", marked)
    if not re.fullmatch(r"[0-9x?*.]+", marked):
        raise NotAnIdentifier("A number has only digits (and x for the ones not known).")
    unknown = re.compile(r"[x?*.]")
    head = unknown.split(marked)[0]
    tail = unknown.split(marked)[-1]
    rows = []
    if len(head) >= MIN_PREFIX and head != marked:
        rows.append(Row("phone_prefix", digest(key, "phone-prefix", head)))
    if len(tail) >= MIN_SUFFIX and tail != marked:
        rows.append(Row("phone_suffix", digest(key, "phone-suffix", tail)))
    if not rows:
        raise NotAnIdentifier(
            "Give a full number, or at least the first 6 or the last 4 digits (x for the others)."
        )
    return rows


def plate_rows(key: bytes, text: str, item: int) -> list[Row]:
    norm = plate(text)
    if len(norm) < MIN_PLATE:
        raise NotAnIdentifier("A registration needs at least 4 letters or digits.")
    gs = grams(norm)
    return [Row("plate_gram", digest(key, "plate4", g), item, len(gs)) for g in gs]


def phone_query(key: bytes, e164: str) -> list[bytes]:
    """Every digest a checked full number can meet: itself, its prefixes and suffixes."""
    nat = national(e164)
    out = [digest(key, "phone", e164)]
    out += [digest(key, "phone-prefix", nat[:n]) for n in range(MIN_PREFIX, len(nat))]
    out += [digest(key, "phone-suffix", nat[-n:]) for n in range(MIN_SUFFIX, len(nat))]
    return out


def plate_query(key: bytes, text: str) -> list[bytes]:
    norm = plate(text)
    if len(norm) < MIN_PLATE:
        raise NotAnIdentifier("A registration needs at least 4 letters or digits.")
    return [digest(key, "plate4", g) for g in grams(norm)]
