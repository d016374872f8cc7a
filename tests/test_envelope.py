"""The Python envelope against the shared vectors (DESIGN.md section 5), plus its refusals.

No database, no app: reporter.crypto.envelope is pure functions over bytes and dicts.
"""

from __future__ import annotations

import ast
import copy
import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.secret import SecretBox

from reporter.crypto import envelope as E
from reporter.crypto.envelope import (
    AttachmentSealer,
    EnvelopeError,
    EnvelopeInvalid,
    NotARecipient,
    b64d,
    b64e,
    bucket,
    kid,
    open_attachment,
    open_envelope,
    pad,
    seal,
    seal_attachment,
    unpad,
    unwrap_secret_key,
    validate,
    validate_attachment_header,
    wrap_secret_key,
)

ROOT = Path(__file__).resolve().parent.parent
VECTORS: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "envelope-v1.json").read_text())
RECIPIENTS = VECTORS["recipients"]
ENV = VECTORS["envelope"]
PAYLOAD = VECTORS["payload"]
NATIONAL_SK = b64d(RECIPIENTS["national"]["sk"])
NATIONAL_PK = b64d(RECIPIENTS["national"]["pk"])
GAUTENG_SK = b64d(RECIPIENTS["gauteng"]["sk"])
GAUTENG_PK = b64d(RECIPIENTS["gauteng"]["pk"])
OUTSIDER_SK = b64d(RECIPIENTS["not_a_recipient"]["sk"])
# A point of order 8 on Curve25519: multiplying it by any clamped scalar gives zero.
LOW_ORDER = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
FAST = 1_000  # PBKDF2 iterations under test; the vector test alone uses the real 600,000

# Hypothesis: bounded runs, no example database written into the working tree.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def changed(env: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(env)
    out.update(fields)
    return out


