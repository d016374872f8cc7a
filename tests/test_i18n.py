"""Languages: the catalogs are complete and compile, messages.pot follows the sources, a page is
in the language its address, the session or the browser asks for, only enabled languages are
served, and the page weights hold in every complete language.

Cost: re-extracting the messages takes about a second; the page-weight test runs
bench/pageweight.py as a program on a database of its own, which renders the form and the map
in five languages (a few seconds).
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from reporter.config import AVAILABLE_LANGUAGES, ConfigError, build_settings
from reporter.ops import migrate, pgcluster
from reporter.web.i18n import COMPLETE_LANGUAGES, LANGUAGE_NAMES
from tests.conftest import fresh_database
from tests.support.i18n import TRANSLATIONS, catalog, html_lang, t
from tests.support.intake import open_form, plain_fields, receipt_of
from tests.support.programs import program_figures

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "messages.pot"
ALL = ",".join(AVAILABLE_LANGUAGES)
TRANSLATED = [lang for lang in AVAILABLE_LANGUAGES if lang != "en"]
COMPLETE = [lang for lang in COMPLETE_LANGUAGES if lang != "en"]
# what a translation must not bring into a page: translations are trusted markup in templates
# (Flask-Babel's newstyle gettext), and some land inside HTML attributes
UNSAFE = re.compile(r"""[<>"&]""")

# Page weights on first visit, gzip bytes (DESIGN.md section 7)
REPORT_NOJS_MAX = 20_000
REPORT_JS_MAX = 50_000
MAP_MAX = 150_000


def text_of(resp: object) -> str:
    return html.unescape(resp.get_data(as_text=True))  # type: ignore[attr-defined]


@pytest.fixture()
def polyglot(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(LANGUAGES=ALL)


# --- the catalogs ------------------------------------------------------------------------


def test_babel_knows_every_language() -> None:
    for code in AVAILABLE_LANGUAGES:
        locale = Locale.parse(code)
        assert locale.language == code and locale.plural_form is not None
    assert set(LANGUAGE_NAMES) == set(AVAILABLE_LANGUAGES)


@pytest.mark.parametrize("lang", COMPLETE)
def test_complete_catalogs_translate_every_message(lang: str) -> None:
    cat = catalog(lang)
    missing = [
        m.id
        for m in cat
        if m.id and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert missing == [], f"{lang}: {len(missing)} untranslated or fuzzy: {missing[:10]}"
    assert not cat.fuzzy


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogs_compile_with_matching_placeholders(lang: str) -> None:
    cat = catalog(lang)
    # babel's checkers: the same %(name)s placeholders as the English, plural forms complete
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check()]
    assert problems == []
    out = io.BytesIO()
    write_mo(out, cat)
    assert len(out.getvalue()) > 1000


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_bring_no_markup(lang: str) -> None:
    for m in catalog(lang):
        if not m.id:
            continue  # the header
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        for s in strings:
            if s and UNSAFE.search(s):
                assert any(UNSAFE.search(i) for i in ids), f"{lang}: {s!r}"


def test_complete_languages_are_the_ones_at_100_percent() -> None:
    for lang in TRANSLATED:
        cat = catalog(lang)
        done = sum(1 for m in cat if m.id and m.string and not m.fuzzy)
        total = sum(1 for m in cat if m.id)
        assert (done == total) == (lang in COMPLETE_LANGUAGES), (lang, done, total)


def test_messages_pot_and_catalogs_follow_the_sources(tmp_path: Path) -> None:
    # Given the messages the sources hold today (the same command as `make translations`)
    fresh = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with fresh.open("rb") as fh:
        now = {m.id for m in read_po(fh) if m.id}
    with POT.open("rb") as fh:
        kept = {m.id for m in read_po(fh) if m.id}
    # Then messages.pot is up to date (a new string fails here until `make translations`)
    assert now - kept == set(), "new strings: run `make translations` and translate them"
    assert kept - now == set(), "strings gone from the sources: run `make translations`"
    # and every catalog was updated from it
    for lang in TRANSLATED:
        assert {m.id for m in catalog(lang) if m.id} == now, lang


def test_the_compiled_catalogs_are_not_stale() -> None:
    for lang in TRANSLATED:
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
            f"{mo} is missing or older than its .po: run scripts/setup.sh or "
            "`pybabel compile -d reporter/translations`"
        )


