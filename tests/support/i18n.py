"""Reading the catalogs in tests: the expected words of a translated page come from its
catalog, so a test never guesses (or hard-codes) a translation."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "reporter" / "translations"


@cache
def catalog(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def t(lang: str, msgid: str) -> str:
    """The catalog's translation of `msgid`."""
    translated = catalog(lang).get(msgid)
    assert translated is not None and translated.string, f"{lang}: no translation of {msgid!r}"
    return str(translated.string)


def html_lang(body: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', body)
    assert found, body[:300]
    return found.group(1)