def changed_key(env: dict[str, Any], index: int, **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(env)
    out["keys"][index].update(fields)
    return out


# -- known answers ---------------------------------------------------------------------------


def test_seal_reproduces_the_known_answer_envelope_byte_for_byte() -> None:
    inputs = VECTORS["sealing_inputs"]
    env = seal(
        PAYLOAD,
        [NATIONAL_PK, GAUTENG_PK],
        _k=b64d(inputs["k"]),
        _nonce=b64d(inputs["nonce"]),
        _esk=b64d(inputs["esk"]),
        _key_nonces=[b64d(n) for n in inputs["key_nonces"]],
    )
    assert env == ENV
    assert compact(env) == compact(ENV)


@pytest.mark.parametrize("sk", [NATIONAL_SK, GAUTENG_SK], ids=["national", "gauteng"])
def test_each_recipient_opens_the_vector(sk: bytes) -> None:
    assert open_envelope(ENV, sk) == PAYLOAD


def test_an_outsider_is_not_a_recipient() -> None:
    with pytest.raises(NotARecipient):
        open_envelope(ENV, OUTSIDER_SK)


@pytest.mark.parametrize("name", sorted(VECTORS["must_fail"]))
@pytest.mark.parametrize("sk", [NATIONAL_SK, GAUTENG_SK], ids=["national", "gauteng"])
def test_every_must_fail_vector_is_refused(name: str, sk: bytes) -> None:
    bad = VECTORS["must_fail"][name]
    with pytest.raises(EnvelopeInvalid) as refused:
        open_envelope(bad, sk)
    message = str(refused.value)
    # Shown to users: one short sentence, no key material, no plaintext.
    assert message.endswith(".") and len(message) < 100
    for secret in (b64e(sk), sk.hex(), PAYLOAD["narrative"], PAYLOAD["place"]):
        assert secret not in message
    for value in (bad["epk"], bad["kc"], bad["ct"][:16]):
        assert value not in message


@pytest.mark.parametrize(
    ("name", "structural"),
    [
        ("low_order_epk", True),
        ("non_standard_base64", True),
        ("unknown_version", True),
        ("tampered_ct", False),
        ("tampered_all_wk", False),
        ("wrong_key_commitment", False),
        ("non_zero_padding", False),
    ],
)
def test_structural_refusals_need_no_secret_key(name: str, structural: bool) -> None:
    bad = VECTORS["must_fail"][name]
    if structural:
        with pytest.raises(EnvelopeInvalid):
            validate(bad)
    else:
        assert validate(bad) is bad


@pytest.mark.parametrize(
    ("length", "size"), [(c["len"], c["size"]) for c in VECTORS["padding"]["cases"]]
)
def test_padding_vectors(length: int, size: int) -> None:
    data = b"a" * length
    assert bucket(length) == size
    assert len(pad(data)) == size
    assert unpad(pad(data)) == data


@pytest.mark.parametrize("name", ["national", "gauteng"])
def test_kid_vectors(name: str) -> None:
    assert kid(b64d(RECIPIENTS[name]["pk"])) == RECIPIENTS[name]["kid"]


def test_staff_wrap_vector() -> None:
    # The one test at the real 600,000 PBKDF2 iterations: two derivations, about 0.3 s each.
    vector = VECTORS["staff_wrap"]
    sk = unwrap_secret_key(vector["wrap"], vector["passphrase"])
    assert sk == b64d(vector["sk"])
    again = wrap_secret_key(
        sk,
        vector["passphrase"],
        iterations=vector["wrap"]["iter"],
        _salt=b64d(vector["wrap"]["salt"]),
        _nonce=b64d(vector["wrap"]["nonce"]),
    )
    assert again == vector["wrap"]


# -- sizes -----------------------------------------------------------------------------------


def test_short_and_long_narratives_give_envelopes_of_identical_size() -> None:
    def sealed(narrative: str) -> str:
        report = {"categories": ["extortion"], "province": "GP", "when": "2026-10"}
        return compact(seal({**report, "narrative": narrative}, [NATIONAL_PK, GAUTENG_PK]))

    assert len(sealed("x" * 10)) == len(sealed("y" * 900))


@pytest.mark.parametrize(
    ("length", "size"),
    [(0, 1024), (1, 1024), (1020, 1024), (1021, 2048), (E.MAX_PADDED - 4, E.MAX_PADDED)],
)
def test_bucket(length: int, size: int) -> None:
    assert bucket(length) == size


@pytest.mark.parametrize("length", [-1, E.MAX_PADDED - 3, E.MAX_PADDED])
def test_bucket_refuses_what_cannot_be_padded(length: int) -> None:
    with pytest.raises(EnvelopeInvalid, match="too large"):
        bucket(length)


def _padded(n: int, size: int, tail: bytes = b"") -> bytes:
    body = struct.pack(">I", n) + b"a" * min(n, size - 4)
    return (body + tail).ljust(size, b"\0")


@pytest.mark.parametrize(
    ("padded", "message"),
    [
        (b"", "invalid size"),
        (bytes(1023), "invalid size"),
        (bytes(1536), "invalid size"),
        (bytes(2 * E.MAX_PADDED), "invalid size"),
        (_padded(1021, 1024), "length prefix"),
        (_padded(10, 2048), "length prefix"),
        (_padded(0xFFFFFFFF, 1024), "length prefix"),
        (_padded(5, 1024, tail=b"\x01"), "not all zeros"),
    ],
    ids=["empty", "1023", "1536", "2MiB", "over", "wrong-bucket", "huge-prefix", "dirty"],
)
def test_unpad_refusals(padded: bytes, message: str) -> None:
    with pytest.raises(EnvelopeInvalid, match=message):
        unpad(padded)


# -- base64 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["QQ", "QR==", "QQ==QQ==", "Q-==", "Q_==", " QQ==", "QQ==\n", "Q===", "Zm9v\n", "Zé9v"],
)
def test_b64d_is_strict(text: str) -> None:
    with pytest.raises(EnvelopeInvalid, match="not valid standard base64"):
        b64d(text)