# --- which language a page is in ------------------------------------------------------------


def test_a_prefix_gives_the_page_in_that_language(polyglot: Flask) -> None:
    client = polyglot.test_client()
    body = text_of(client.get("/zu/report"))
    assert html_lang(body) == "zu"
    assert t("zu", "Report what happened") in body
    assert t("zu", "Arrested or held without a reason") in body  # the vocabulary
    assert t("zu", "Eastern Cape") in body and t("zu", "December") in body
    assert t("zu", "Tick who did it, or “I don't know”.") in body  # a JavaScript message
    # and every address built on the page keeps the prefix; static files do not need it
    assert 'action="/zu/report"' in body and 'href="/zu/followup"' in body
    assert 'href="/static/css/site.css"' in body


@pytest.mark.parametrize("lang", COMPLETE)
@pytest.mark.parametrize(
    ("path", "msgid"),
    [
        ("/", "Tell us what happened. Safely."),
        ("/followup", "Follow up on your report"),
        ("/map", "Where abuse happens"),
        ("/map", "Layers"),  # Leaflet's own words, set by the map's script
        ("/no-such-page", "Page not found"),
    ],
)
def test_every_public_page_is_translated(polyglot: Flask, lang: str, path: str, msgid: str) -> None:
    resp = polyglot.test_client().get(f"/{lang}{path}")
    body = text_of(resp)
    assert html_lang(body) == lang
    assert t(lang, msgid) in body


def test_validation_messages_are_translated(polyglot: Flask) -> None:
    client = polyglot.test_client()
    form = open_form(client)
    resp = client.post("/zu/report", data={**form, **plain_fields(categories=[], day="abc")})
    body = text_of(resp)
    assert resp.status_code == 400 and html_lang(body) == "zu"
    assert t("zu", "Tick at least one thing that happened.") in body
    assert t("zu", "A day is a number from 1 to 31.") in body
    assert t("zu", "Please check the marked answers.") in body


def test_the_receipt_is_in_the_language_of_the_form(polyglot: Flask) -> None:
    client = polyglot.test_client()
    form = open_form(client)  # the form's id is kept in the session, whatever the address
    resp = client.post("/xh/report", data={**form, **plain_fields()}, follow_redirects=True)
    body = text_of(resp)
    assert resp.status_code == 200 and receipt_of(resp)
    assert t("xh", "Your receipt number") in body and html_lang(body) == "xh"
    assert resp.request.path == "/xh/report/received"
    # the receipt page is a GET that shows the number again for a few minutes, so its
    # language links lose nothing: the same receipt in another language
    other = text_of(client.get("/zu/report/received"))
    assert html_lang(other) == "zu" and receipt_of(client.get("/zu/report/received"))


