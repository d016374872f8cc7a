"""Hostile input (issue 7): random bytes, huge and deeply nested values, odd Unicode, wrong
types, missing CSRF and forged ids against every form and JSON endpoint the app has.

Every answer is below 500, and every 4xx says clearly what was wrong: an HTML page with an
alert, a marked field or the site's error page, or JSON {"error": ...}. The endpoints are found
by walking app.url_map, so an endpoint added later is fuzzed too. Cost: about 30 s in all
(hypothesis with modest example counts, no deadline, no example database).
"""

from __future__ import annotations

import io
import json
import re
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from reporter.crypto import envelope
from reporter.domain.payload import attachment_name as safe_name
from reporter.domain.vocabulary import CATEGORY_VALUES, PERPETRATOR_VALUES, PROVINCES
from reporter.web.errors import MESSAGES
from tests.support.dates import months_ago
from tests.support.intake import (
    hidden,
    keyring_json,
    open_form,
    plain_fields,
    post_multipart,
    receipt_of,
    recipients,
    secrets_of,
    submit_plain,
)

pytestmark = pytest.mark.slow  # hypothesis against every endpoint

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
HIGH = {
    "X_REPORT_LIMIT": "100000 per minute",
    "X_REPORT_GLOBAL_LIMIT": "100000 per minute",
    "X_RECEIPT_LIMIT": "100000 per minute",
    "X_RECEIPT_GLOBAL_LIMIT": "100000 per minute",
}
ERROR_TITLES = {str(title) for title, _ in MESSAGES.values()}
TITLE = re.compile(r"<h1>([^<]*)</h1>")

# --- what a "clear" answer is ----------------------------------------------------------------


def assert_answer(resp: TestResponse, what: str, *, off_site: str | None = None) -> None:
    """Never a 5xx; a 4xx names the problem in words (HTML alert / field error / error page,
    or JSON {"error": ...})."""
    code = resp.status_code
    assert code < 500, f"{what}: {code}"
    if code < 400:
        if code in (301, 302, 303, 307, 308):
            if off_site is not None and resp.headers.get("Location") == off_site:
                return  # the quick exit leaves on purpose, to a configured neutral site
            location = urlsplit(resp.headers.get("Location", ""))
            # never an open redirect: only this site (werkzeug's slash fixes are absolute URLs
            # to the same host)
            assert location.netloc in ("", "localhost") and location.scheme in ("", "http"), (
                location
            )
            assert not location.path.startswith("//"), location
        return
    if "/gateway/" in what and code == 403:  # a wrong gateway key: 403 and nothing else
        assert resp.get_data() == b"", what
        return
    if resp.is_json:
        body = resp.get_json(silent=True)
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (
            f"{what}: {code} {resp.get_data()[:200]!r}"
        )
        return
    text = resp.get_data(as_text=True)
    title = TITLE.search(text)
    # the site's error page names the problem in its title (in any language: "Error 4xx")
    error_page = title is not None and (
        title.group(1).strip() in ERROR_TITLES
        or re.search(rf'class="muted">[^<]*\b{code}\b', text) is not None
    )
    clear = 'role="alert"' in text or 'class="field-error"' in text or error_page
    assert clear, f"{what}: {code} without a clear message: {text[:500]}"


# --- strategies ------------------------------------------------------------------------------

ODD = (
    "\u0000",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\ud7ff",
    "\U0001f4a9",
    "e\u0301",
    "\u0130",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "${jndi:x}",
    "\r\nSet-Cookie: x=1",
    "{{7*7}}",
    "A" * 5000,
)
odd_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(ODD),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
# around the 20,000-character limit, built cheaply (hypothesis is slow to draw huge text)
long_text = st.tuples(st.integers(19_990, 20_010), st.sampled_from("x\u00e9\U0001f4a9")).map(
    lambda t: t[1] * t[0]
)
numberish = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", " 1", "1e9", "NaN", "-0", "0x10", "٣", "１２", "2026.5", "9" * 400]),
)


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


hostile_json = st.one_of(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=True)
        | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ).map(json.dumps),
    st.integers(10, 200_000).map(nested_json),
    st.just('{"v":1,"epk":' + "9" * 5000 + "}"),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