@pytest.mark.parametrize("value", [None, 1, b"QQ==", ["QQ=="]])
def test_b64d_refuses_non_strings(value: object) -> None:
    with pytest.raises(EnvelopeInvalid, match="must be a base64 string"):
        b64d(value)  # type: ignore[arg-type]


def test_b64d_checks_length() -> None:
    assert b64d("QUJD", 3) == b"ABC"
    with pytest.raises(EnvelopeInvalid, match="must be 4 bytes long"):
        b64d("QUJD", 4)


# -- structure ------------------------------------------------------------------------------


def _too_many_keys() -> dict[str, Any]:
    keys = [
        {"kid": f"{i:016x}", "nonce": ENV["keys"][0]["nonce"], "wk": ENV["keys"][0]["wk"]}
        for i in range(9)
    ]
    return changed(ENV, keys=keys)


INVALID = [
    ([], "must be a JSON object"),
    ("{}", "must be a JSON object"),
    (changed(ENV, v=2), "version is not supported"),
    (changed(ENV, v=True), "version is not supported"),
    (changed(ENV, v="1"), "version is not supported"),
    (changed(ENV, v=1.0), "version is not supported"),
    ({k: v for k, v in ENV.items() if k != "ct"}, "missing the field 'ct'"),
    (changed(ENV, extra=1), "unexpected field"),
    (changed(ENV, epk=b64e(bytes(32))), "unacceptable ephemeral public key"),
    (changed(ENV, epk=b64e(LOW_ORDER)), "unacceptable ephemeral public key"),
    (changed(ENV, epk=ENV["epk"][:-2] + "=="), "'epk'"),
    (changed(ENV, nonce=b64e(bytes(23))), "'nonce' must be 24 bytes"),
    (changed(ENV, kc=b64e(bytes(31))), "'kc' must be 32 bytes"),
    (changed(ENV, ct=b64e(bytes(1000 + 16))), "invalid length"),
    (changed(ENV, ct=b64e(bytes(1536 + 16))), "invalid length"),
    (changed(ENV, ct=b64e(bytes(512 + 16))), "invalid length"),
    (changed(ENV, ct="A" * (E._MAX_CT_B64 + 4)), "too large"),
    (changed(ENV, ct=5), "must be a base64 string"),
    (changed(ENV, keys=[]), "between 1 and 8 keys"),
    (changed(ENV, keys={}), "between 1 and 8 keys"),
    (_too_many_keys(), "between 1 and 8 keys"),
    (changed(ENV, keys=[ENV["keys"][0], ENV["keys"][0]]), "same kid twice"),
    (changed(ENV, keys=["x"]), "wrapped key must be a JSON object"),
    (changed_key(ENV, 0, kid=ENV["keys"][0]["kid"].upper()), "16 lowercase hex"),
    (changed_key(ENV, 0, kid="c3a020e7"), "16 lowercase hex"),
    (changed_key(ENV, 0, kid=12), "16 lowercase hex"),
    (changed_key(ENV, 0, wk=b64e(bytes(32))), "'wk' must be 48 bytes"),
    (changed_key(ENV, 0, extra="x"), "wrapped key has an unexpected field"),
]


@pytest.mark.parametrize(("env", "message"), INVALID)
def test_validate_refuses_with_a_clear_message(env: object, message: str) -> None:
    with pytest.raises(EnvelopeInvalid, match=message):
        validate(env)
    with pytest.raises(EnvelopeInvalid, match=message):
        open_envelope(env, NATIONAL_SK)


def test_validate_checks_required_kids_and_recipient_limit() -> None:
    national, gauteng = RECIPIENTS["national"]["kid"], RECIPIENTS["gauteng"]["kid"]
    assert validate(ENV, [national, gauteng]) is ENV
    with pytest.raises(EnvelopeInvalid, match="not sealed to the required key 0123456789abcdef"):
        validate(ENV, [national, "0123456789abcdef"])
    with pytest.raises(EnvelopeInvalid, match="between 1 and 1 keys"):
        validate(ENV, max_recipients=1)