def test_accept_language_picks_the_language(polyglot: Flask) -> None:
    client = polyglot.test_client()
    body = text_of(client.get("/report", headers={"Accept-Language": "af-ZA,af;q=0.9,en;q=0.5"}))
    assert html_lang(body) == "af" and t("af", "Report what happened") in body
    plain = client.get("/report", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert html_lang(plain) == "en"
    # a prefix wins over the browser's wish
    body = text_of(client.get("/st/report", headers={"Accept-Language": "af"}))
    assert html_lang(body) == "st"


def test_a_negotiated_public_response_varies_by_language(polyglot: Flask) -> None:
    client = polyglot.test_client()
    negotiated = client.get("/map.svg")
    assert "Accept-Language" in negotiated.headers.get("Vary", "")
    assert "Accept-Language" not in client.get("/zu/map.svg").headers.get("Vary", "")


def test_a_language_not_enabled_is_not_served(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES="en,zu")
    client = app.test_client()
    assert client.get("/af/report").status_code == 404
    assert client.get("/zu/report").status_code == 200
    # a browser asking for it gets English, and the links offer only the enabled languages
    body = client.get("/report", headers={"Accept-Language": "af"}).get_data(as_text=True)
    assert html_lang(body) == "en"
    assert 'hreflang="zu"' in body and 'hreflang="af"' not in body


def test_one_language_shows_no_language_links(client: FlaskClient) -> None:
    body = client.get("/report").get_data(as_text=True)
    assert html_lang(body) == "en" and 'id="languages"' not in body


def test_the_language_links_open_the_same_page(polyglot: Flask) -> None:
    body = polyglot.test_client().get("/af/map?res=6").get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" lang="([a-z]+)" hreflang', body))
    assert set(links.values()) == set(AVAILABLE_LANGUAGES) - {"af"}
    assert "/zu/map?res=6" in links and "/en/map?res=6" in links
    # the visitor's query string is carried over as such, never as url_for's own arguments
    for query in ("_scheme=javascript&_external=1", "lang=zu&endpoint=x", "res=%22%3E%3Cb%3E"):
        resp = polyglot.test_client().get(f"/af/map?{query}")
        assert resp.status_code in (200, 400)
        assert "javascript:" not in resp.get_data(as_text=True) and "<b>" not in resp.get_data(
            as_text=True
        )
    # each language named in itself, marked as such for screen readers
    for code, name in LANGUAGE_NAMES.items():
        assert f'lang="{code}"' in body and name in body


def test_the_session_choice_is_kept_without_a_prefix(polyglot: Flask) -> None:
    client = polyglot.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/report").get_data(as_text=True)
    )
    assert token
    resp = client.post(
        "/language", data={"lang": "st", "next": "/zu/followup", "csrf_token": token.group(1)}
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/followup"
    assert html_lang(client.get("/followup").get_data(as_text=True)) == "st"
    assert (
        client.post("/language", data={"lang": "fr", "csrf_token": token.group(1)}).status_code
        == 400
    )


def test_staff_pages_stay_english(polyglot: Flask) -> None:
    resp = polyglot.test_client().get("/staff/login", headers={"Accept-Language": "zu"})
    body = resp.get_data(as_text=True)
    assert html_lang(body) == "en" and 'id="languages"' not in body
    assert polyglot.test_client().get("/zu/staff/login").status_code == 404


def test_languages_setting_is_checked(tmp_path: Path) -> None:
    base = {"REPORTER_MODE": "test", "SECRET_KEY": "x" * 40}
    with pytest.raises(ConfigError, match="LANGUAGES"):
        build_settings({**base, "LANGUAGES": "en,fr"}, tmp_path)
    # English, the source, is always served, first
    assert build_settings({**base, "LANGUAGES": "zu, af"}, tmp_path).languages == ("en", "zu", "af")
    assert build_settings(base, tmp_path).languages == ("en",)
    # the demo serves every language
    demo = build_settings({**base, "REPORTER_MODE": "demo"}, tmp_path)
    assert demo.languages == AVAILABLE_LANGUAGES


# --- page weight ------------------------------------------------------------------------------


def test_page_weights_hold_in_every_complete_language(
    cluster: Path, app_factory: Callable[..., Flask]
) -> None:
    # bench/pageweight.py as the program `make bench` runs, on a database of its own
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        figures = program_figures("pageweight", "--database-url", url)
    finally:
        pgcluster.drop_database(cluster, name)
    app = app_factory(LANGUAGES=",".join(COMPLETE_LANGUAGES))
    with app.app_context():  # as `make bench` does: the requests share one app context
        client = app.test_client()
        for lang in COMPLETE_LANGUAGES:
            assert client.get(f"/{lang}/report").status_code == 200
        # so each request still gets its own language (Flask-Babel caches it on `g`)
        assert html_lang(client.get("/zu/report").get_data(as_text=True)) == "zu"
        assert html_lang(client.get("/af/report").get_data(as_text=True)) == "af"
    assert figures["page_weight_languages"] == ",".join(COMPLETE_LANGUAGES)
    assert figures["report_page_gzip_bytes_nojs"] <= REPORT_NOJS_MAX, figures
    assert figures["report_page_gzip_bytes_js"] <= REPORT_JS_MAX, figures
    assert figures["map_page_gzip_bytes"] <= MAP_MAX, figures
    assert figures["third_party_hosts"] == 0
