"""single-use report forms and server-side inbox sessions

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_receipt", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_intake_token")),
    )
    op.create_index(op.f("ix_intake_token_receipt_until"), "intake_token", ["receipt_until"])
    op.create_index(op.f("ix_intake_token_expires_at"), "intake_token", ["expires_at"])
    op.create_table(
        "inbox_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipt.id"],
            ondelete="CASCADE",
            name=op.f("fk_inbox_session_receipt_id_receipt"),
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_inbox_session")),
    )
    op.create_index(op.f("ix_inbox_session_receipt_id"), "inbox_session", ["receipt_id"])
    op.create_index(op.f("ix_inbox_session_expires_at"), "inbox_session", ["expires_at"])


def downgrade() -> None:
    op.drop_table("inbox_session")
    op.drop_table("intake_token")
