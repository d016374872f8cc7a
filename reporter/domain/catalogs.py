"""The translation catalogs' review state, and a spreadsheet way for a reviewer to read and fix
a catalog without touching code (docs/translations.md).

Each catalog says in its header comment whether a native speaker has reviewed it:

    # Review-State: draft
    # Review-State: reviewed 2026-12-01 by Full Name

It is a comment line, not a PO header field: `pybabel update` (`make translations`) keeps the
header comment and drops header fields it does not know. A missing or unreadable line counts as
a draft, so a catalog is never taken as reviewed by mistake. English, the source, is reviewed.

`flask --app wsgi translations export LANG FILE.csv` writes one row per message (English,
translation, state, where it is used, notes for the translator); `translations import LANG
FILE.csv` reads the reviewer's translations back, refusing rows whose placeholders or markup
do not match the English, and `--reviewed-by NAME` marks the catalog reviewed on that day.
This module uses Babel only (no Flask), so settings can read review states at start-up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
SOURCE_LANGUAGE = "en"
_LINE = re.compile(r"^#\s*Review-State:\s*(?P<state>.+?)\s*$", re.MULTILINE)
_REVIEWED = re.compile(r"^reviewed\s+(?P<date>\d{4}-\d{2}-\d{2})\s+by\s+(?P<who>\S.*)$")
# what a translation must not bring that the English does not have (tests/test_i18n.py)
UNSAFE = re.compile(r"""[<>"&]""")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
COLUMNS = (
    "english",
    "translation",
    "english_plural",
    "translation_plural",
    "state",
    "where",
    "notes",
)


@dataclass(frozen=True)
class ReviewState:
    lang: str
    reviewed: bool
    date: str | None = None
    reviewer: str | None = None

    def __str__(self) -> str:
        if not self.reviewed:
            return "draft"
        if self.lang == SOURCE_LANGUAGE:
            return "source"
        return f"reviewed {self.date} by {self.reviewer}"


def po_path(lang: str, root: Path = TRANSLATIONS) -> Path:
    return root / lang / "LC_MESSAGES" / "messages.po"


def parse_review_state(lang: str, text: str) -> ReviewState:
    """The state written in a catalog's header comment (before its first msgid)."""
    head = re.split(r"^msgid ", text, maxsplit=1, flags=re.MULTILINE)[0]
    found = _LINE.search(head)
    if found:
        reviewed = _REVIEWED.match(found.group("state"))
        if reviewed:
            return ReviewState(lang, True, reviewed.group("date"), reviewed.group("who"))
    return ReviewState(lang, False)


def review_state(lang: str, root: Path = TRANSLATIONS) -> ReviewState:
    if lang == SOURCE_LANGUAGE:
        return ReviewState(lang, True)
    try:
        text = po_path(lang, root).read_text(encoding="utf-8")
    except OSError:
        return ReviewState(lang, False)
    return parse_review_state(lang, text)


def review_states(languages: Iterable[str], root: Path = TRANSLATIONS) -> dict[str, ReviewState]:
    return {lang: review_state(lang, root) for lang in languages}


def _header_with_state(comment: str, state: str) -> str:
    line = f"# Review-State: {state}"
    if _LINE.search(comment):
        return _LINE.sub(line, comment, count=1)
    return (comment.rstrip("\n") + "\n" + line) if comment else line


def mark_reviewed(cat: Catalog, reviewer: str, day: dt.date) -> None:
    """Write `Review-State: reviewed DAY by NAME` and name her as the last translator."""
    reviewer = " ".join(reviewer.split())
    if not reviewer:
        raise ValueError("the reviewer's name is empty")
    state = f"reviewed {day.isoformat()} by {reviewer}"
    comment = cat.header_comment.replace("# DRAFT: written", "# Written").replace(
        "NOT yet reviewed by a native", "reviewed by a native"
    )
    cat.header_comment = _header_with_state(comment, state)
    cat.last_translator = reviewer


# --- spreadsheet export and import ------------------------------------------------------------


def _state_of(m: Message) -> str:
    strings = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
    if not all(strings):
        return "missing"
    return "check" if m.fuzzy else "ok"


def load(lang: str, root: Path = TRANSLATIONS) -> Catalog:
    with po_path(lang, root).open("rb") as fh:
        return read_po(fh, locale=lang)


def save(cat: Catalog, lang: str, root: Path = TRANSLATIONS) -> None:
    out = io.BytesIO()
    write_po(out, cat)  # the same wrapping as `pybabel update`
    po_path(lang, root).write_bytes(out.getvalue())


def export_rows(cat: Catalog) -> list[dict[str, str]]:
    rows = []
    for m in cat:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, (list, tuple)) else (m.id,)
        strings = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        rows.append(
            {
                "english": ids[0],
                "translation": strings[0] or "",
                "english_plural": ids[1] if len(ids) > 1 else "",
                "translation_plural": (strings[1] or "") if len(strings) > 1 else "",
                "state": _state_of(m),
                "where": " ".join(f"{f}:{n}" for f, n in m.locations[:3]),
                "notes": " ".join([*m.auto_comments, *m.user_comments]),
            }
        )
    return rows


def export_csv(cat: Catalog, out: IO[str]) -> int:
    """One row per message; `state` is ok, check (the English changed) or missing."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = export_rows(cat)
    writer.writerows(rows)
    return len(rows)


def row_problems(english: str, translation: str) -> list[str]:
    """Why a translation cannot be used for this English (empty: it can)."""
    problems = []
    if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(translation)):
        problems.append("the %(...)s placeholders differ from the English")
    if UNSAFE.search(translation) and not UNSAFE.search(english):
        problems.append('brings < > & or a straight " (use “ ” and ’)')
    return problems


@dataclass
class ImportResult:
    changed: int = 0
    unchanged: int = 0
    unknown: int = 0
    refused: list[tuple[int, str, str]] | None = None  # (line, english, why)


def import_csv(cat: Catalog, source: IO[str]) -> ImportResult:
    """Take the reviewer's translations (matched by their English); a translation given for
    a message marked "check" clears the mark. Rows that would break a page are refused."""
    result = ImportResult(refused=[])
    assert result.refused is not None
    reader = csv.DictReader(source)
    missing = {"english", "translation"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"the file has no column {', '.join(sorted(missing))}")
    for row in reader:
        line = reader.line_num
        english = row.get("english") or ""
        plural = row.get("english_plural") or ""
        key: str | tuple[str, str] = (english, plural) if plural else english
        m = cat.get(key)
        if m is None or not english:
            result.unknown += 1
            continue
        new = [(row.get("translation") or "").strip()]
        if plural:
            new.append((row.get("translation_plural") or "").strip())
        if not all(new):
            result.unchanged += 1  # an empty cell never removes a translation
            continue
        why = [
            p
            for e, t in zip((english, plural or english), new, strict=False)
            for p in row_problems(e, t)
        ]
        if why:
            result.refused.append((line, english, "; ".join(dict.fromkeys(why))))
            continue
        value: str | tuple[str, ...] = tuple(new) if plural else new[0]
        if value == m.string and not m.fuzzy:
            result.unchanged += 1
            continue
        m.string = value
        m.flags.discard("fuzzy")
        result.changed += 1
    return result
