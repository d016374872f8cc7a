"""safety alerts: alerts, their sources, keyed-hash identifiers, member codes, challenges and
the recorded POPIA authorisation (issue 16, docs/alerts.md)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _staff_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff.id"], ondelete="SET NULL", name=op.f(f"fk_{table}_{column}_staff")
    )


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("province", sa.String(3), nullable=False),
        sa.Column("area", sa.String(80), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("phone_count", sa.SmallInteger(), nullable=False),
        sa.Column("plate_count", sa.SmallInteger(), nullable=False),
        sa.Column("corroborated", sa.Boolean(), nullable=False),
        sa.Column("drafted_by", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("drafted_on", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("corrected_on", sa.Date(), nullable=True),
        _staff_fk("drafted_by", "alert"),
        _staff_fk("approved_by", "alert"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    for col in ("status", "province", "published_on", "expires_on"):
        op.create_index(op.f(f"ix_alert_{col}"), "alert", [col])
    op.create_table(
        "alert_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(20), nullable=False),
        sa.Column("report_id", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_source_alert_id_alert"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_source_report_id_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_source")),
        sa.UniqueConstraint("alert_id", "report_id", name=op.f("uq_alert_source_alert_id")),
    )
    op.create_index(op.f("ix_alert_source_alert_id"), "alert_source", ["alert_id"])
    op.create_table(
        "alert_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("item", sa.SmallInteger(), nullable=False),
        sa.Column("grams", sa.SmallInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_identifier_alert_id_alert"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_identifier")),
    )
    op.create_index("ix_alert_identifier_digest", "alert_identifier", ["digest"])
    op.create_index(op.f("ix_alert_identifier_alert_id"), "alert_identifier", ["alert_id"])
    op.create_table(
        "member_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lookup_hash", sa.String(64), nullable=False),
        sa.Column("province", sa.String(3), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        _staff_fk("issued_by", "member_code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_code")),
        sa.UniqueConstraint("lookup_hash", name=op.f("uq_member_code_lookup_hash")),
    )
    op.create_index(op.f("ix_member_code_expires_on"), "member_code", ["expires_on"])
    op.create_table(
        "alert_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_challenge_alert_id_alert"),
        ),
        _staff_fk("reviewed_by", "alert_challenge"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_challenge")),
    )
    op.create_index(op.f("ix_alert_challenge_alert_id"), "alert_challenge", ["alert_id"])
    op.create_index(op.f("ix_alert_challenge_state"), "alert_challenge", ["state"])
    op.create_table(
        "alert_authorisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _staff_fk("recorded_by", "alert_authorisation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_authorisation")),
    )


def downgrade() -> None:
    for table in (
        "alert_authorisation",
        "alert_challenge",
        "member_code",
        "alert_identifier",
        "alert_source",
        "alert",
    ):
        op.drop_table(table)