def test_kid_is_only_a_hint() -> None:
    env = changed_key(ENV, 0, kid="0123456789abcdef")
    assert open_envelope(env, NATIONAL_SK) == PAYLOAD


def test_our_kid_with_a_foreign_wrapped_key_is_damaged() -> None:
    env = changed_key(ENV, 0, wk=ENV["keys"][1]["wk"], nonce=ENV["keys"][1]["nonce"])
    env["keys"].pop()
    with pytest.raises(EnvelopeInvalid, match="wrapped key for this recipient is damaged"):
        open_envelope(env, NATIONAL_SK)


@pytest.mark.parametrize("sk", [b"", bytes(31), "x" * 32, None])
def test_open_refuses_a_malformed_secret_key(sk: object) -> None:
    with pytest.raises(EnvelopeInvalid, match="secret key must be 32 bytes"):
        open_envelope(ENV, sk)  # type: ignore[arg-type]


def test_open_refuses_content_that_is_not_a_json_object() -> None:
    for data, message in [
        (b"[1]", "not a JSON object"),
        (b"\xff", "not valid JSON"),
        (b"NaN", "not valid JSON"),
        (b'{"a":1', "not valid JSON"),
    ]:
        env = E.seal_bytes(data, [NATIONAL_PK])
        with pytest.raises(EnvelopeInvalid, match=message):
            open_envelope(env, NATIONAL_SK)
        assert E.open_bytes(env, NATIONAL_SK) == data


# -- sealing ----------------------------------------------------------------------------------


def test_seal_round_trip_with_fresh_randomness() -> None:
    one = seal(PAYLOAD, [NATIONAL_PK, GAUTENG_PK])
    two = seal(PAYLOAD, [NATIONAL_PK, GAUTENG_PK])
    assert one["ct"] != two["ct"] and one["epk"] != two["epk"]
    assert validate(one, [kid(NATIONAL_PK), kid(GAUTENG_PK)]) is one
    assert open_envelope(one, GAUTENG_SK) == PAYLOAD


@pytest.mark.parametrize(
    ("payload", "recipients", "message"),
    [
        ([1], [NATIONAL_PK], "must be a JSON object"),
        ({"x": float("nan")}, [NATIONAL_PK], "cannot be written as JSON"),
        ({"x": object()}, [NATIONAL_PK], "cannot be written as JSON"),
        ({"x": "\ud800"}, [NATIONAL_PK], "cannot be written as JSON"),
        ({"x": "a" * E.MAX_PADDED}, [NATIONAL_PK], "too large"),
        ({}, [], "between 1 and 8 recipients"),
        ({}, [NATIONAL_PK] * 2, "listed twice"),
        ({}, [bytes([i]) * 32 for i in range(1, 10)], "between 1 and 8 recipients"),
        ({}, [bytes(32)], "not acceptable"),
        ({}, [LOW_ORDER], "not acceptable"),
        ({}, [NATIONAL_PK[:31]], "must be 32 bytes"),
    ],
    ids="list nan object surrogate huge none twice nine zero low short".split(),
)
def test_seal_refusals(payload: Any, recipients: list[bytes], message: str) -> None:
    with pytest.raises(EnvelopeInvalid, match=message):
        seal(payload, recipients)


# -- attachments ------------------------------------------------------------------------------

SMALL = 1024  # chunk size under test; 1020 data bytes per chunk
SEALED = SMALL + 16


