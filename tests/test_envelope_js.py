"""The JavaScript envelope (reporter/static/js/envelope.js) under node: the shared vectors, and
envelopes, attachments and key wraps crossing between the two languages in both directions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from reporter.crypto.envelope import (
    EnvelopeError,
    EnvelopeInvalid,
    b64d,
    b64e,
    open_attachment,
    open_envelope,
    seal,
    seal_attachment,
    unwrap_secret_key,
    validate,
    validate_attachment_header,
    wrap_secret_key,
)

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tests" / "js" / "envelope_check.js"
VECTORS_FILE = ROOT / "tests" / "data" / "envelope-v1.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text())
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed, so the JavaScript envelope cannot be checked"
)

PAYLOAD = {
    "categories": ["physical_assault"],
    "province": "WC",
    "narrative": 'Ukuhlukunyezwa — ثبت — 🚓 "quoted" \\ \n\t\u0001 \u2028',
    "n": 3,
    "consent": {"contact": True, "legal": False},
    "pin": None,
}
ATTACHMENTS = [b"", b"\x00" * 1020, bytes(range(256)) * 13]


def node(*args: str, stdin: str | None = None) -> Any:
    assert (ROOT / "node_modules" / "tweetnacl").is_dir(), "run `npm ci` to install tweetnacl"
    done = subprocess.run(
        [str(NODE), str(CHECK), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ops(*operations: dict[str, Any]) -> list[Any]:
    results = node("ops", stdin=json.dumps(list(operations)))
    for result in results:
        assert result["ok"], f"{result['name']}: {result['message']}"
    return [result["result"] for result in results]


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[bytes, bytes]]:
    made = {name: PrivateKey.generate() for name in ("national", "province", "recovery")}
    return {name: (bytes(sk), bytes(sk.public_key)) for name, sk in made.items()}


@pytest.fixture(scope="module")
def js_report() -> dict[str, Any]:
    # Includes the real 600,000-iteration PBKDF2 twice in WebCrypto: about 1 s in all.
    return node("vectors", str(VECTORS_FILE))


def test_js_passes_the_vectors(js_report: dict[str, Any]) -> None:
    report = js_report
    assert report["ok"]
    assert "seal reproduces the known-answer envelope" in report["checks"]
    assert len([c for c in report["checks"] if c.startswith("must_fail ")]) == 2 * len(
        VECTORS["must_fail"]
    )


def test_js_and_python_refuse_the_must_fail_vectors_with_the_same_message(
    js_report: dict[str, Any],
) -> None:
    messages = js_report["must_fail_messages"]
    national = b64d(VECTORS["recipients"]["national"]["sk"])
    for name, env in VECTORS["must_fail"].items():
        with pytest.raises(EnvelopeInvalid) as refused:
            open_envelope(env, national)
        assert str(refused.value) == messages[name], name


def test_python_seals_and_js_opens(keys: dict[str, tuple[bytes, bytes]]) -> None:
    pks = [pk for _, pk in keys.values()]
    env = seal(PAYLOAD, pks)
    sealed = [seal_attachment(data, pks, 1024) for data in ATTACHMENTS]
    sealed.append(seal_attachment(b"big" * 30000, pks))
    for sk, _ in keys.values():
        results = ops(
            {"op": "open", "env": env, "sk": b64e(sk)},
            *(
                {"op": "open_attachment", "header": h, "body": b64e(body), "sk": b64e(sk)}
                for h, body in sealed
            ),
        )
        assert results[0] == PAYLOAD
        assert [b64d(r) for r in results[1:]] == [*ATTACHMENTS, b"big" * 30000]


def test_js_seals_and_python_opens(keys: dict[str, tuple[bytes, bytes]]) -> None:
    pks = [b64e(pk) for _, pk in keys.values()]
    env, *attachments = ops(
        {"op": "seal", "payload": PAYLOAD, "pks": pks},
        *(
            {"op": "seal_attachment", "data": b64e(d), "pks": pks, "chunk": 1024}
            for d in ATTACHMENTS
        ),
    )
    kids = [k["kid"] for k in env["keys"]]
    assert validate(env, kids) is env
    for sk, _ in keys.values():
        assert open_envelope(env, sk) == PAYLOAD
        for sealed, data in zip(attachments, ATTACHMENTS, strict=True):
            body = b64d(sealed["body"])
            validate_attachment_header(sealed["header"], kids, body_length=len(body))
            assert open_attachment(sealed["header"], body, sk) == data


def test_js_and_python_seal_the_same_bytes() -> None:
    # Same inputs, same JSON serialisation: both twins produce one envelope for a report.
    vector = VECTORS["envelope"]
    recipients = VECTORS["recipients"]
    opened = ops({"op": "open", "env": vector, "sk": recipients["gauteng"]["sk"]})[0]
    assert json.dumps(opened, separators=(",", ":"), ensure_ascii=False) == json.dumps(
        VECTORS["payload"], separators=(",", ":"), ensure_ascii=False
    )


def test_key_wraps_cross_both_ways(keys: dict[str, tuple[bytes, bytes]]) -> None:
    sk = keys["national"][0]
    py_wrap = wrap_secret_key(sk, "señora ✓", iterations=1000)
    js_wrap, unwrapped = ops(
        {"op": "wrap", "sk": b64e(sk), "passphrase": "señora ✓", "iterations": 1000},
        {"op": "unwrap", "wrap": py_wrap, "passphrase": "señora ✓"},
    )
    assert b64d(unwrapped) == sk
    assert js_wrap["kid"] == py_wrap["kid"] and js_wrap["iter"] == 1000
    assert unwrap_secret_key(js_wrap, "señora ✓") == sk


def test_js_refusals_are_named_errors(keys: dict[str, tuple[bytes, bytes]]) -> None:
    sk, pk = keys["national"]
    outsider = b64e(keys["recovery"][0])
    env = seal(PAYLOAD, [pk])
    header, body = seal_attachment(b"x" * 3000, [pk], 1024)
    results = node(
        "ops",
        stdin=json.dumps(
            [
                {"op": "open", "env": env, "sk": outsider},
                {"op": "open", "env": {**env, "ct": env["ct"].replace("=", "")}, "sk": b64e(sk)},
                {
                    "op": "open_attachment",
                    "header": header,
                    "body": b64e(body[:-1040]),
                    "sk": b64e(sk),
                },
                {
                    "op": "unwrap",
                    "wrap": wrap_secret_key(sk, "a", iterations=1000),
                    "passphrase": "b",
                },
            ]
        ),
    )
    assert [(r["ok"], r["name"]) for r in results] == [
        (False, "NotARecipient"),
        (False, "EnvelopeInvalid"),
        (False, "EnvelopeInvalid"),
        (False, "EnvelopeInvalid"),
    ]
    assert results[2]["message"] == "The attachment is truncated."
    assert results[3]["message"] == "Wrong passphrase or damaged key."


def _bad_envelopes() -> list[tuple[str, object]]:
    env = VECTORS["envelope"]
    key = env["keys"][0]
    return [
        ("list", []),
        ("v2", {**env, "v": 2}),
        ("v-true", {**env, "v": True}),
        ("missing", {k: v for k, v in env.items() if k not in ("ct", "kc")}),
        ("extra", {**env, "x": None}),
        ("zero-epk", {**env, "epk": b64e(bytes(32))}),
        ("short-nonce", {**env, "nonce": b64e(bytes(23))}),
        ("urlsafe", {**env, "kc": env["kc"].replace("/", "_")}),
        ("unpadded", {**env, "nonce": env["nonce"] + "AA"}),
        ("ct-size", {**env, "ct": b64e(bytes(1500))}),
        ("no-keys", {**env, "keys": []}),
        ("dup-kid", {**env, "keys": [key, key]}),
        ("kid-case", {**env, "keys": [{**key, "kid": key["kid"].upper()}]}),
        ("wk-size", {**env, "keys": [{**key, "wk": b64e(bytes(47))}]}),
        ("key-extra", {**env, "keys": [{**key, "x": 1}]}),
    ]


def test_js_and_python_refuse_malformed_envelopes_with_the_same_message() -> None:
    cases = _bad_envelopes()
    results = node("ops", stdin=json.dumps([{"op": "validate", "env": e} for _, e in cases]))
    for (name, env), result in zip(cases, results, strict=True):
        with pytest.raises(EnvelopeError) as refused:
            validate(env)
        assert not result["ok"], name
        assert (result["name"], result["message"]) == ("EnvelopeInvalid", str(refused.value)), name


def test_js_add_recipient_opens_in_python() -> None:
    """Key rotation's re-wrap, done by the browser, opens with the new key in Python."""
    import shutil
    import subprocess

    from nacl.public import PrivateKey

    from reporter.crypto import envelope as E

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    old, new = PrivateKey.generate(), PrivateKey.generate()
    env = E.seal({"narrative": "rotate me"}, [bytes(old.public_key)])
    header, body = E.seal_attachment(b"file bytes", [bytes(old.public_key)])
    root = Path(__file__).resolve().parent.parent
    script = (
        "const nacl = require(process.argv[1] + '/node_modules/tweetnacl');"
        "const E = require(process.argv[1] + '/reporter/static/js/envelope.js');"
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const d = (s) => E.b64decode(s, 32);"
        "console.log(JSON.stringify({env: E.addRecipient(input.env, d(input.old), d(input.new)),"
        " header: E.addRecipient(input.header, d(input.old), d(input.new))}));"
    )
    out = subprocess.run(
        [node, "-e", script, str(root)],
        check=True,
        capture_output=True,
        text=True,
        input=json.dumps(
            {"env": env, "header": header, "old": E.b64e(bytes(old)), "new": E.b64e(bytes(new))}
        ),
    )
    result = json.loads(out.stdout)
    assert E.open_envelope(result["env"], bytes(new)) == {"narrative": "rotate me"}
    assert E.open_attachment(result["header"], body, bytes(new)) == b"file bytes"
