"""Languages: which one a page is in, and addresses that carry it (/zu/report).

A page's language comes, in order, from a path prefix (`/zu/report`), from a choice kept in the
existing session (the POST /language form), from the browser's Accept-Language, else English.
The prefix keeps a choice without any cookie and without JavaScript: every link and form built
with `url_for` on a prefixed page keeps the prefix, so the next page is in the same language.
Only the languages a deployment enabled (settings.languages) are served; `/tn/...` is a 404
where Setswana is not enabled. Staff pages stay English whatever the visitor's browser asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, has_request_context, request, session, url_for
from flask_babel import get_locale, refresh
from werkzeug.routing import BaseConverter

from reporter.config import AVAILABLE_LANGUAGES
from reporter.domain.catalogs import ReviewState, review_state
from reporter.web.extensions import babel

# Each name in its own language, so a reader finds hers without reading the page's language.
LANGUAGE_NAMES = {
    "en": "English",
    "zu": "isiZulu",
    "xh": "isiXhosa",
    "af": "Afrikaans",
    "st": "Sesotho",
    "tn": "Setswana",
    "nso": "Sepedi",
    "ts": "Xitsonga",
    "ss": "siSwati",
    "ve": "Tshivenḓa",
    "nr": "isiNdebele",
}

# Catalogs translated in full (tests/test_i18n.py holds them at 100%); the others fall back to
# English for what is missing. Which are reviewed by a native speaker: docs/translations.md.
COMPLETE_LANGUAGES = ("en", "zu", "xh", "af", "st", "tn", "nso", "ts", "ss", "ve", "nr")

# The public pages served under a language prefix as well as without one. Staff pages, the
# JSON API (its labels follow Accept-Language) and static files are not prefixed: static
# files stay cached once for every language.
PREFIXED_ENDPOINTS = frozenset(
    {
        "site.index",
        "forms.report",
        "forms.submit",
        "forms.followup",
        "forms.followup_login",
        "forms.followup_reply",
        "forms.followup_logout",
        "forms.received",
        "forms.received_done",
        "maps.public_map",
        "maps.map_image",
    }
)

# Pages answering a POST whose content a GET of another page shows again, so a language link
# there loses nothing. Other POST answers (the receipt, shown only once; a form with errors,
# holding what she typed) show no language links: following one would throw that away.
REOPENED_BY = {"forms.followup_login": "forms.followup", "forms.followup_reply": "forms.followup"}

STAFF_BLUEPRINTS = frozenset({"verify", "export"})


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    href: str
    current: bool


def _languages() -> tuple[str, ...]:
    return current_app.extensions["reporter.settings"].languages


@dataclass(frozen=True)
class CatalogRow:
    code: str
    name: str
    state: ReviewState
    served: bool
    withheld: bool


@dataclass(frozen=True)
class CatalogTable:
    rows: list[CatalogRow]
    serve_drafts: bool


def catalog_table() -> CatalogTable:
    """Every language's review state (read from its catalog's header) and whether this site
    serves it: a draft is withheld in production unless SERVE_DRAFT_LANGUAGES is on."""
    settings = current_app.extensions["reporter.settings"]
    return CatalogTable(
        [
            CatalogRow(
                code,
                LANGUAGE_NAMES.get(code, code),
                review_state(code),
                code in settings.languages,
                code in settings.withheld_languages,
            )
            for code in AVAILABLE_LANGUAGES
        ],
        settings.serve_draft_languages,
    )


def path_language(path: str, languages: tuple[str, ...]) -> str | None:
    """The enabled language named by the path's first segment (`/zu/report` -> "zu")."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in languages else None


def prefix_language() -> str | None:
    """This request's language prefix, if any (also for a 404 under a prefix)."""
    # read from the path each time, never kept on `g`: requests made inside one outer app
    # context (the test client, the benchmarks) share a `g`
    return path_language(request.path, _languages())


def _is_staff_request() -> bool:
    return request.blueprint in STAFF_BLUEPRINTS or request.path.startswith("/staff")


