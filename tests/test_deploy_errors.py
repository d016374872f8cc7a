"""Every error page is ours, in her language (issue 11 item 2): the app's handlers, the last-resort
WSGI layer for what escapes Flask, and the static pages nginx serves for its own answers.
In-process, about 3 s.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder, encode_multipart

from reporter.config import AVAILABLE_LANGUAGES
from reporter.models import db
from reporter.web import errors

LANGS = "en,zu,xh,af,st"
H1 = re.compile(r"<h1>([^<]*)</h1>")


def h1(html: str) -> str:
    m = H1.search(html)
    return m.group(1).strip() if m else ""


def zu(text: str) -> str:
    from babel.support import Translations

    root = Path(__file__).resolve().parent.parent / "reporter" / "translations"
    return Translations.load(str(root), ["zu"]).gettext(text)


def no_trace(html: str) -> None:
    for needle in ("Traceback", 'File "', "Internal Server Error", "werkzeug", "RuntimeError"):
        assert needle not in html


def test_a_teardown_that_fails_still_gets_our_page(app_factory: Callable[..., Flask]) -> None:
    """What escapes Flask (here a teardown) is not gunicorn's bare English 500."""
    app = app_factory(LANGUAGES=LANGS)

    failures = [RuntimeError("teardown broke")]  # once, like a connection that just died

    @app.teardown_appcontext
    def _boom(exc: BaseException | None) -> None:
        # registered last, so it runs first: end the request's database session as the app's
        # own teardown would have (else the test's clean-up waits on its open transaction)
        db.discard_session()
        if failures:
            raise failures.pop()

    # a server as PEP 3333 says (gunicorn's): a second start_response with exc_info replaces
    # the first while nothing was sent (werkzeug's test client re-raises instead)
    answers: list[tuple[str, dict[str, str]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> None:
        if answers and exc_info is None:
            raise AssertionError("headers already set")
        answers.append((status, dict(headers)))

    environ = EnvironBuilder(path="/zu/", method="GET").get_environ()
    answer = app.wsgi_app(environ, start_response)
    html = b"".join(answer).decode()
    getattr(answer, "close", lambda: None)()
    status, headers = answers[-1]
    assert status.startswith("500") and headers["Content-Type"].startswith("text/html")
    assert h1(html) == zu("Something went wrong on our side")
    assert 'lang="zu"' in html and "site.css" in html
    assert headers["Cache-Control"] == "no-store"
    no_trace(html)


def test_a_teardown_that_always_fails_gets_the_built_in_page(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(LANGUAGES=LANGS)

    @app.teardown_appcontext
    def _boom(exc: BaseException | None) -> None:
        db.discard_session()
        raise RuntimeError("teardown broke")

    answers: list[str] = []
    environ = EnvironBuilder(path="/zu/", method="GET").get_environ()
    answer = app.wsgi_app(environ, lambda status, headers, exc_info=None: answers.append(status))
    body = b"".join(answer)
    getattr(answer, "close", lambda: None)()
    assert answers[-1].startswith("500") and body.decode() == errors.FALLBACK_HTML


def test_an_error_page_that_cannot_render_falls_back_calmly(
    app_factory: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory(LANGUAGES=LANGS)

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("template broke")

    monkeypatch.setattr(errors, "render_template", broken)
    resp = app.test_client().get("/zu/no-such-page")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and html == errors.FALLBACK_HTML
    no_trace(html)


@pytest.mark.parametrize("multipart", [False, True])
def test_413_before_the_view_is_our_page_in_her_language(
    app_factory: Callable[..., Flask], multipart: bool
) -> None:
    """werkzeug refuses the body (raw, or while parsing multipart) before any view runs."""
    app = app_factory(LANGUAGES=LANGS)
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    client = app.test_client()
    if multipart:
        # encoded in memory: werkzeug's test client would spool it to a temp file it never closes
        boundary, body = encode_multipart(
            MultiDict(
                [
                    (
                        "attachments",
                        FileStorage(io.BytesIO(too_big), "a.pdf", content_type="application/pdf"),
                    )
                ]
            )
        )
        resp = client.post(
            "/zu/report",
            input_stream=io.BytesIO(body),
            content_type=f"multipart/form-data; boundary={boundary}",
            content_length=len(body),
        )
    else:
        resp = client.post("/zu/report", data=too_big, content_type="application/octet-stream")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413 and h1(html) == zu("Too large")
    no_trace(html)


@pytest.mark.parametrize(
    "method,path,code",
    [("GET", "/zu/nope", 404), ("DELETE", "/zu/report", 405), ("POST", "/language", 400)],
)
def test_client_errors_are_our_page(
    app_factory: Callable[..., Flask], method: str, path: str, code: int
) -> None:
    app = app_factory(LANGUAGES=LANGS)
    resp = app.test_client().open(path, method=method, headers={"Accept-Language": "zu"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == code and h1(html) == zu(str(errors.MESSAGES[code][0]))
    assert 'lang="zu"' in html
    no_trace(html)


def test_static_pages_for_nginx(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    app = app_factory(LANGUAGES=LANGS, QUICK_EXIT_URL="https://weather.example/?q=cape&x=1")
    written = errors.write_static_pages(app, tmp_path)
    assert len(written) == len(AVAILABLE_LANGUAGES) * len(errors.STATIC_CODES)
    for lang in AVAILABLE_LANGUAGES:
        for code in errors.STATIC_CODES:
            html = (tmp_path / lang / f"{code}.html").read_text()
            assert "{{" not in html and "{%" not in html
            assert f"{code}" in html and "/static/css/site.css" in html
            no_trace(html)
    zu413 = (tmp_path / "zu" / "413.html").read_text()
    assert 'lang="zu"' in zu413 and h1(zu413) == zu("Too large")
    # a language the deployment did not enable gets the English page, never a missing file
    assert 'lang="en"' in (tmp_path / "nso" / "502.html").read_text()
    # with the app maybe down, Quick exit on the 5xx pages goes straight to the neutral site
    zu502 = (tmp_path / "zu" / "502.html").read_text()
    assert 'id="quick-exit" href="https://weather.example/?q=cape&amp;x=1"' in zu502
    assert 'id="quick-exit" href="/exit"' in zu413
    assert h1((tmp_path / "en" / "504.html").read_text()) == "No answer in time"
