"""releases: public aggregates frozen at scheduled releases (docs/maps.md, issue 12)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cut_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through_month", sa.Date(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("k", sa.SmallInteger(), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("bins", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release")),
    )
    op.create_table(
        "release_period",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=7), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_release_period")),
    )
    op.create_index(op.f("ix_release_period_release_id"), "release_period", ["release_id"])
    op.create_table(
        "release_bin",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("province", sa.String(length=3), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "attribute", "resolution", "province", "cell", name=op.f("pk_release_bin")
        ),
    )
    op.add_column("incident", sa.Column("release_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_incident_release_id"), "incident", ["release_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_release_id"), table_name="incident")
    op.drop_column("incident", "release_id")
    op.drop_table("release_bin")
    op.drop_index(op.f("ix_release_period_release_id"), table_name="release_period")
    op.drop_table("release_period")
    op.drop_table("release")
