"""Encryption envelope v1 (DESIGN.md section 5), the Python twin of static/js/envelope.js.

Pure functions over bytes and dicts: nothing here knows about Flask or the database, so the
same code seals on the no-JavaScript path, checks what browsers upload, and runs in tests
against the shared vectors (tests/data/envelope-v1.json). Every primitive comes from PyNaCl
or hashlib. The outer fields of an envelope are not authenticated, so everything is parsed
strictly and refused with EnvelopeInvalid, whose message is safe to show to a user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import nacl.bindings
import nacl.utils
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.secret import SecretBox

VERSION = 1
MIN_PADDED = 1024
MAX_PADDED = 1 << 20
MAX_RECIPIENTS = 8
KEY_BYTES = 32
NONCE_BYTES = 24
MAC_BYTES = 16
KC_LABEL = b"reporter-envelope-v1-kc"
CHUNK_SIZE = 65536
MIN_CHUNK, MAX_CHUNK = 1024, 1 << 20
BASE_BYTES = 16
KDF = "pbkdf2-sha256"
ITERATIONS = 600_000
MIN_ITERATIONS, MAX_ITERATIONS = 1_000, 10_000_000

_ENV_FIELDS = frozenset({"v", "epk", "nonce", "kc", "ct", "keys"})
_ATT_FIELDS = frozenset({"v", "epk", "kc", "base", "chunk", "keys"})
_KEY_FIELDS = frozenset({"kid", "nonce", "wk"})
_WRAP_FIELDS = frozenset({"v", "kdf", "iter", "salt", "nonce", "wsk", "kid"})
_KID = re.compile(r"[0-9a-f]{16}")
# Any clamped scalar maps a low-order point to zero; libsodium refuses such points, tweetnacl
# does not, so both twins test the ephemeral key explicitly.
_TEST_SCALAR = b"\x01" * 32
# Longest base64 text of a ciphertext of MAX_PADDED + MAC_BYTES bytes: refuse before decoding.
_MAX_CT_B64 = 4 * -(-(MAX_PADDED + MAC_BYTES) // 3)


class EnvelopeError(ValueError):
    """Base class of every refusal raised by this module."""


class EnvelopeInvalid(EnvelopeError):
    """The envelope, wrap or attachment is malformed, damaged or refused."""


class NotARecipient(EnvelopeError):
    """The given secret key cannot open the envelope."""


# -- encodings and small helpers ---------------------------------------------------------------


def b64e(b: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(b).decode("ascii")


def b64d(s: str, length: int | None = None, *, field: str = "value") -> bytes:
    """Decode strict, canonical, padded standard base64; check the length when given."""
    if not isinstance(s, str):
        raise EnvelopeInvalid(f"The {field} must be a base64 string.")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise EnvelopeInvalid(f"The {field} is not valid standard base64.") from None
    if b64e(raw) != s:  # non-zero trailing bits: two spellings of the same bytes
        raise EnvelopeInvalid(f"The {field} is not valid standard base64.")
    if length is not None and len(raw) != length:
        raise EnvelopeInvalid(f"The {field} must be {length} bytes long.")
    return raw


def kid(pk: bytes) -> str:
    """Key id: lowercase hex of SHA-512(pk)[0:8]; a hint, never trusted."""
    return hashlib.sha512(pk).digest()[:8].hex()


def _commit(k: bytes) -> bytes:
    return hashlib.sha512(KC_LABEL + k).digest()[:32]


def _key32(key: object, what: str) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise EnvelopeInvalid(f"The {what} must be {KEY_BYTES} bytes.")
    return bytes(key)


def _acceptable_point(pk: bytes) -> bool:
    if not any(pk):
        return False
    try:
        return any(nacl.bindings.crypto_scalarmult(_TEST_SCALAR, pk))
    except CryptoError:  # libsodium refuses low-order points outright
        return False


def _is_version(value: object) -> bool:
    return type(value) is int and value == VERSION


# -- padding -----------------------------------------------------------------------------------


def bucket(n: int) -> int:
    """Padded size for n bytes of content: max(1024, nextpow2(n + 4)), at most MAX_PADDED."""
    if n < 0 or n + 4 > MAX_PADDED:
        raise EnvelopeInvalid("The message is too large: the limit is 1 MiB.")
    return max(MIN_PADDED, 1 << (n + 3).bit_length())


def pad(data: bytes) -> bytes:
    """u32be(len) || data || zeros, to bucket(len) bytes, so sizes reveal only the bucket."""
    size = bucket(len(data))
    return struct.pack(">I", len(data)) + data + bytes(size - 4 - len(data))


def unpad(padded: bytes) -> bytes:
    """Inverse of pad; refuses any padded block that pad could not have produced."""
    size = len(padded)
    if size < MIN_PADDED or size > MAX_PADDED or size & (size - 1):
        raise EnvelopeInvalid("The padded message has an invalid size.")
    (n,) = struct.unpack(">I", padded[:4])
    if n > size - 4 or bucket(n) != size:
        raise EnvelopeInvalid("The padded message has an invalid length prefix.")
    if padded[4 + n :] != bytes(size - 4 - n):
        raise EnvelopeInvalid("The padding of the message is not all zeros.")
    return padded[4 : 4 + n]


# -- structure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wrapped:
    kid: str
    nonce: bytes
    wk: bytes


@dataclass(frozen=True)
class _Parsed:
    epk: bytes
    kc: bytes
    keys: tuple[_Wrapped, ...]


def _fields(obj: object, fields: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise EnvelopeInvalid(f"The {what} must be a JSON object.")
    if "v" in fields and "v" in obj and not _is_version(obj["v"]):
        raise EnvelopeInvalid(f"The {what} version is not supported.")
    missing = fields - obj.keys()
    if missing:
        raise EnvelopeInvalid(f"The {what} is missing the field '{sorted(missing)[0]}'.")
    if len(obj) != len(fields):
        raise EnvelopeInvalid(f"The {what} has an unexpected field.")
    return obj


def _check_kid(value: object, what: str) -> str:
    if not isinstance(value, str) or not _KID.fullmatch(value):
        raise EnvelopeInvalid(f"The {what} kid must be 16 lowercase hex digits.")
    return value


def _parse_common(
    obj: dict[str, Any], required_kids: Iterable[str], max_recipients: int, what: str
) -> _Parsed:
    epk = b64d(obj["epk"], KEY_BYTES, field=f"{what} field 'epk'")
    if not _acceptable_point(epk):
        raise EnvelopeInvalid(f"The {what} has an unacceptable ephemeral public key.")
    kc = b64d(obj["kc"], 32, field=f"{what} field 'kc'")
    entries = obj["keys"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= max_recipients:
        raise EnvelopeInvalid(f"The {what} must list between 1 and {max_recipients} keys.")
    keys = []
    for entry in entries:
        entry = _fields(entry, _KEY_FIELDS, "wrapped key")
        keys.append(
            _Wrapped(
                _check_kid(entry["kid"], "wrapped key"),
                b64d(entry["nonce"], NONCE_BYTES, field="wrapped key field 'nonce'"),
                b64d(entry["wk"], KEY_BYTES + MAC_BYTES, field="wrapped key field 'wk'"),
            )
        )
    kids = {w.kid for w in keys}
    if len(kids) != len(keys):
        raise EnvelopeInvalid(f"The {what} lists the same kid twice.")
    for required in required_kids:
        if required not in kids:
            raise EnvelopeInvalid(f"The {what} is not sealed to the required key {required}.")
    return _Parsed(epk, kc, tuple(keys))


def _parse(
    env: object, required_kids: Iterable[str] = (), max_recipients: int = MAX_RECIPIENTS
) -> tuple[_Parsed, bytes, bytes]:
    obj = _fields(env, _ENV_FIELDS, "envelope")
    nonce = b64d(obj["nonce"], NONCE_BYTES, field="envelope field 'nonce'")
    if isinstance(obj["ct"], str) and len(obj["ct"]) > _MAX_CT_B64:
        raise EnvelopeInvalid("The envelope ciphertext is too large.")
    ct = b64d(obj["ct"], field="envelope field 'ct'")
    size = len(ct) - MAC_BYTES
    if size < MIN_PADDED or size > MAX_PADDED or size & (size - 1):
        raise EnvelopeInvalid("The envelope ciphertext has an invalid length.")
    return _parse_common(obj, required_kids, max_recipients, "envelope"), nonce, ct


def validate(
    env: object, required_kids: Iterable[str] = (), *, max_recipients: int = MAX_RECIPIENTS
) -> dict[str, Any]:
    """Check an envelope's structure without any secret key; return it unchanged."""
    _parse(env, required_kids, max_recipients)
    return cast(dict[str, Any], env)