@pytest.mark.parametrize("length", [0, 1, 1019, 1020, 1021, 2040, 3 * 1020 + 7])
def test_attachment_round_trip(length: int) -> None:
    data = bytes(i % 251 for i in range(length))
    header, body = seal_attachment(data, [NATIONAL_PK, GAUTENG_PK], SMALL)
    assert set(header) == {"v", "epk", "kc", "keys", "base", "chunk"} and header["chunk"] == SMALL
    assert len(body) == max(1, -(-length // (SMALL - 4))) * SEALED
    assert validate_attachment_header(header, [kid(GAUTENG_PK)], body_length=len(body)) is header
    assert open_attachment(header, body, NATIONAL_SK) == data
    assert open_attachment(header, body, GAUTENG_SK) == data


def test_attachment_default_chunk_size() -> None:
    data = b"photo" * 20000
    header, body = seal_attachment(data, [NATIONAL_PK])
    assert header["chunk"] == 65536 and len(body) == 2 * (65536 + 16)
    assert open_attachment(header, body, NATIONAL_SK) == data


def test_attachment_sealer_streams() -> None:
    data = bytes(range(256)) * 20
    sealer = AttachmentSealer([NATIONAL_PK], SMALL)
    pieces = [sealer.update(data[i : i + 700]) for i in range(0, len(data), 700)]
    assert all(len(p) % SEALED == 0 for p in pieces) and pieces[0] == b""
    body = b"".join(pieces) + sealer.finish()
    assert open_attachment(sealer.header(), body, NATIONAL_SK) == data
    with pytest.raises(EnvelopeInvalid, match="already finished"):
        sealer.update(b"x")
    with pytest.raises(EnvelopeInvalid, match="already finished"):
        sealer.finish()


@pytest.fixture(scope="module")
def three_chunks() -> tuple[dict[str, Any], bytes]:
    return seal_attachment(b"z" * (3 * 1020), [NATIONAL_PK], SMALL)


def _chunks(body: bytes) -> list[bytes]:
    return [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda c: c[:-1], "truncated"),
        (lambda c: c[:1], "truncated"),
        (lambda c: [c[0], c[2]], "damaged or its chunks are out of order"),
        (lambda c: [c[1], c[0], c[2]], "damaged or its chunks are out of order"),
        (lambda c: [*c, c[0]], "data after its last chunk"),
        (lambda c: [*c, c[2]], "data after its last chunk"),
        (lambda c: [c[0], bytes([c[1][0] ^ 1]) + c[1][1:], c[2]], "damaged"),
    ],
    ids=["drop-last", "first-only", "drop-middle", "swap", "extra", "repeat-last", "bit-flip"],
)
def test_attachment_tampering_is_refused(
    three_chunks: tuple[dict[str, Any], bytes], tamper: Any, message: str
) -> None:
    header, body = three_chunks
    with pytest.raises(EnvelopeInvalid, match=message):
        open_attachment(header, b"".join(tamper(_chunks(body))), NATIONAL_SK)


@pytest.mark.parametrize("extra", [b"", b"x", bytes(SEALED - 1)])
def test_attachment_body_length_is_checked(
    three_chunks: tuple[dict[str, Any], bytes], extra: bytes
) -> None:
    header, body = three_chunks
    bad = extra if not extra else body + extra
    with pytest.raises(EnvelopeInvalid, match="invalid length"):
        open_attachment(header, bad, NATIONAL_SK)
    with pytest.raises(EnvelopeInvalid, match="invalid length"):
        validate_attachment_header(header, body_length=len(bad))


def test_attachment_last_flag_in_the_middle_is_refused() -> None:
    # A sender who knows k seals chunk 0 as "last" and appends more: the reader stops trusting.
    k, base = bytes(range(32)), bytes(16)
    sealer = AttachmentSealer([NATIONAL_PK], SMALL, _k=k, _base=base)
    box = SecretBox(k)
    early_last = struct.pack(">I", 3) + b"abc" + bytes(SMALL - 7)
    then_more = struct.pack(">I", 0) + bytes(SMALL - 4)
    body = (
        box.encrypt(early_last, E._chunk_nonce(base, 0, True)).ciphertext
        + box.encrypt(then_more, E._chunk_nonce(base, 1, True)).ciphertext
    )
    with pytest.raises(EnvelopeInvalid, match="data after its last chunk"):
        open_attachment(sealer.header(), body, NATIONAL_SK)


