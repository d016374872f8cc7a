"""Checking a bundle: the signature over manifest.json, then every file against its hash.

verify_bundle names every problem it finds (bad signature, a changed, missing or extra file,
a malformed manifest) and returns an empty list only when everything holds. Nothing is
extracted to disk: members are read as streams and hashed, after limits on their number, their
total unpacked size and their compression ratio have been checked (a zip bomb is refused
before a byte of it is inflated), and the unpacked bytes are counted again while reading, since
a zip's declared sizes are only claims.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from reporter.export.bundle import MANIFEST, SIGNATURE


class BundleRefused(ValueError):
    """The upload is not a zip, or unpacking it would exceed the limits (not checked at all)."""


class BundleTooLarge(BundleRefused):
    """Unpacking the zip would exceed the limits (too many files, too large, a zip bomb)."""


@dataclass(frozen=True)
class Limits:
    max_members: int = 32
    max_total: int = 4 * 1024**3  # bytes unpacked, all members together
    max_ratio: int = 200  # unpacked / packed, per member (deflate reaches ~1000 on a bomb)


# the public page: bundles of aggregates are a few MB; casework bundles of many rows are
# checked offline (`export verify`, or the steps shown on /verify and in docs/exports.md)
# (a media bundle is about 1 MB unpacked; 32 MB leaves room and bounds the work per check)
WEB_LIMITS = Limits(max_total=32 * 1024**2, max_ratio=100)
CHUNK = 1 << 20


def _open(data: bytes | IO[bytes], limits: Limits) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes | bytearray) else data)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleRefused("this is not a zip file") from exc
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise BundleTooLarge(f"the zip holds more than {limits.max_members} files")
    total = 0
    for info in infos:
        total += info.file_size
        packed = max(info.compress_size, 1)
        if info.file_size > 1024 and info.file_size / packed > limits.max_ratio:
            raise BundleTooLarge(
                f"{info.filename!r} would unpack to more than "
                f"{limits.max_ratio} times its packed size (a zip bomb?)"
            )
    if total > limits.max_total:
        raise BundleTooLarge(
            f"the files would unpack to more than {limits.max_total // 1024**2} MB"
        )
    return zf


def _read_all(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    with zf.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise BundleTooLarge(f"{info.filename!r} is larger than it says")
    return data


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise BundleTooLarge("the files unpack to more than they say")
            digest.update(chunk)
    return digest.hexdigest(), size


def _manifest_problems(manifest: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    if not isinstance(manifest, dict):
        return {}, ["manifest.json is malformed: it is not a JSON object"]
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return {}, ["manifest.json is malformed: it lists no files"]
    problems = []
    good: dict[str, dict[str, Any]] = {}
    for name, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if (
            not isinstance(digest, str)
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            problems.append(f"manifest.json is malformed: no valid SHA-256 for {name!r}")
        elif name in (MANIFEST, SIGNATURE):
            problems.append(f"manifest.json is malformed: it lists {name!r}")
        else:
            good[name] = entry
    return good, problems


def verify_bundle(
    data: bytes | IO[bytes], public_key: VerifyKey, limits: Limits | None = None
) -> list[str]:
    """Every problem with the bundle, in plain words; [] when the signature and every hash
    hold. Raises BundleRefused when the upload is not a zip or is over the limits."""
    limits = limits or Limits()
    zf = _open(data, limits)
    problems: list[str] = []
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in members:
            problems.append(f"the zip holds {info.filename!r} twice")
        members[info.filename] = info
    if MANIFEST not in members:
        return [*problems, "manifest.json is missing: nothing in this bundle can be checked"]
    try:
        body = _read_all(zf, members[MANIFEST], 4 * 1024**2)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        return [*problems, "manifest.json is damaged (the zip cannot unpack it)"]
    if SIGNATURE not in members:
        problems.append("manifest.sig is missing: the bundle is not signed")
    else:
        try:
            sig = base64.b64decode(_read_all(zf, members[SIGNATURE], 1024).strip(), validate=True)
            if len(sig) != 64:
                raise ValueError("length")
            public_key.verify(body, sig)
        except (binascii.Error, ValueError, zipfile.BadZipFile, zlib.error, EOFError):
            problems.append("manifest.sig is malformed (not a base64 Ed25519 signature)")
        except BadSignatureError:
            problems.append(
                "bad signature: manifest.sig does not match manifest.json under "
                "this key (the manifest was changed, or another key signed it)"
            )
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return [*problems, "manifest.json is malformed: it is not valid JSON"]
    listed, malformed = _manifest_problems(manifest)
    problems += malformed
    budget = [limits.max_total]
    for name, entry in sorted(listed.items()):
        member = members.get(name)
        if member is None:
            problems.append(f"missing file: {name} is listed in the manifest but not in the zip")
            continue
        try:
            digest, size = _hash_member(zf, member, budget)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            problems.append(f"{name} is damaged: the zip cannot unpack it")
            continue
        if digest != entry["sha256"]:
            problems.append(f"changed file: {name} does not match its SHA-256 in the manifest")
        elif isinstance(entry.get("bytes"), int) and entry["bytes"] != size:
            problems.append(f"changed file: {name} is not the size the manifest says")
    for name in sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"extra file: {name} is not listed in the manifest")
    return problems


def read_manifest(data: bytes | IO[bytes], limits: Limits | None = None) -> dict[str, Any] | None:
    """The manifest's content, for showing what a bundle claims (not a verification)."""
    zf = _open(data, limits or Limits())
    try:
        info = zf.getinfo(MANIFEST)
        value = json.loads(_read_all(zf, info, 4 * 1024**2).decode("utf-8"))
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