def select_locale() -> str:
    """Prefix, then the session's choice, then Accept-Language, then English."""
    if not has_request_context() or _is_staff_request():
        return "en"
    languages = _languages()
    prefixed = prefix_language()
    if prefixed:
        return prefixed
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or "en"


def language_converter(languages: tuple[str, ...]) -> type[BaseConverter]:
    """A URL converter matching only the enabled language codes."""
    pattern = "|".join(re.escape(code) for code in sorted(languages, key=len, reverse=True))

    class LanguageConverter(BaseConverter):
        regex = f"(?:{pattern})"

    return LanguageConverter


def language_links() -> list[LanguageLink]:
    """The same page in each enabled language (plain links: no JavaScript, no cookie)."""
    if _is_staff_request():
        return []  # staff pages stay English
    endpoint = request.endpoint
    if request.method != "GET":
        endpoint = REOPENED_BY.get(endpoint or "")
        if endpoint is None:
            return []
    query = ""
    if endpoint in PREFIXED_ENDPOINTS and endpoint != "maps.map_image":
        if request.method == "GET" and request.args:
            # the query string as it came, re-encoded; never as url_for's keyword arguments,
            # where `_scheme`, `_external` or `lang` from a visitor would change the link
            query = "?" + urlencode(list(request.args.items(multi=True)))
    else:
        endpoint = "site.index"
    current = str(get_locale() or "en")
    return [
        LanguageLink(
            code,
            LANGUAGE_NAMES.get(code, code),
            url_for(endpoint, lang=code) + query,
            code == current,
        )
        for code in _languages()
    ]


def without_prefix(path: str) -> str:
    """`/zu/report` -> `/report` (a path not under a language prefix is returned as is)."""
    code = path_language(path, _languages())
    if code is None:
        return path
    rest = path.lstrip("/")[len(code) :]
    # `/zu//evil.example` must not become `//evil.example` (a link to another host)
    return "/" + rest.lstrip("/")


def _add_prefixed_rules(app: Flask) -> None:
    for rule in list(app.url_map.iter_rules()):
        if rule.endpoint not in PREFIXED_ENDPOINTS:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        app.add_url_rule(
            "/<lang:lang>" + rule.rule,
            endpoint=rule.endpoint,
            view_func=app.view_functions[rule.endpoint],
            methods=methods,
        )


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and add the `/<lang>/` addresses (after the blueprints are registered)."""
    languages = app.extensions["reporter.settings"].languages
    withheld = app.extensions["reporter.settings"].withheld_languages
    if withheld:
        app.logger.warning(
            "languages not served, their catalogs are drafts not reviewed by a "
            "native speaker (SERVE_DRAFT_LANGUAGES=1 serves them): %s",
            ", ".join(withheld),
        )
    babel.init_app(app, locale_selector=select_locale)
    app.url_map.converters["lang"] = language_converter(languages)
    _add_prefixed_rules(app)

    @app.url_value_preprocessor
    def _take_prefix(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values:
            values.pop("lang", None)  # the views never see it; prefix_language() reads the path

    # Flask-Babel keeps the chosen locale on `g`; requests that share an outer app context
    # (the test client, the benchmarks) would otherwise all get the first request's language
    app.before_request(refresh)

    @app.url_defaults
    def _keep_prefix(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint in PREFIXED_ENDPOINTS and "lang" not in values and has_request_context():
            code = prefix_language()
            if code:
                values["lang"] = code

    @app.after_request
    def _vary(resp: Response) -> Response:
        # a response that is cached publicly (the map image, the API's labels) and whose
        # language was negotiated must not be served from a cache to someone else's language
        if resp.cache_control.public and request.endpoint != "static" and not prefix_language():
            resp.vary.add("Accept-Language")
            resp.vary.add("Cookie")
        return resp

    @app.context_processor
    def _languages_in_templates() -> dict[str, Any]:
        return {"language_links": language_links}
