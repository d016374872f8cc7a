"""The JavaScript envelope (reporter/static/js/envelope.js) under node against the edge vectors
(tests/data/envelope-edges-v1.json): payloads with NaN or Infinity are refused by seal, an
attachment whose chunk count is wrong is refused by openAttachment, and a key wrap whose PBKDF2
iteration count is outside 1,000..10,000,000 is refused by unwrapSecretKey, each with the
message the vectors give (the Python twin's). Driven through tests/js/envelope_edges_check.js,
as tests/test_envelope_js.py drives tests/js/envelope_check.js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tests" / "js" / "envelope_edges_check.js"
VECTORS_FILE = ROOT / "tests" / "data" / "envelope-edges-v1.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text())
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed, so the JavaScript envelope cannot be checked"
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    assert (ROOT / "node_modules" / "tweetnacl").is_dir(), "run `npm ci` to install tweetnacl"
    done = subprocess.run(
        [str(NODE), str(CHECK), str(VECTORS_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _expected(group: str) -> dict[str, dict[str, Any]]:
    cases = VECTORS[group]
    return cases["cases"] if "cases" in cases else cases


def _assert_refused(report: dict[str, Any], group: str) -> None:
    expected = _expected(group)
    got = report["refusals"][group]
    assert sorted(got) == sorted(expected), group
    for name, case in expected.items():
        assert got[name] == {"name": "EnvelopeInvalid", "message": case["error"]}, name


def test_the_vectors_controls_open_in_js(report: dict[str, Any]) -> None:
    # the same key, header and passphrase work: each refusal below is for its one edge only
    assert report["controls"] == {
        "recipient_kid": True,
        "seal finite_numbers": True,
        "attachment opens": True,
        "staff wrap opens": True,
    }


def test_js_seal_refuses_nan_and_infinity(report: dict[str, Any]) -> None:
    assert len(VECTORS["seal_must_fail"]) >= 3
    _assert_refused(report, "seal_must_fail")


def test_js_open_attachment_refuses_a_wrong_chunk_count(report: dict[str, Any]) -> None:
    _assert_refused(report, "attachment_must_fail")


def test_js_open_attachment_refuses_2_to_the_32_chunks_from_the_length(
    report: dict[str, Any],
) -> None:
    (case,) = _expected("attachment_length_must_fail").values()
    assert case["body_length"] == (1024 + 16) * 2**32
    _assert_refused(report, "attachment_length_must_fail")


def test_js_unwrap_refuses_iteration_counts_outside_the_envelope_range(
    report: dict[str, Any],
) -> None:
    _assert_refused(report, "wrap_must_fail")
    cases = _expected("wrap_must_fail")
    made = {name for name, case in cases.items() if "derived_with" in case}
    assert made == {"iter_999", "iter_1"}
    # those wraps are real: with the count allowed they would open to the staff key
    assert report["opens_if_allowed"] == dict.fromkeys(made, True)
