"""The report payload schema (reporter/domain/payload.py) against the shared vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reporter.domain import payload as P
from reporter.models.private import CHANNELS

VECTORS = json.loads((Path(__file__).parent / "data" / "payload-v1.json").read_text())


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_valid_vectors_pass(case: dict) -> None:
    assert P.check_payload(case["payload"]) is case["payload"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_vectors_are_refused_for_their_reason(case: dict) -> None:
    with pytest.raises(P.PayloadInvalid) as info:
        P.check_payload(case["payload"])
    assert info.value.reason == case["reason"]


def test_vectors_cover_every_field_and_reason() -> None:
    reasons = {c["reason"] for c in VECTORS["invalid"]}
    assert set(P.FIELDS) - {"v"} - reasons <= {"language"} | reasons
    assert {
        "version",
        "unknown_field",
        "missing_field",
        "not_object",
        "channel",
        "source",
        "callback",
    } <= reasons
    assert all(P.compact_size(c["payload"]) >= VECTORS["floor"] for c in VECTORS["valid"])


def test_make_payload_builds_what_check_accepts_with_the_floor() -> None:
    p = P.make_payload(
        categories=["extortion"],
        perpetrators=["saps"],
        year=2026,
        month=None,
        province="KZN",
        narrative="short",
        language="zu",
        channel="ussd",
        callback_phone="+27821234567",
    )
    assert P.compact_size(p) == P.PAYLOAD_FLOOR
    assert p["when"] == {"year": 2026, "month": None, "day": None}
    assert p["callback"] == {"phone": "+27821234567"} and p["channel"] == "ussd"
    plain = P.make_payload(
        categories=["extortion"],
        perpetrators=["saps"],
        year=2026,
        month=3,
        province="KZN",
        narrative="short",
    )
    assert "callback" not in plain and "channel" not in plain and "source" not in plain
    twice = P.make_payload(
        categories=["extortion", "extortion"],
        perpetrators=["saps", "saps"],
        year=2026,
        month=3,
        province="KZN",
        narrative="",
    )
    assert twice["categories"] == ["extortion"] and twice["perpetrators"] == ["saps"]
    with pytest.raises(P.PayloadInvalid) as info:
        P.make_payload(
            categories=["nope"], perpetrators=[], year=2026, month=1, province="GP", narrative=""
        )
    assert info.value.reason == "categories"


def test_constants_agree_with_the_models_and_forms() -> None:
    from reporter.forms.forms import DETAILS_MAX, NARRATIVE_MAX, PLACE_MAX

    assert P.CHANNELS == CHANNELS
    assert (P.NARRATIVE_MAX, P.DETAILS_MAX, P.PLACE_MAX) == (NARRATIVE_MAX, DETAILS_MAX, PLACE_MAX)
    assert P.PAYLOAD_FLOOR == 4096 - 4


def test_the_module_imports_no_flask_and_no_database() -> None:
    code = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location("
        "'payload', 'reporter/domain/payload.py'); m = importlib.util.module_from_spec(spec); "
        "sys.modules['payload'] = m; spec.loader.exec_module(m); "
        "bad = [n for n in sys.modules if n.split('.')[0] in "
        "('flask', 'flask_babel', 'sqlalchemy', 'psycopg', 'reporter')]; "
        "assert not bad, bad"
    )
    root = Path(__file__).parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_the_no_js_path_builds_its_payload_here() -> None:
    import inspect

    from reporter.services import intake

    assert "make_payload(" in inspect.getsource(intake.build_payload)
