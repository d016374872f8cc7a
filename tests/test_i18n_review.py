"""Review state of each catalog, what a production site serves, the spreadsheet round trip a
reviewer uses, and staff-edited public text per language.

Cost: a few seconds (one `pybabel update` on a copy of a catalog; the admin test logs in one
staff member with fast key derivation).
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from reporter.config import AVAILABLE_LANGUAGES, build_settings
from reporter.domain import catalogs
from reporter.models import db
from reporter.models.public import SiteContent
from tests.support.staff import csrf_of, log_in, make_staff

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in AVAILABLE_LANGUAGES if lang != "en"]
PRODUCTION = {
    "REPORTER_MODE": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://db.invalid/reporter",
    "REDIS_URL": "redis://127.0.0.1:6379",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalog_says_its_review_state(lang: str) -> None:
    text = catalogs.po_path(lang).read_text(encoding="utf-8")
    head = text.split("\nmsgid ", 1)[0]
    assert "# Review-State: " in head, f"{lang}: no Review-State line in the header comment"
    # none has been reviewed by a native speaker yet (docs/translations.md)
    assert str(catalogs.review_state(lang)) == "draft"


def test_review_states_are_read_strictly() -> None:
    ok = catalogs.parse_review_state(
        "zu", '# Review-State: reviewed 2026-12-01 by Thandi M\nmsgid ""\n'
    )
    assert ok.reviewed and ok.date == "2026-12-01" and ok.reviewer == "Thandi M"
    assert str(ok) == "reviewed 2026-12-01 by Thandi M"
    for text in (
        "# Review-State: draft\n",
        "# Review-State: reviewed\n",
        "# Review-State: reviewed by someone\n",
        "no line at all\n",
        # a line below the header (in a message's comment) does not count
        'msgid ""\nmsgstr ""\n\n# Review-State: reviewed 2026-12-01 by X\nmsgid "a"\n',
    ):
        assert not catalogs.parse_review_state("zu", text).reviewed, text
    assert catalogs.review_state("en").reviewed  # the source
    assert not catalogs.review_state("xx").reviewed  # no catalog: never taken as reviewed


def test_make_translations_keeps_the_review_state(tmp_path: Path) -> None:
    # `pybabel update` drops header fields it does not know, so the state is a comment line
    shutil.copytree(catalogs.TRANSLATIONS / "af", tmp_path / "af")
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "--quiet",
            "update",
            "-i",
            str(ROOT / "messages.pot"),
            "-d",
            str(tmp_path),
            "-l",
            "af",
        ],
        check=True,
    )
    assert str(catalogs.review_state("af", tmp_path)) == "draft"
    cat = catalogs.load("af", tmp_path)
    catalogs.mark_reviewed(cat, "Anna  de Wet", dt.date(2026, 12, 1))
    catalogs.save(cat, "af", tmp_path)
    subprocess.run(
        [
            str(pybabel),
            "--quiet",
            "update",
            "-i",
            str(ROOT / "messages.pot"),
            "-d",
            str(tmp_path),
            "-l",
            "af",
        ],
        check=True,
    )
    assert str(catalogs.review_state("af", tmp_path)) == "reviewed 2026-12-01 by Anna de Wet"


def test_production_serves_only_reviewed_catalogs_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts = build_settings({**PRODUCTION, "LANGUAGES": "zu,af"}, tmp_path)
    assert drafts.languages == ("en",) and drafts.withheld_languages == ("zu", "af")
    served = build_settings(
        {**PRODUCTION, "LANGUAGES": "zu,af", "SERVE_DRAFT_LANGUAGES": "1"}, tmp_path
    )
    assert served.languages == ("en", "zu", "af") and served.withheld_languages == ()
    # a reviewed catalog is served without the setting
    monkeypatch.setattr(
        "reporter.config.review_state",
        lambda lang: catalogs.ReviewState(lang, lang in ("en", "af"), "2026-12-01", "A"),
    )
    one = build_settings({**PRODUCTION, "LANGUAGES": "zu,af"}, tmp_path)
    assert one.languages == ("en", "af") and one.withheld_languages == ("zu",)
    # the demo and the tests serve drafts, so reviewers can read them in place
    demo = build_settings({"REPORTER_MODE": "demo", "SECRET_KEY": "x" * 40}, tmp_path)
    assert demo.languages == AVAILABLE_LANGUAGES


def test_a_reviewer_corrects_a_catalog_in_a_spreadsheet(tmp_path: Path) -> None:
    shutil.copytree(catalogs.TRANSLATIONS / "zu", tmp_path / "zu")
    out = io.StringIO()
    n = catalogs.export_csv(catalogs.load("zu", tmp_path), out)
    rows = out.getvalue().splitlines()
    assert n == len(rows) - 1 and rows[0].startswith("english,translation,")
    # she changes two rows, breaks the placeholder in a third, and leaves one cell empty
    edited = io.StringIO()
    edited.write("english,translation,english_plural,translation_plural\n")
    edited.write("Quick exit,Phuma manje,,\n")
    edited.write(
        '"%(num)s file was attached.",Kunamathiselwe ifayela eli-%(num)s.,'
        '"%(num)s files were attached.",Kunamathiselwe amafayela angu-%(num)s.\n'
    )
    edited.write('"At most %(n)s files, %(mb)s MB each.",Amafayela angu-%(n)s kuphela.,,\n')
    edited.write("Skip to content,,,\n")
    edited.write("Not a message of this site,Akukho,,\n")
    cat = catalogs.load("zu", tmp_path)
    result = catalogs.import_csv(cat, io.StringIO(edited.getvalue()))
    assert (result.changed, result.unchanged, result.unknown) == (2, 1, 1)
    assert result.refused and "placeholders" in result.refused[0][2]
    assert cat["Quick exit"].string == "Phuma manje"
    assert cat["%(num)s file was attached."].string[1] == "Kunamathiselwe amafayela angu-%(num)s."
    assert cat["Skip to content"].string  # an empty cell removes nothing
    with pytest.raises(ValueError, match="column"):
        catalogs.import_csv(cat, io.StringIO("a,b\n1,2\n"))
    assert catalogs.row_problems("Send", "<b>Thumela</b>")


def test_the_admin_page_shows_each_catalogs_state(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES=",".join(AVAILABLE_LANGUAGES))
    admin = make_staff(app, "admin", ["admin"], iterations=1000)
    client = app.test_client()
    assert log_in(app, client, admin).status_code == 303
    body = client.get("/staff/admin").get_data(as_text=True)
    table = body.split('id="catalog-states"', 1)[1].split("</table>", 1)[0]
    for lang in TRANSLATED:
        row = table.split(f'data-lang="{lang}"', 1)[1].split("</tr>", 1)[0]
        assert "draft" in row and "yes" in row, (lang, row)
    assert "serves draft catalogs too" in body


def test_a_site_serving_reviewed_catalogs_only_says_which_it_withheld(
    app_factory: Callable[..., Flask],
) -> None:
    # SERVE_DRAFT_LANGUAGES off: production's default
    strict = app_factory(LANGUAGES=",".join(AVAILABLE_LANGUAGES), SERVE_DRAFT_LANGUAGES="0")
    assert strict.extensions["reporter.settings"].languages == ("en",)
    assert strict.test_client().get("/zu/report").status_code == 404
    admin = make_staff(strict, "admin", ["admin"], iterations=1000)
    client = strict.test_client()
    assert log_in(strict, client, admin).status_code == 303
    body = client.get("/staff/admin").get_data(as_text=True)
    assert "serves only reviewed catalogs" in body
    assert body.count("a draft, withheld") == len(TRANSLATED)


def test_staff_edited_text_has_a_version_per_language(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(LANGUAGES=",".join(AVAILABLE_LANGUAGES))
    admin = make_staff(app, "admin", ["admin"], iterations=1000)
    client = app.test_client()
    assert log_in(app, client, admin).status_code == 303

    def save(lang: str, html: str) -> None:
        resp = client.post(
            "/staff/admin",
            data={
                "csrf_token": csrf_of(client, "/staff/admin"),
                "what": "content",
                "content-key": "helplines",
                "content-lang": lang,
                "content-html": html,
            },
        )
        assert resp.status_code == 303

    def helplines(path: str) -> str:
        page = app.test_client().get(path).get_data(as_text=True)
        return page.split('id="help"', 1)[1].split("</section>", 1)[0]

    save("zu", "<p>Shayela u-0800 111 111</p>")
    assert "0800 111 111" in helplines("/zu/")
    # English and the other languages keep their translated built-in text
    assert "0800 111 111" not in helplines("/") and "0800 111 111" not in helplines("/xh/")
    assert "0800 60 60 60" in helplines("/xh/")
    # a text for every language shows where a language has none of its own
    save("*", "<p>Call 0800 222 222</p>")
    assert "0800 222 222" in helplines("/xh/") and "0800 111 111" in helplines("/zu/")
    with app.app_context():
        rows = {(r.key, r.lang) for r in db.session().query(SiteContent)}
    assert rows == {("helplines", "zu"), ("helplines", "*")}
