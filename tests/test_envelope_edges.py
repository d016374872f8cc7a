"""The Python twin runs the same edge vectors as the JavaScript twin
(tests/data/envelope-edges-v1.json, tests/test_envelope_edges_js.py): payloads with NaN or
Infinity, attachments whose chunk count is wrong, key wraps with an iteration count out of
bounds; each refusal has the same message in both twins. And the one check of a new staff key
wrap (`check_key_wrap`, used by /keys/setup) keeps the envelope's bounds, with the higher floor
for new wraps."""

from __future__ import annotations

import hashlib
import json
import mmap
from pathlib import Path
from typing import Any

import pytest
from nacl.secret import SecretBox

from reporter.crypto import envelope as E

VECTORS = json.loads((Path(__file__).parent / "data" / "envelope-edges-v1.json").read_text())


def numbers(obj: Any) -> Any:
    """Decode {"$number": "NaN"} and friends (JSON has no NaN) into floats."""
    if isinstance(obj, dict):
        if set(obj) == {"$number"}:
            return float(obj["$number"])
        return {k: numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [numbers(v) for v in obj]
    return obj


RECIPIENT = VECTORS["recipient"]


@pytest.mark.parametrize("name", sorted(VECTORS["seal_must_fail"]))
def test_a_payload_that_is_not_json_is_refused(name: str) -> None:
    case = VECTORS["seal_must_fail"][name]
    with pytest.raises(E.EnvelopeInvalid) as refused:
        E.seal(numbers(case["payload"]), [E.b64d(RECIPIENT["pk"])])
    assert str(refused.value) == case["error"]


def test_finite_numbers_seal_and_open() -> None:
    payload = VECTORS["seal_must_succeed"]["finite_numbers"]["payload"]
    env = E.seal(payload, [E.b64d(RECIPIENT["pk"])])
    assert E.open_envelope(env, E.b64d(RECIPIENT["sk"])) == payload


def open_attachment(body: Any) -> bytes:
    att = VECTORS["attachment"]
    return E.open_attachment(att["header"], body, E.b64d(RECIPIENT["sk"]))


def test_the_valid_attachment_opens() -> None:
    att = VECTORS["attachment"]
    assert open_attachment(E.b64d(att["body"])) == E.b64d(att["data"])


@pytest.mark.parametrize("name", sorted(VECTORS["attachment_must_fail"]))
def test_an_attachment_with_a_wrong_chunk_count_is_refused(name: str) -> None:
    case = VECTORS["attachment_must_fail"][name]
    with pytest.raises(E.EnvelopeInvalid) as refused:
        open_attachment(E.b64d(case["body"]) if case["body"] else b"")
    assert str(refused.value) == case["error"]


@pytest.mark.parametrize("name", sorted(VECTORS["attachment_length_must_fail"]["cases"]))
def test_a_body_too_large_for_its_nonces_is_refused_from_its_length(
    tmp_path: Path, name: str
) -> None:
    case = VECTORS["attachment_length_must_fail"]["cases"][name]
    # a sparse file of that length: the bytes are never held, only mapped
    sparse = tmp_path / "body"
    with sparse.open("wb") as fh:
        fh.truncate(case["body_length"])
    with sparse.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            with pytest.raises(E.EnvelopeInvalid) as refused:
                open_attachment(view)
        finally:
            view.release()
    assert str(refused.value) == case["error"]


STAFF = VECTORS["staff_wrap"]


def test_the_staff_wrap_opens_at_the_minimum() -> None:
    assert E.unwrap_secret_key(STAFF["wrap"], STAFF["passphrase"]) == E.b64d(STAFF["sk"])


@pytest.mark.parametrize("name", sorted(VECTORS["wrap_must_fail"]["cases"]))
def test_a_wrap_with_an_unsupported_iteration_count_is_refused(name: str) -> None:
    case = VECTORS["wrap_must_fail"]["cases"][name]
    with pytest.raises(E.EnvelopeInvalid) as refused:
        E.unwrap_secret_key(case["wrap"], STAFF["passphrase"])
    assert str(refused.value) == case["error"]
    if "derived_with" in case:  # it was really made that way: only the count refuses it
        wrap = case["wrap"]
        key = hashlib.pbkdf2_hmac(
            "sha256", STAFF["passphrase"].encode(), E.b64d(wrap["salt"]), case["derived_with"], 32
        )
        assert SecretBox(key).decrypt(E.b64d(wrap["wsk"]), E.b64d(wrap["nonce"])) == E.b64d(
            STAFF["sk"]
        )


def staff_pk() -> bytes:
    from nacl.public import PrivateKey

    return bytes(PrivateKey(E.b64d(STAFF["sk"])).public_key)


def test_a_new_wrap_needs_the_full_iteration_count_and_its_own_key() -> None:
    pk = staff_pk()
    # the vector's wrap is valid for opening (1,000) but too weak to be stored as new
    with pytest.raises(E.EnvelopeInvalid, match="at least 600000 iterations"):
        E.check_key_wrap(STAFF["wrap"], pk)
    assert E.check_key_wrap(STAFF["wrap"], pk, min_iterations=1_000) == STAFF["wrap"]
    strong = E.wrap_secret_key(E.b64d(STAFF["sk"]), STAFF["passphrase"])
    assert E.check_key_wrap(strong, pk) == strong
    # above the envelope's maximum: neither twin could open it, so it is never stored
    too_many = VECTORS["wrap_must_fail"]["cases"]
    above = [c["wrap"] for c in too_many.values() if c["wrap"]["iter"] == 10_000_001]
    assert above
    with pytest.raises(E.EnvelopeInvalid, match="unsupported iteration count"):
        E.check_key_wrap(above[0], pk)
    # another key's wrap, a missing field
    other = E.wrap_secret_key(bytes(range(32)), "x", iterations=600_000)
    with pytest.raises(E.EnvelopeInvalid, match="does not belong"):
        E.check_key_wrap(other, pk)
    with pytest.raises(E.EnvelopeInvalid, match="missing the field 'wsk'"):
        E.check_key_wrap({k: v for k, v in strong.items() if k != "wsk"}, pk)