DISPOSITIONS = [
    b"form-data",
    b'form-data; filename="a.jpg"',
    b'form-data; name="csrf_token"',
    b'form-data; name=""',
    b'form-data; name="a"; filename=""',
    b"attachment",
    b'form-data; name="x\xff"',
    b"form-data; name*=UTF-8''%E2%80%AE",
    b";;;",
]
FIELD_NAMES = [
    "csrf_token",
    "form_id",
    "sealed",
    "envelope",
    "attachment_headers",
    "province",
    "narrative",
    "categories",
    "perpetrators",
    "year",
    "month",
    "day",
    "town",
    "place",
    "receipt",
    "message",
    "lang",
    "next",
    "login",
    "password",
    "code",
    "website",
    "status",
    "text",
    "passphrase",
]
form_values = st.one_of(odd_text, numberish, hostile_json)
form_data = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)),
    st.one_of(form_values, st.lists(form_values, max_size=3)),
    max_size=8,
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for client.open: no body, a form, multipart, raw bytes or JSON."""
    kind = draw(st.sampled_from(["none", "form", "multipart", "parts", "raw", "json"]))
    if kind == "none":
        return {}
    if kind == "form":
        return {
            "data": urlencode(list(_pairs(draw(form_data)))),
            "content_type": "application/x-www-form-urlencoded",
        }
    if kind == "multipart":
        fields = MultiDict(list(_pairs(draw(form_data))))
        for _ in range(draw(st.integers(0, 2))):
            name = draw(st.sampled_from(["attachments", "attachment", "file", ""]))
            fields.add(
                name,
                FileStorage(
                    io.BytesIO(draw(st.binary(max_size=3000))),
                    draw(odd_text) or "x",
                    content_type=draw(
                        st.sampled_from(
                            [
                                "image/jpeg",
                                "application/pdf",
                                "text/html",
                                "application/octet-stream",
                                "x/y",
                            ]
                        )
                    ),
                ),
            )
        # a boundary of our own: werkzeug's default draws from `random`, which hypothesis
        # forbids inside a strategy
        boundary, body = encode_multipart(
            fields,
            boundary="fuzz-"
            + draw(st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=20)),
        )
        return {
            "input_stream": io.BytesIO(body),
            "content_length": len(body),
            "content_type": f"multipart/form-data; boundary={boundary}",
        }
    if kind == "parts":
        # hand-made multipart with odd part headers (no name, only a filename, bad quoting)
        parts = b"".join(
            b"--B\r\nContent-Disposition: "
            + draw(st.sampled_from(DISPOSITIONS))
            + b"\r\n\r\n"
            + draw(st.binary(max_size=200))
            + b"\r\n"
            for _ in range(draw(st.integers(1, 3)))
        )
        body = parts + draw(st.sampled_from([b"--B--\r\n", b"", b"--B"]))
        return {
            "input_stream": io.BytesIO(body),
            "content_length": len(body),
            "content_type": "multipart/form-data; boundary=B",
        }
    if kind == "raw":
        body = draw(st.binary(max_size=4000))
        ctype = draw(
            st.sampled_from(
                [
                    "application/octet-stream",
                    "text/plain",
                    "multipart/form-data",
                    "multipart/form-data; boundary=z",
                    "application/x-www-form-urlencoded; charset=utf-7",
                    "application/json",
                ]
            )
        )
        return {"data": body, "content_type": ctype}
    return {"data": draw(hostile_json), "content_type": "application/json"}


def _pairs(data: dict[str, Any]) -> Any:
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            yield key, item


def _path(rule: str, draw: st.DrawFn) -> str:
    def fill(m: re.Match[str]) -> str:
        kind = m.group(1) or "string"
        if kind.startswith("int"):
            return str(draw(st.integers(-(2**64), 2**64)))
        if kind.startswith("path"):
            return "/".join(quote(draw(odd_text), safe="") or "x" for _ in range(2))
        return quote(draw(odd_text), safe="") or "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule)


def _query(draw: st.DrawFn) -> str:
    pairs = list(
        _pairs(
            draw(
                st.dictionaries(
                    st.one_of(
                        st.sampled_from(
                            [
                                "province",
                                "from",
                                "to",
                                "category",
                                "perpetrator",
                                "res",
                                "next",
                                "sent",
                                "page",
                            ]
                        ),
                        st.text(max_size=6),
                    ),
                    st.one_of(form_values, st.lists(form_values, max_size=3)),
                    max_size=5,
                )
            )
        )
    )
    return urlencode(pairs)


def _routes(app: Flask) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.rule, method))
    return sorted(out)


# --- every endpoint, random requests (mostly without a valid CSRF token) -------------------


@pytest.fixture()
def fuzz_app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(**HIGH)


def test_every_endpoint_answers_random_requests_without_a_500(fuzz_app: Flask) -> None:
    routes = _routes(fuzz_app)
    assert ("/report", "POST") in routes and ("/api/v1/towns", "GET") in routes
    client = fuzz_app.test_client()
    quick_exit = fuzz_app.extensions["reporter.settings"].quick_exit_url

    @given(data=st.data())
    @settings(FUZZ, max_examples=250)
    def check(data: st.DataObject) -> None:
        rule, method = data.draw(st.sampled_from(routes))
        path = _path(rule, data.draw)
        query = _query(data.draw)
        kwargs = data.draw(bodies()) if method == "POST" else {}
        headers = data.draw(
            st.sampled_from(
                [
                    {},
                    {"X-Forwarded-For": "10.0.0.1"},
                    {"Accept-Language": "zu, *;q=0.1"},
                    {"Cookie": "s=forged.cookie.value"},
                ]
            )
        )
        resp = client.open(
            path + ("?" + query if query else ""), method=method, headers=headers, **kwargs
        )
        assert_answer(resp, f"{method} {path}?{query}", off_site=quick_exit)

    check()


def test_forms_without_a_csrf_token_are_refused_clearly(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()
    for rule, method in _routes(fuzz_app):
        if method != "POST" or "<" in rule:
            continue
        resp = client.post(rule, data={"narrative": "no token"})
        assert 400 <= resp.status_code < 500, rule
        assert_answer(resp, rule)


def test_multipart_parts_without_a_name_are_refused_clearly(fuzz_app: Flask) -> None:
    """werkzeug files a nameless part under the key None, on which Flask-WTF's CSRF check
    used to crash (a 500 on every form)."""
    client = fuzz_app.test_client()
    for disposition in (b"form-data", b'form-data; filename="a.jpg"'):
        body = b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\nx\r\n--B--\r\n"
        for rule, method in _routes(fuzz_app):
            if method != "POST" or "<" in rule:
                continue
            resp = client.post(
                rule,
                input_stream=io.BytesIO(body),
                content_length=len(body),
                content_type="multipart/form-data; boundary=B",
            )
            assert 400 <= resp.status_code < 500, (rule, resp.status_code)
            assert_answer(resp, rule)


# --- the report form with a valid session and CSRF token ---------------------------------


def test_no_js_report_form_with_hostile_fields(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()

    @given(
        fields=st.fixed_dictionaries(
            {
                "categories": st.one_of(
                    st.lists(st.sampled_from(sorted(CATEGORY_VALUES)), max_size=3),
                    st.lists(odd_text, max_size=3),
                ),
                "perpetrators": st.one_of(
                    st.lists(st.sampled_from(sorted(PERPETRATOR_VALUES)), max_size=2),
                    st.lists(odd_text, max_size=2),
                ),
                "year": st.one_of(st.just(str(months_ago(12).year)), numberish),
                "month": numberish,
                "day": st.one_of(st.just(""), numberish),
                "province": st.one_of(st.sampled_from(list(PROVINCES)), odd_text),
                "town": st.one_of(st.just(""), numberish),
                "place": odd_text,
                "narrative": st.one_of(odd_text, long_text),
                "perpetrator_details": odd_text,
                "website": st.one_of(st.just(""), odd_text),
                "consent_contact": st.sampled_from(["y", "", "n", "\u0000"]),
                "form_id": st.one_of(st.none(), odd_text),
            }
        )
    )
    @settings(FUZZ, max_examples=50)
    def check(fields: dict[str, Any]) -> None:
        tokens = open_form(client)
        if fields["form_id"] is not None:
            tokens["form_id"] = fields["form_id"]  # a forged or replayed form id
        data = {**fields, **tokens}
        resp = client.post("/report", data=data)
        assert_answer(resp, "POST /report")
        assert resp.status_code in (200, 400)

    check()


def test_sealed_report_with_hostile_envelopes(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()
    keys = keyring_json(client)
    good = envelope.seal({"v": 1, "narrative": "x"}, recipients(keys))

    def mutated(env: dict[str, Any]) -> st.SearchStrategy[str]:
        def mutate(pair: tuple[str, Any]) -> str:
            key, value = pair
            return json.dumps({**env, key: value})

        return st.tuples(
            st.sampled_from([*env, "extra"]),
            st.one_of(
                st.none(),
                st.integers(),
                odd_text,
                st.lists(st.dictionaries(st.text(max_size=5), odd_text, max_size=3), max_size=3),
            ),
        ).map(mutate)

    @given(
        raw=st.one_of(hostile_json, mutated(good)),
        headers=st.one_of(st.just(""), hostile_json),
        province=st.one_of(st.sampled_from(list(PROVINCES)), odd_text),
    )
    @settings(FUZZ, max_examples=60)
    def check(raw: str, headers: str, province: str) -> None:
        data = {
            **open_form(client),
            "sealed": "1",
            "province": province,
            "envelope": raw,
            "attachment_headers": headers,
        }
        resp = client.post("/report", data=data)
        assert_answer(resp, "POST /report sealed")
        assert resp.status_code == 400

    check()


# --- the receipt log-in, the inbox answer, the language switch -----------------------------


def test_receipt_login_and_reply_with_hostile_values(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()
    receipt = receipt_of(submit_plain(client, "A real report to follow up."))

    @given(text=st.one_of(odd_text, numberish, st.text(alphabet="0123456789 -.", max_size=40)))
    @settings(FUZZ, max_examples=40)
    def login(text: str) -> None:
        page = client.get("/followup").get_data(as_text=True)
        resp = client.post(
            "/followup", data={"csrf_token": hidden(page, "csrf_token"), "receipt": text}
        )
        assert_answer(resp, "POST /followup")
        assert resp.status_code in (200, 400, 404)

    login()

    page = client.get("/followup").get_data(as_text=True)
    assert (
        client.post(
            "/followup", data={"csrf_token": hidden(page, "csrf_token"), "receipt": receipt}
        ).status_code
        == 303
    )

    @given(message=st.one_of(odd_text, long_text))
    @settings(FUZZ, max_examples=15)
    def reply(message: str) -> None:
        inbox = client.get("/followup").get_data(as_text=True)
        resp = client.post(
            "/followup/reply", data={"csrf_token": hidden(inbox, "csrf_token"), "message": message}
        )
        assert_answer(resp, "POST /followup/reply")

    reply()


def test_language_switch_never_redirects_off_site(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()

    @given(
        lang=odd_text,
        target=st.one_of(
            odd_text,
            st.sampled_from(
                ["//evil.example/", "https://evil.example/", "/\\evil.example", "/report", "\\\\x"]
            ),
        ),
    )
    @settings(FUZZ, max_examples=40)
    def check(lang: str, target: str) -> None:
        token = open_form(client)["csrf_token"]  # one CSRF token per session
        resp = client.post("/language", data={"csrf_token": token, "lang": lang, "next": target})
        assert_answer(resp, "POST /language")  # a redirect must stay on this site

    check()


def test_towns_api_with_hostile_province(fuzz_app: Flask) -> None:
    client = fuzz_app.test_client()

    @given(province=st.one_of(odd_text, st.lists(odd_text, min_size=2, max_size=3)))
    @settings(FUZZ, max_examples=40)
    def check(province: Any) -> None:
        resp = client.get(
            "/api/v1/towns?"
            + urlencode(
                [("province", p) for p in (province if isinstance(province, list) else [province])]
            )
        )
        assert_answer(resp, "GET /api/v1/towns")
        assert resp.status_code in (200, 400) and resp.is_json

    check()


# --- attachment names, sizes ----------------------------------------------------------------


@given(
    name=st.one_of(
        st.text(),
        st.sampled_from(
            [
                "../../etc/passwd",
                "..\\..\\windows\\system32",
                "/etc/shadow",
                "C:\\x\\..\\y.jpg",
                "..",
                ".",
                "....",
                "a/../../b.pdf",
                "\u0000evil.jpg",
                "x\u202egpj.exe",
                "",
                " ",
                ".hidden",
                "%2e%2e%2fetc%2fpasswd",
                "a" * 5000 + ".jpg",
            ]
        ),
    )
)
@settings(FUZZ, max_examples=200)
def test_safe_name_keeps_only_a_harmless_last_component(name: str) -> None:
    got = safe_name(name)
    assert got and len(got) <= 100
    assert "/" not in got and "\\" not in got and "\x00" not in got
    assert got not in (".", "..") and not got.startswith(".")
    assert all(ch.isprintable() for ch in got)


def test_traversal_names_are_stored_as_their_last_component_only(
    app: Flask, client: FlaskClient
) -> None:
    resp = submit_plain(
        client,
        "Photo of the fine.",
        files=[
            (b"\xff\xd8\xff fine", "../../../etc/passwd", "image/jpeg"),
            (b"%PDF-1.4 x", "..\\..\\boot.ini", "application/pdf"),
        ],
        keep_original="y",
    )  # not a real photo: sent as it is
    assert resp.status_code == 200
    from reporter.models import db
    from reporter.models.private import Report

    with app.app_context():
        report = db.session().query(Report).one()
        payload = envelope.open_envelope(report.envelope, secrets_of(app)["national"])
    assert [a["name"] for a in payload["attachments"]] == ["passwd", "boot.ini"]


def test_requests_past_the_size_limits_get_413_pages(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(MAX_ATTACHMENT_BYTES=50_000)
    client = app.test_client()
    limit = app.config["MAX_CONTENT_LENGTH"]
    # a body larger than the whole request may be
    resp = client.post(
        "/report", data=b"x" * (limit + 1), content_type="application/x-www-form-urlencoded"
    )
    title = TITLE.search(resp.get_data(as_text=True))
    assert resp.status_code == 413 and title and title.group(1) == str(MESSAGES[413][0])
    # one file larger than a file may be, even with sealing slack
    big = b"\xff" * (50_000 + 1024 * 1024 + 1)
    data = {
        **open_form(client),
        **plain_fields("too big"),
        "attachments": [FileStorage(io.BytesIO(big), "big.jpg", content_type="image/jpeg")],
    }
    resp = post_multipart(client, data)
    assert resp.status_code == 413
    assert_answer(resp, "oversized file")
    # a text field larger than the form memory limit
    data = {**open_form(client), **plain_fields("x" * (2 * 1024 * 1024 + 10))}
    resp = post_multipart(client, data)
    assert resp.status_code == 413
    assert_answer(resp, "oversized field")
    # the JSON API too, in JSON
    resp = client.get("/api/v1/towns?province=" + "G" * 100_000)
    assert resp.status_code in (400, 414)


@pytest.mark.parametrize("lie_about_size", [False, True])
def test_verify_refuses_decompression_bombs_quickly(fuzz_app: Flask, lie_about_size: bool) -> None:
    """A 1 KB-per-MB zip of zeros (and one whose header claims a small size) is refused without
    being unpacked: a 4xx page, fast, never a 500."""
    import time
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("manifest.json", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(300):  # 300 MB of zeros, about 300 KB packed
                member.write(chunk)
    data = packed.getvalue()
    if lie_about_size:
        # the central directory claims 1 KB unpacked; only unpacking would tell the truth
        real = 300 << 20
        data = data.replace(real.to_bytes(8, "little"), (1024).to_bytes(8, "little")).replace(
            real.to_bytes(4, "little"), (1024).to_bytes(4, "little")
        )
        assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size == 1024
    client = fuzz_app.test_client()
    token = hidden(client.get("/verify").get_data(as_text=True), "csrf_token")
    started = time.monotonic()
    resp = post_multipart_to(
        client,
        "/verify",
        {
            "csrf_token": token,
            "bundle": FileStorage(io.BytesIO(data), "bundle.zip", content_type="application/zip"),
        },
    )
    assert_answer(resp, "POST /verify bomb")
    assert time.monotonic() - started < 10
    if lie_about_size:
        # read only as far as the header claims: the damage shows as a problem on the page
        assert resp.status_code in (200, 400, 413) and 'role="alert"' in resp.get_data(as_text=True)
    else:
        assert resp.status_code in (400, 413)


def post_multipart_to(client: FlaskClient, path: str, data: dict[str, Any]) -> TestResponse:
    fields = MultiDict(list(data.items()))
    boundary, body = encode_multipart(fields, boundary="bomb-boundary")
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_the_fuzzer_reaches_beyond_csrf(fuzz_app: Flask) -> None:
    """Guard against a fuzzer that only ever meets the CSRF wall: valid tokens reach the views."""
    client = fuzz_app.test_client()
    data = {**open_form(client), **plain_fields("through"), "province": "XX"}
    resp = client.post("/report", data=data)
    assert resp.status_code == 400 and 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert set(string.digits) >= set(receipt_of(submit_plain(client, "ok")).replace(" ", ""))