def test_attachment_chunk_padding_is_checked() -> None:
    k, base = bytes(range(32)), bytes(16)
    sealer = AttachmentSealer([NATIONAL_PK], SMALL, _k=k, _base=base)
    box = SecretBox(k)
    for plain in (
        struct.pack(">I", 3) + b"abc" + b"\x01" + bytes(SMALL - 8),  # dirty padding
        struct.pack(">I", SMALL) + bytes(SMALL - 4),  # longer than a chunk
    ):
        body = box.encrypt(plain, E._chunk_nonce(base, 0, True)).ciphertext
        with pytest.raises(EnvelopeInvalid, match="invalid padding"):
            open_attachment(sealer.header(), body, NATIONAL_SK)
    short = struct.pack(">I", 3) + b"abc" + bytes(SMALL - 7)  # a short chunk that is not last
    body = box.encrypt(short, E._chunk_nonce(base, 0, False)).ciphertext + sealer.finish()
    with pytest.raises(EnvelopeInvalid, match="invalid padding"):
        open_attachment(sealer.header(), body, NATIONAL_SK)


@pytest.mark.parametrize("chunk", [0, 1000, 512, 3 * 1024, 1 << 21, "1024", True])
def test_attachment_chunk_size_is_checked(chunk: Any) -> None:
    with pytest.raises(EnvelopeInvalid, match="chunk size"):
        AttachmentSealer([NATIONAL_PK], chunk)


def test_attachment_header_refusals(three_chunks: tuple[dict[str, Any], bytes]) -> None:
    header, body = three_chunks
    for bad, message in [
        ({**header, "chunk": 2048}, None),
        ({**header, "base": b64e(bytes(12))}, "'base' must be 16 bytes"),
        ({**header, "epk": b64e(bytes(32))}, "unacceptable ephemeral public key"),
        ({k: v for k, v in header.items() if k != "base"}, "missing the field 'base'"),
        ({**header, "nonce": ENV["nonce"]}, "unexpected field"),
        (ENV, "missing the field 'base'"),
    ]:
        with pytest.raises(EnvelopeInvalid, match=message):
            open_attachment(bad, body, NATIONAL_SK)
    with pytest.raises(NotARecipient):
        open_attachment(header, body, GAUTENG_SK)
    with pytest.raises(EnvelopeInvalid, match="required key"):
        validate_attachment_header(header, [kid(GAUTENG_PK)])


# -- staff key wrap ---------------------------------------------------------------------------


def test_wrap_round_trip_and_nfc() -> None:
    sk = bytes(PrivateKey.generate())
    wrap = wrap_secret_key(sk, "se\u00f1ora", iterations=FAST)
    assert wrap["kid"] == kid(bytes(PrivateKey(sk).public_key)) and wrap["iter"] == FAST
    assert unwrap_secret_key(wrap, "se\u00f1ora") == sk
    assert unwrap_secret_key(wrap, "sen\u0303ora") == sk  # decomposed form, same passphrase


