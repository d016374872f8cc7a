"""The JavaScript payload twin (reporter/static/js/payload.js) under node: every shared vector of
tests/data/payload-v1.json gives the same verdict and the same refusal reason as
reporter/domain/payload.py, and make() builds byte for byte what make_payload builds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reporter.domain import payload as P
from reporter.domain import vocabulary

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tests" / "js" / "payload_check.js"
VECTORS: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "payload-v1.json").read_text())
NODE = shutil.which("node")
VOCAB = {
    "categories": sorted(vocabulary.CATEGORY_VALUES),
    "perpetrators": sorted(vocabulary.PERPETRATOR_VALUES),
    "provinces": sorted(vocabulary.PROVINCES),
}

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# make_payload's keyword arguments, as payload.js make() takes them (one object)
MAKE: list[dict[str, Any]] = [
    {
        "categories": ["extortion", "confiscation"],
        "perpetrators": ["saps"],
        "year": 2026,
        "month": 11,
        "province": "GP",
        "narrative": "Two officers took my money.",
        "language": "zu",
        "channel": "web-js",
    },
    {
        "categories": ["physical_assault"],
        "perpetrators": ["client", "unknown"],
        "year": 2025,
        "month": 2,
        "day": 28,
        "province": "KZN",
        "town_id": 3,
        "town": "Durban",
        "place_text": "  near the rank ",
        "pin": {"lat": -29.85868, "lon": 31.02184},
        "narrative": 'Ukuhlukunyezwa — ثبت — 🚓 "quoted" \\ \n\t\u2028 ' * 20,
        "perpetrator_details": "tall, 🚓",
        "consent_contact": True,
        "consent_legal": True,
        "language": "en",
        "channel": "outreach",
        "source": "outreach",
    },
    {
        "categories": [],
        "perpetrators": [],
        "year": 2026,
        "month": None,
        "province": "WC",
        "narrative": "x" * 5000,
        "channel": "helpline",
        "source": "helpline",
        "callback_phone": "+27821234567",
    },
    {
        "categories": ["nope"],
        "perpetrators": [],
        "year": 2026,
        "month": 1,
        "province": "GP",
        "narrative": "",
    },
    {
        "categories": [],
        "perpetrators": [],
        "year": 2026,
        "month": 2,
        "day": 30,
        "province": "GP",
        "narrative": "",
    },
    {
        "categories": [],
        "perpetrators": [],
        "year": 2026,
        "month": 1,
        "province": "GP",
        "narrative": "",
        "channel": "web-js",
        "source": "meeting",
    },
]


def run_node(vocab: dict[str, list[str]] = VOCAB) -> dict[str, Any]:
    done = subprocess.run(
        [str(NODE), str(CHECK)],
        input=json.dumps({"vocabulary": vocab, "vectors": VECTORS, "make": MAKE}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    return run_node()


def test_every_valid_vector_passes_in_javascript(js: dict[str, Any]) -> None:
    assert len(js["valid"]) == len(VECTORS["valid"]) > 0
    assert [r for r in js["valid"] if r["reason"] is not None] == []


def test_every_invalid_vector_is_refused_for_the_python_reason(js: dict[str, Any]) -> None:
    got = {r["name"]: r["reason"] for r in js["invalid"]}
    python = {}
    for case in VECTORS["invalid"]:
        with pytest.raises(P.PayloadInvalid) as info:
            P.check_payload(case["payload"])
        python[case["name"]] = info.value.reason
    assert got == python == {c["name"]: c["reason"] for c in VECTORS["invalid"]}


def python_make(fields: dict[str, Any]) -> dict[str, Any]:
    args = dict(fields)
    args.setdefault("month", None)
    try:
        return P.make_payload(**args)
    except P.PayloadInvalid as exc:
        return {"reason": exc.reason}


def test_make_builds_byte_for_byte_what_make_payload_builds(js: dict[str, Any]) -> None:
    for fields, made, size in zip(MAKE, js["made"], js["sizes"], strict=True):
        expected = python_make(fields)
        assert made == expected, fields
        if "reason" not in expected:  # same serialisation, same floor, same order of keys
            compact = json.dumps(expected, separators=(",", ":"), ensure_ascii=False)
            assert json.dumps(made, separators=(",", ":"), ensure_ascii=False) == compact
            assert list(made) == list(expected)
            assert size == P.compact_size(expected) >= P.PAYLOAD_FLOOR


def test_the_check_can_fail_a_smaller_vocabulary_refuses_valid_vectors() -> None:
    # Given a vocabulary without "saps"
    vocab = {**VOCAB, "perpetrators": [p for p in VOCAB["perpetrators"] if p != "saps"]}
    # When the valid vectors run against it
    out = run_node(vocab)
    # Then those naming SAPS are refused for their perpetrators
    refused = {r["name"]: r["reason"] for r in out["valid"] if r["reason"]}
    assert refused and set(refused.values()) == {"perpetrators"}


def test_the_pages_build_their_payloads_through_payload_js() -> None:
    js_dir = ROOT / "reporter" / "static" / "js"
    for name in ("report.js", "staff_intake.js"):
        source = (js_dir / name).read_text()
        assert "ReporterPayload.make(" in source or "P.make(" in source, name
        assert "withFloor(" not in source.replace("P.withFloor(", ""), name


def test_both_twins_keep_an_attachment_name_and_type_alike(js: dict[str, Any]) -> None:
    # the same path stripping, printable filter, trimming and first-100 rule in both twins
    names = VECTORS["attachment_names"]
    assert js["names"] == [c["name"] for c in names] == [P.attachment_name(c["in"]) for c in names]
    types = VECTORS["attachment_types"]
    assert js["types"] == [c["type"] for c in types] == [P.attachment_type(c["in"]) for c in types]
    assert all(len(n) <= 100 for n in js["names"])
