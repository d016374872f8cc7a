"""`flask --app wsgi translations export LANG FILE.csv` / `import LANG FILE.csv` / `state`:
a reviewer reads and corrects a catalog in a spreadsheet (docs/translations.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import AppGroup

from reporter.config import AVAILABLE_LANGUAGES
from reporter.domain import catalogs

translations_cli = AppGroup(
    "translations",
    help="Catalogs: review state, spreadsheet export and import (docs/translations.md).",
)
LANG = click.Choice([code for code in AVAILABLE_LANGUAGES if code != "en"])


@translations_cli.command("state")
def state() -> None:
    """Each catalog's review state and how many messages it translates."""
    for lang in AVAILABLE_LANGUAGES:
        if lang == "en":
            continue
        cat = catalogs.load(lang)
        rows = catalogs.export_rows(cat)
        done = sum(1 for r in rows if r["state"] == "ok")
        click.echo(f"{lang}\t{catalogs.review_state(lang)}\t{done} of {len(rows)}")


@translations_cli.command("export")
@click.argument("lang", type=LANG)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export(lang: str, out: Path) -> None:
    """Write LANG's catalog as a CSV file (UTF-8, opens in LibreOffice or Excel)."""
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        n = catalogs.export_csv(catalogs.load(lang), fh)
    click.echo(f"{n} messages written to {out} ({catalogs.review_state(lang)})")


@translations_cli.command("import")
@click.argument("lang", type=LANG)
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--reviewed-by",
    "reviewer",
    default=None,
    help="Mark the catalog reviewed today by this person (her full name).",
)
def import_(lang: str, source: Path, reviewer: str | None) -> None:
    """Read translations back from a CSV made by `export`; compile with `make translations`."""
    cat = catalogs.load(lang)
    with source.open(encoding="utf-8-sig", newline="") as fh:
        try:
            result = catalogs.import_csv(cat, fh)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    for line, english, why in result.refused or []:
        click.echo(f"line {line} refused ({why}): {english[:60]}", err=True)
    if reviewer:
        left = [r for r in catalogs.export_rows(cat) if r["state"] != "ok"]
        if left or result.refused:
            raise click.ClickException(
                f"not marked reviewed: {len(left)} messages are missing or to check, "
                f"{len(result.refused or [])} rows refused"
            )
        catalogs.mark_reviewed(cat, reviewer, dt.date.today())
    catalogs.save(cat, lang)
    click.echo(
        f"{lang}: {result.changed} changed, {result.unchanged} unchanged, "
        f"{result.unknown} not in the catalog, {len(result.refused or [])} refused; "
        f"now {catalogs.review_state(lang)}. Run `make translations` to compile."
    )