@pytest.mark.parametrize(
    ("mutate", "passphrase", "message"),
    [
        (lambda w: w, "wrong", "Wrong passphrase or damaged key."),
        (lambda w: {**w, "kid": "0123456789abcdef"}, "right", "Wrong passphrase or damaged key."),
        (lambda w: {**w, "salt": b64e(bytes(16))}, "right", "Wrong passphrase or damaged key."),
        (lambda w: {**w, "kdf": "argon2id"}, "right", "unsupported key derivation"),
        (lambda w: {**w, "iter": 10}, "right", "unsupported iteration count"),
        (lambda w: {**w, "iter": 10**9}, "right", "unsupported iteration count"),
        (lambda w: {**w, "iter": "1000"}, "right", "unsupported iteration count"),
        (lambda w: {**w, "v": 2}, "right", "version is not supported"),
        (lambda w: {**w, "wsk": w["wsk"][:-4]}, "right", "'wsk' must be 48 bytes"),
        (lambda w: {k: v for k, v in w.items() if k != "kid"}, "right", "missing the field"),
        (lambda w: "x", "right", "must be a JSON object"),
        (lambda w: w, None, "must be text"),
    ],
)
def test_unwrap_refusals(mutate: Any, passphrase: Any, message: str) -> None:
    wrap = wrap_secret_key(NATIONAL_SK, "right", iterations=FAST)
    with pytest.raises(EnvelopeInvalid, match=message):
        unwrap_secret_key(mutate(wrap), passphrase)


def test_wrap_refusals() -> None:
    with pytest.raises(EnvelopeInvalid, match="must not be empty"):
        wrap_secret_key(NATIONAL_SK, "", iterations=FAST)
    with pytest.raises(EnvelopeInvalid, match="secret key must be 32 bytes"):
        wrap_secret_key(NATIONAL_SK[:16], "x", iterations=FAST)
    with pytest.raises(EnvelopeInvalid, match="iteration count"):
        wrap_secret_key(NATIONAL_SK, "x", iterations=1)


# -- the module's boundary ---------------------------------------------------------------------


def test_envelope_module_imports_nothing_from_flask_or_the_database() -> None:
    tree = ast.parse((ROOT / "reporter" / "crypto" / "envelope.py").read_text())
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in reporter/crypto/envelope.py"
            assert node.module is not None
            modules.add(node.module)
    top = {name.split(".")[0] for name in modules}
    app_side = {
        "flask",
        "flask_wtf",
        "werkzeug",
        "sqlalchemy",
        "geoalchemy2",
        "psycopg",
        "reporter",
    }
    assert not top & app_side, top & app_side
    assert top <= set(sys.stdlib_module_names) | {"nacl"}, top


# -- properties -------------------------------------------------------------------------------

B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
FIELD_NAMES = sorted(E._ENV_FIELDS | E._ATT_FIELDS | E._KEY_FIELDS | E._WRAP_FIELDS)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from([ENV["epk"], ENV["nonce"], ENV["kc"], ENV["keys"][0]["wk"], "QQ==", ""]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), children, max_size=7)
    ),
    max_leaves=12,
)


@PROPERTY
@given(JSON_VALUES)
def test_random_json_is_refused_only_with_envelope_errors(obj: object) -> None:
    for check in (
        lambda: validate(obj),
        lambda: open_envelope(obj, NATIONAL_SK),
        lambda: validate_attachment_header(obj),
        lambda: open_attachment(obj, bytes(SEALED), NATIONAL_SK),
        lambda: unwrap_secret_key(obj, "x"),  # type: ignore[arg-type]
    ):
        with pytest.raises(EnvelopeError):
            check()


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    env = copy.deepcopy(ENV)
    for _ in range(draw(st.integers(1, 3))):
        listed = env.get("keys")
        listed = listed if isinstance(listed, list) else []  # a mutation may have replaced it
        containers = [env] + [e for e in listed if isinstance(e, dict)]
        obj = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["replace", "delete", "add", "flip", "cut", "keys"]))
        if action == "add" or not obj:
            obj[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=4))] = draw(JSON_VALUES)
            continue
        field = draw(st.sampled_from(sorted(obj)))
        value = obj[field]
        if action == "replace":
            obj[field] = draw(JSON_VALUES)
        elif action == "delete":
            del obj[field]
        elif action in ("flip", "cut") and isinstance(value, str) and value:
            pos = draw(st.integers(0, len(value) - 1))
            if action == "flip":
                char = draw(st.sampled_from(B64_CHARS + "-_ "))
                obj[field] = value[:pos] + char + value[pos + 1 :]
            else:
                obj[field] = value[:pos]
        elif action == "keys" and isinstance(env.get("keys"), list):
            keys = env["keys"]
            choice = draw(st.sampled_from(["drop", "dup", "reverse"]))
            if choice == "drop" and keys:
                keys.pop(draw(st.integers(0, len(keys) - 1)))
            elif choice == "dup" and keys:
                keys.append(copy.deepcopy(keys[0]))
            else:
                keys.reverse()
    return env


