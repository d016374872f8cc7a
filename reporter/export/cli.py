"""flask --app wsgi export create --out DIR [filters] | export verify BUNDLE."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from reporter.crypto.signing import KeyMissing, fingerprint, load_signing_key, parse_public_key
from reporter.export.bundle import audit_object, build_bundle
from reporter.export.filters import KINDS, ExportInvalid, parse_export_filters
from reporter.export.verify import BundleRefused, verify_bundle
from reporter.models import audit, db

export_cli = AppGroup("export", help="Signed bundles of aggregates (and casework rows).")


@export_cli.command("create")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the bundle.",
)
@click.option(
    "--period",
    metavar="YYYY-MM|YYYY-Qn|YYYY",
    help="A released period (media; default: the latest released quarter).",
)
@click.option("--from", "month_from", metavar="YYYY-MM", help="First month (casework only).")
@click.option("--to", "month_to", metavar="YYYY-MM", help="Last month (casework only).")
@click.option("--province", multiple=True, metavar="CODE", help="Repeat for several (GP, WC, ...).")
@click.option("--category", multiple=True, help="Repeat for several.")
@click.option("--perpetrator", multiple=True, help="Repeat for several.")
@click.option("--kind", type=click.Choice(KINDS), default="media", show_default=True)
@click.option(
    "--res",
    type=click.Choice(["5", "6"]),
    default="6",
    show_default=True,
    help="Hexagon resolution of the map and cells.geojson.",
)
def create(
    out_dir: Path,
    period: str | None,
    month_from: str | None,
    month_to: str | None,
    province: tuple[str, ...],
    category: tuple[str, ...],
    perpetrator: tuple[str, ...],
    kind: str,
    res: str,
) -> None:
    """Build a signed bundle into DIR (progress on stderr, the bundle's path on stdout)."""
    try:
        f = parse_export_filters(
            {
                "period": period,
                "from": month_from,
                "to": month_to,
                "province": list(province),
                "category": list(category),
                "perpetrator": list(perpetrator),
                "kind": kind,
                "res": res,
            }
        )
        key = load_signing_key(current_app.extensions["reporter.settings"].instance_path)
    except (ExportInvalid, KeyMissing) as exc:
        raise click.ClickException(str(exc)) from exc
    settings = current_app.extensions["reporter.settings"]
    out_dir.mkdir(parents=True, exist_ok=True)
    session = db.session()
    # written under a temporary name, renamed when complete: no half bundle under a real name
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=".export-", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as fh:
            try:
                bundle = build_bundle(
                    session,
                    f,
                    settings,
                    key,
                    fh,
                    progress=lambda msg: click.echo(f"export: {msg}", err=True),
                )
            except ExportInvalid as exc:
                raise click.ClickException(str(exc)) from exc
        target = out_dir / bundle.filename
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    audit.record(session, None, "export", audit_object(f, bundle, "cli"))
    session.commit()
    click.echo(f"export: sha256 {bundle.sha256}, {bundle.size:,} bytes", err=True)
    click.echo(str(target))


@export_cli.command("verify")
@click.argument(
    "bundle_path", metavar="BUNDLE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--key",
    "key_text",
    metavar="BASE64|@FILE",
    help="The organisation's public key (default: this instance's signing key).",
)
def verify(bundle_path: Path, key_text: str | None) -> None:
    """Check BUNDLE's signature and every file; exit 0 only when all of it holds."""
    try:
        if key_text:
            if key_text.startswith("@"):
                key_text = Path(key_text[1:]).read_text()
            public = parse_public_key(key_text)
        else:
            public = load_signing_key(
                current_app.extensions["reporter.settings"].instance_path
            ).verify_key
    except (ValueError, OSError, KeyMissing) as exc:
        raise click.ClickException(f"no usable public key: {exc}") from exc
    try:
        with bundle_path.open("rb") as fh:
            problems = verify_bundle(fh, public)
    except BundleRefused as exc:
        click.echo(f"{bundle_path}: refused: {exc}", err=True)
        raise SystemExit(1) from exc
    if problems:
        click.echo(f"{bundle_path}: NOT VALID", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"{bundle_path}: OK, signature and every file hold (key {fingerprint(public)})")