# -- sealing and opening -------------------------------------------------------------------------


def _recipients(recipients: Sequence[bytes]) -> list[bytes]:
    pks = [_key32(pk, "recipient public key") for pk in recipients]
    if not 1 <= len(pks) <= MAX_RECIPIENTS:
        raise EnvelopeInvalid(f"An envelope needs between 1 and {MAX_RECIPIENTS} recipients.")
    if len({kid(pk) for pk in pks}) != len(pks):
        raise EnvelopeInvalid("A recipient is listed twice.")
    if not all(_acceptable_point(pk) for pk in pks):
        raise EnvelopeInvalid("A recipient public key is not acceptable.")
    return pks


def _wrap_key(
    k: bytes,
    recipients: Sequence[bytes],
    esk: bytes | None,
    key_nonces: Sequence[bytes] | None,
) -> dict[str, Any]:
    """The fields shared by envelopes and attachment headers: v, epk, kc, keys."""
    pks = _recipients(recipients)
    eph = PrivateKey(_key32(esk, "ephemeral secret key")) if esk else PrivateKey.generate()
    nonces = list(key_nonces) if key_nonces else [nacl.utils.random(NONCE_BYTES) for _ in pks]
    if len(nonces) != len(pks) or any(len(n) != NONCE_BYTES for n in nonces):
        raise EnvelopeInvalid("There must be one 24-byte key nonce per recipient.")
    keys = [
        {
            "kid": kid(pk),
            "nonce": b64e(n),
            "wk": b64e(Box(eph, PublicKey(pk)).encrypt(k, n).ciphertext),
        }
        for pk, n in zip(pks, nonces, strict=True)
    ]
    return {"v": VERSION, "epk": b64e(bytes(eph.public_key)), "kc": b64e(_commit(k)), "keys": keys}