@PROPERTY
@given(mutated_envelopes())
def test_mutated_envelopes_raise_only_envelope_errors(env: dict[str, Any]) -> None:
    for sk in (NATIONAL_SK, GAUTENG_SK, OUTSIDER_SK):
        try:
            opened = open_envelope(env, sk)
        except EnvelopeError:
            continue
        assert opened == PAYLOAD  # whatever still opens must open to the original
    try:
        validate(env)
    except EnvelopeError:
        pass


@PROPERTY
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=50) | st.integers(), max_size=5))
def test_seal_open_round_trip(payload: dict[str, Any]) -> None:
    assert open_envelope(seal(payload, [GAUTENG_PK]), GAUTENG_SK) == payload


@PROPERTY
@given(st.binary(max_size=3000))
def test_pad_unpad_round_trip(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) == bucket(len(data)) and unpad(padded) == data


@PROPERTY
@given(st.binary(max_size=4000), st.lists(st.integers(1, 1500), max_size=8))
def test_attachment_stream_round_trip(data: bytes, cuts: list[int]) -> None:
    sealer = AttachmentSealer([NATIONAL_PK], SMALL)
    body, pos = b"", 0
    for cut in cuts:
        body += sealer.update(data[pos : pos + cut])
        pos += cut
    body += sealer.update(data[pos:]) + sealer.finish()
    assert len(body) == max(1, -(-len(data) // (SMALL - 4))) * SEALED
    assert open_attachment(sealer.header(), body, NATIONAL_SK) == data


@PROPERTY
@given(st.data())
def test_mutated_attachment_bodies_raise_only_envelope_errors(
    three_chunks: tuple[dict[str, Any], bytes], data: st.DataObject
) -> None:
    header, body = three_chunks
    mutable = bytearray(body)
    action = data.draw(st.sampled_from(["flip", "cut", "append", "splice"]))
    if action == "flip":
        mutable[data.draw(st.integers(0, len(body) - 1))] ^= data.draw(st.integers(1, 255))
    elif action == "cut":
        del mutable[data.draw(st.integers(0, len(body) - 1)) :]
    elif action == "append":
        mutable += data.draw(st.binary(min_size=1, max_size=SEALED + 1))
    else:
        start = data.draw(st.integers(0, len(body) - 1))
        mutable[start:start] = body[: data.draw(st.integers(1, SEALED))]
    with pytest.raises(EnvelopeError):
        open_attachment(header, bytes(mutable), NATIONAL_SK)


def test_add_recipient_rewraps_for_a_new_key() -> None:
    from nacl.public import PrivateKey

    a, b, c = (PrivateKey.generate() for _ in range(3))
    env = E.seal({"x": 1}, [bytes(a.public_key)])
    env2 = E.add_recipient(env, bytes(a), bytes(c))
    assert E.open_envelope(env2, bytes(c)) == {"x": 1}
    assert {k: v for k, v in env2.items() if k != "keys"} == {
        k: v for k, v in env.items() if k != "keys"
    }
    assert E.add_recipient(env2, bytes(a), bytes(c)) == env2  # idempotent
    with pytest.raises(E.NotARecipient):
        E.add_recipient(env, bytes(b), bytes(c))  # only a holder can re-wrap
    header, body = E.seal_attachment(b"photo", [bytes(a.public_key)])
    header2 = E.add_recipient(header, bytes(a), bytes(c))
    assert E.open_attachment(header2, body, bytes(c)) == b"photo"
