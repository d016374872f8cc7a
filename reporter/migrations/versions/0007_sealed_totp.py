"""TOTP secrets sealed under a key outside the database

Revision ID: 0007
Revises: 0006

`staff.totp_secret` becomes `v1:` + base64(secretbox(secret)) under a key derived from the
receipt pepper (reporter/models/sealed.py). Existing rows are sealed here, with the pepper of the
instance being migrated: the app's when run by `flask --app wsgi db upgrade` (or at start-up),
else RECEIPT_PEPPER or $INSTANCE_PATH/keys/pepper (default ./instance). Without the pepper and
with rows to seal, the migration stops and says so (nothing is changed).
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _key() -> bytes:
    from reporter.crypto.signing import KeyMissing
    from reporter.models import sealed as totpseal

    try:
        from flask import current_app

        settings = current_app.extensions["reporter.settings"]
        instance, override = settings.instance_path, settings.receipt_pepper
    except (RuntimeError, KeyError):
        from reporter.config import read_environment, receipt_pepper

        instance = Path(os.environ.get("INSTANCE_PATH") or Path.cwd() / "instance")
        override = receipt_pepper(read_environment().get("RECEIPT_PEPPER"))
    try:
        return totpseal.instance_key(Path(instance), override)
    except KeyMissing as exc:
        raise RuntimeError(
            f"sealing the TOTP secrets needs the receipt pepper of this instance ({exc}); set "
            "INSTANCE_PATH or RECEIPT_PEPPER and run the migration again"
        ) from exc


def upgrade() -> None:
    from reporter.models import sealed as totpseal

    op.alter_column(
        "staff",
        "totp_secret",
        type_=sa.String(length=255),
        existing_type=sa.String(length=64),
        existing_nullable=True,
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, totp_secret FROM staff WHERE totp_secret IS NOT NULL "
            "AND totp_secret NOT LIKE 'v1:%'"
        )
    ).all()
    if not rows:
        return
    key = _key()
    for staff_id, secret in rows:
        conn.execute(
            sa.text("UPDATE staff SET totp_secret = :s WHERE id = :i"),
            {"s": totpseal.seal(secret, key), "i": staff_id},
        )


def downgrade() -> None:
    from reporter.models import sealed as totpseal

    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, totp_secret FROM staff WHERE totp_secret LIKE 'v1:%'")
    ).all()
    if rows:
        key = _key()
        for staff_id, sealed in rows:
            conn.execute(
                sa.text("UPDATE staff SET totp_secret = :s WHERE id = :i"),
                {"s": totpseal.open_sealed(sealed, key), "i": staff_id},
            )
    op.alter_column(
        "staff",
        "totp_secret",
        type_=sa.String(length=64),
        existing_type=sa.String(length=255),
        existing_nullable=True,
    )