def _unwrap_key(parsed: _Parsed, sk: bytes) -> bytes:
    """Find and open our wrapped key (by kid first, then any), then check the commitment."""
    private = PrivateKey(_key32(sk, "secret key"))
    mine = kid(bytes(private.public_key))
    try:
        box = Box(private, PublicKey(parsed.epk))
    except CryptoError:
        raise EnvelopeInvalid("The ephemeral public key is not acceptable.") from None
    for wrapped in sorted(parsed.keys, key=lambda w: w.kid != mine):
        try:
            k = box.decrypt(wrapped.wk, wrapped.nonce)
        except CryptoError:
            continue
        # The commitment binds ct to this one k, so no one can craft a ct that opens
        # differently for different recipients.
        if not hmac.compare_digest(_commit(k), parsed.kc):
            raise EnvelopeInvalid("The key commitment does not match.")
        return k
    if any(w.kid == mine for w in parsed.keys):
        raise EnvelopeInvalid("The wrapped key for this recipient is damaged.")
    raise NotARecipient("This key is not a recipient of the envelope.")


def seal_bytes(
    data: bytes,
    recipients: Sequence[bytes],
    *,
    _k: bytes | None = None,
    _nonce: bytes | None = None,
    _esk: bytes | None = None,
    _key_nonces: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """Pad and seal raw bytes to every recipient public key (underscore args: vectors only)."""
    k = _key32(_k, "content key") if _k else nacl.utils.random(KEY_BYTES)
    nonce = _nonce or nacl.utils.random(NONCE_BYTES)
    if len(nonce) != NONCE_BYTES:
        raise EnvelopeInvalid("The nonce must be 24 bytes.")
    head = _wrap_key(k, recipients, _esk, _key_nonces)
    ct = SecretBox(k).encrypt(pad(bytes(data)), nonce).ciphertext
    return {
        "v": head["v"],
        "epk": head["epk"],
        "nonce": b64e(nonce),
        "kc": head["kc"],
        "ct": b64e(ct),
        "keys": head["keys"],
    }


def seal(
    payload: dict[str, Any],
    recipients: Sequence[bytes],
    *,
    _k: bytes | None = None,
    _nonce: bytes | None = None,
    _esk: bytes | None = None,
    _key_nonces: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """Seal a JSON object (compact, UTF-8, non-ASCII kept) to every recipient."""
    if not isinstance(payload, dict):
        raise EnvelopeInvalid("The payload must be a JSON object.")
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        data = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        raise EnvelopeInvalid("The payload cannot be written as JSON.") from None
    return seal_bytes(data, recipients, _k=_k, _nonce=_nonce, _esk=_esk, _key_nonces=_key_nonces)


def open_bytes(env: object, sk: bytes) -> bytes:
    """Open an envelope with one recipient's secret key; return the unpadded bytes."""
    parsed, nonce, ct = _parse(env)
    k = _unwrap_key(parsed, sk)
    try:
        padded = SecretBox(k).decrypt(ct, nonce)
    except CryptoError:
        raise EnvelopeInvalid("The envelope ciphertext is damaged.") from None
    return unpad(padded)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def open_envelope(env: object, sk: bytes) -> dict[str, Any]:
    """Open an envelope sealed by seal() (or the JS twin) and return its JSON object."""
    data = open_bytes(env, sk)
    try:
        payload = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise EnvelopeInvalid("The envelope content is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise EnvelopeInvalid("The envelope content is not a JSON object.")
    return payload


# -- attachments: fixed-size chunks under one key -------------------------------------------------
#
# Each chunk's plaintext is exactly `chunk` bytes: u32be(n) || n data bytes || zeros. Every
# chunk but the last is full (n == chunk - 4); the last has 0 <= n <= chunk - 4. Chunk i is
# secretbox(plaintext, base || u32be(i) || u32be(last), k), always chunk + 16 bytes, so the body
# splits without framing and its size reveals only the number of chunks. The index and last
# flag in the nonce refuse reordering, truncation and appended chunks.


def _chunk_nonce(base: bytes, index: int, last: bool) -> bytes:
    return base + struct.pack(">II", index, 1 if last else 0)


def _check_chunk_size(chunk: object) -> int:
    if type(chunk) is not int or not MIN_CHUNK <= chunk <= MAX_CHUNK or chunk & (chunk - 1):
        raise EnvelopeInvalid("The attachment chunk size must be a power of two, 1 KiB to 1 MiB.")
    return chunk


class AttachmentSealer:
    """Seal an attachment as it streams in: header(), then update()* and finish() once."""

    def __init__(
        self,
        recipients: Sequence[bytes],
        chunk_size: int = CHUNK_SIZE,
        *,
        _k: bytes | None = None,
        _base: bytes | None = None,
    ) -> None:
        self._chunk = _check_chunk_size(chunk_size)
        k = _key32(_k, "content key") if _k else nacl.utils.random(KEY_BYTES)
        self._base = _base or nacl.utils.random(BASE_BYTES)
        if len(self._base) != BASE_BYTES:
            raise EnvelopeInvalid("The nonce base must be 16 bytes.")
        head = _wrap_key(k, recipients, None, None)
        self._header = {**head, "base": b64e(self._base), "chunk": self._chunk}
        self._box = SecretBox(k)
        self._buf = bytearray()
        self._index = 0
        self._done = False

    def header(self) -> dict[str, Any]:
        """The attachment header (v, epk, kc, keys, base, chunk); store it beside the body."""
        return {**self._header, "keys": [dict(w) for w in self._header["keys"]]}

    def update(self, data: bytes) -> bytes:
        """Add data; return the chunks that are now complete (possibly b"")."""
        if self._done:
            raise EnvelopeInvalid("The attachment is already finished.")
        cap = self._chunk - 4
        self._buf += data
        out, pos = bytearray(), 0
        # A full chunk is sealed only once more data follows, so finish() always has one.
        while len(self._buf) - pos > cap:
            out += self._seal(self._buf[pos : pos + cap], last=False)
            pos += cap
        del self._buf[:pos]
        return bytes(out)

    def finish(self) -> bytes:
        """Seal the remaining data as the last chunk, padded to full size."""
        if self._done:
            raise EnvelopeInvalid("The attachment is already finished.")
        self._done = True
        out = self._seal(self._buf, last=True)
        self._buf = bytearray()
        return out

    def _seal(self, part: bytes | bytearray, *, last: bool) -> bytes:
        if self._index > 0xFFFFFFFF:
            raise EnvelopeInvalid("The attachment is too large.")
        plain = struct.pack(">I", len(part)) + part + bytes(self._chunk - 4 - len(part))
        nonce = _chunk_nonce(self._base, self._index, last)
        self._index += 1
        return self._box.encrypt(bytes(plain), nonce).ciphertext


def seal_attachment(
    data: bytes, recipients: Sequence[bytes], chunk_size: int = CHUNK_SIZE
) -> tuple[dict[str, Any], bytes]:
    """Seal a whole attachment at once; return (header, body)."""
    sealer = AttachmentSealer(recipients, chunk_size)
    body = sealer.update(data) + sealer.finish()
    return sealer.header(), body


def _parse_attachment(
    header: object, required_kids: Iterable[str], max_recipients: int
) -> tuple[_Parsed, bytes, int]:
    obj = _fields(header, _ATT_FIELDS, "attachment header")
    base = b64d(obj["base"], BASE_BYTES, field="attachment header field 'base'")
    chunk = _check_chunk_size(obj["chunk"])
    return _parse_common(obj, required_kids, max_recipients, "attachment header"), base, chunk


def validate_attachment_header(
    header: object,
    required_kids: Iterable[str] = (),
    *,
    max_recipients: int = MAX_RECIPIENTS,
    body_length: int | None = None,
) -> dict[str, Any]:
    """Check an attachment header (and the body's length, when given) without a secret key."""
    _, _, chunk = _parse_attachment(header, required_kids, max_recipients)
    if body_length is not None and (body_length <= 0 or body_length % (chunk + MAC_BYTES)):
        raise EnvelopeInvalid("The attachment body has an invalid length.")
    return cast(dict[str, Any], header)


def open_attachment(header: object, body: bytes, sk: bytes) -> bytes:
    """Open a sealed attachment; refuse truncation, reordering and extra data."""
    parsed, base, chunk = _parse_attachment(header, (), MAX_RECIPIENTS)
    sealed_size = chunk + MAC_BYTES
    if not isinstance(body, bytes | bytearray | memoryview) or not body or len(body) % sealed_size:
        raise EnvelopeInvalid("The attachment body has an invalid length.")
    count = len(body) // sealed_size
    if count > 0xFFFFFFFF:
        raise EnvelopeInvalid("The attachment is too large.")
    box = SecretBox(_unwrap_key(parsed, sk))
    out = bytearray()
    for i in range(count):
        last = i == count - 1
        sealed = bytes(body[i * sealed_size : (i + 1) * sealed_size])
        try:
            plain = box.decrypt(sealed, _chunk_nonce(base, i, last))
        except CryptoError:
            raise _chunk_refusal(box, sealed, base, i, last) from None
        (n,) = struct.unpack(">I", plain[:4])
        if n > chunk - 4 or (not last and n != chunk - 4) or plain[4 + n :] != bytes(chunk - 4 - n):
            raise EnvelopeInvalid("An attachment chunk has invalid padding.")
        out += plain[4 : 4 + n]
    return bytes(out)


def _chunk_refusal(
    box: SecretBox, sealed: bytes, base: bytes, i: int, last: bool
) -> EnvelopeInvalid:
    """Name the refusal: does the chunk open with the other last flag?"""
    try:
        box.decrypt(sealed, _chunk_nonce(base, i, not last))
    except CryptoError:
        return EnvelopeInvalid("The attachment is damaged or its chunks are out of order.")
    if last:
        return EnvelopeInvalid("The attachment is truncated.")
    return EnvelopeInvalid("The attachment has data after its last chunk.")


def add_recipient(env: object, holder_sk: bytes, new_sk: bytes) -> dict[str, Any]:
    """Re-wrap for key rotation: whoever holds a key of the envelope adds a wrapped key for a
    new recipient whose secret key she also holds. X25519 is symmetric, so box(k, n, epk,
    new_sk) opens with (new_sk, epk) exactly like a key wrapped by the original sender.
    Works on report envelopes and attachment headers; nothing else in them changes."""
    if isinstance(env, dict) and "base" in env:
        parsed = _parse_attachment(env, (), MAX_RECIPIENTS)[0]
    else:
        parsed = _parse(env, (), MAX_RECIPIENTS)[0]
    obj = cast(dict[str, Any], env)
    k = _unwrap_key(parsed, holder_sk)
    new = PrivateKey(_key32(new_sk, "new secret key"))
    new_kid = kid(bytes(new.public_key))
    if any(w.kid == new_kid for w in parsed.keys):
        return obj
    if len(parsed.keys) >= MAX_RECIPIENTS:
        raise EnvelopeInvalid(f"An envelope can have at most {MAX_RECIPIENTS} recipients.")
    n = nacl.utils.random(NONCE_BYTES)
    wk = Box(new, PublicKey(parsed.epk)).encrypt(k, n).ciphertext
    return {**obj, "keys": [*obj["keys"], {"kid": new_kid, "nonce": b64e(n), "wk": b64e(wk)}]}


# -- staff key wrap ------------------------------------------------------------------------------


def _kek(passphrase: str, salt: bytes, iterations: int) -> bytes:
    if not isinstance(passphrase, str):
        raise EnvelopeInvalid("The passphrase must be text.")
    try:
        secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    except UnicodeEncodeError:
        raise EnvelopeInvalid("The passphrase contains invalid characters.") from None
    return hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, KEY_BYTES)


def _check_iterations(value: object) -> int:
    if type(value) is not int or not MIN_ITERATIONS <= value <= MAX_ITERATIONS:
        raise EnvelopeInvalid("The key wrap has an unsupported iteration count.")
    return value


def wrap_secret_key(
    sk: bytes,
    passphrase: str,
    *,
    iterations: int = ITERATIONS,
    _salt: bytes | None = None,
    _nonce: bytes | None = None,
) -> dict[str, Any]:
    """Wrap a staff secret key under a passphrase (PBKDF2-HMAC-SHA256, then secretbox)."""
    sk = _key32(sk, "secret key")
    if not passphrase:
        raise EnvelopeInvalid("The passphrase must not be empty.")
    salt = _salt or nacl.utils.random(16)
    nonce = _nonce or nacl.utils.random(NONCE_BYTES)
    if len(salt) != 16 or len(nonce) != NONCE_BYTES:
        raise EnvelopeInvalid("The salt must be 16 bytes and the nonce 24 bytes.")
    key = _kek(passphrase, salt, _check_iterations(iterations))
    return {
        "v": VERSION,
        "kdf": KDF,
        "iter": iterations,
        "salt": b64e(salt),
        "nonce": b64e(nonce),
        "wsk": b64e(SecretBox(key).encrypt(sk, nonce).ciphertext),
        "kid": kid(bytes(PrivateKey(sk).public_key)),
    }


def check_key_wrap(wrap: object, pk: bytes, *, min_iterations: int = ITERATIONS) -> dict[str, Any]:
    """Check a new staff key wrap without opening it (the server never has the passphrase):
    the fields and their sizes, an iteration count of at least `min_iterations` (new wraps;
    `unwrap_secret_key` still opens older ones down to MIN_ITERATIONS) and a kid that names
    `pk`. One check, the same bounds as the twins use when they open a wrap."""
    obj = _fields(wrap, _WRAP_FIELDS, "key wrap")
    if obj["kdf"] != KDF:
        raise EnvelopeInvalid("The key wrap uses an unsupported key derivation.")
    iterations = _check_iterations(obj["iter"])
    if iterations < min_iterations:
        raise EnvelopeInvalid(f"The key wrap needs at least {min_iterations} iterations.")
    b64d(obj["salt"], 16, field="key wrap field 'salt'")
    b64d(obj["nonce"], NONCE_BYTES, field="key wrap field 'nonce'")
    b64d(obj["wsk"], KEY_BYTES + MAC_BYTES, field="key wrap field 'wsk'")
    if _check_kid(obj["kid"], "key wrap") != kid(_key32(pk, "public key")):
        raise EnvelopeInvalid("The wrapped key does not belong to this public key.")
    return obj


def unwrap_secret_key(wrap: dict[str, Any], passphrase: str) -> bytes:
    """Recover a staff secret key; a wrong passphrase and a damaged wrap look the same."""
    obj = _fields(wrap, _WRAP_FIELDS, "key wrap")
    if obj["kdf"] != KDF:
        raise EnvelopeInvalid("The key wrap uses an unsupported key derivation.")
    iterations = _check_iterations(obj["iter"])
    salt = b64d(obj["salt"], 16, field="key wrap field 'salt'")
    nonce = b64d(obj["nonce"], NONCE_BYTES, field="key wrap field 'nonce'")
    wsk = b64d(obj["wsk"], KEY_BYTES + MAC_BYTES, field="key wrap field 'wsk'")
    expected = _check_kid(obj["kid"], "key wrap")
    try:
        sk = SecretBox(_kek(passphrase, salt, iterations)).decrypt(wsk, nonce)
    except CryptoError:
        raise EnvelopeInvalid("Wrong passphrase or damaged key.") from None
    if kid(bytes(PrivateKey(sk).public_key)) != expected:
        raise EnvelopeInvalid("Wrong passphrase or damaged key.")
    return sk
