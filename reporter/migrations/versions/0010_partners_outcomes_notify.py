"""partner organisations, referrals, case outcomes, staff notification choices (issue 17)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_org",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column(
            "case_key_id",
            sa.Integer(),
            sa.ForeignKey("case_key.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "partner_staff",
        sa.Column(
            "staff_id",
            sa.Integer(),
            sa.ForeignKey("staff.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "partner_id",
            sa.Integer(),
            sa.ForeignKey("partner_org.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_partner_staff_partner_id", "partner_staff", ["partner_id"])
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "report_id",
            sa.String(20),
            sa.ForeignKey("report.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "partner_id",
            sa.Integer(),
            sa.ForeignKey("partner_org.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kid", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("sealed_key", postgresql.JSONB(), nullable=False),
        sa.Column(
            "referred_by",
            sa.Integer(),
            sa.ForeignKey("staff.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("report_id", "partner_id"),
    )
    op.create_index("ix_referral_report_id", "referral", ["report_id"])
    op.create_index("ix_referral_partner_id", "referral", ["partner_id"])
    op.create_table(
        "case_outcome",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "report_id",
            sa.String(20),
            sa.ForeignKey("report.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("sealed_details", postgresql.JSONB(), nullable=True),
        sa.Column(
            "recorded_by",
            sa.Integer(),
            sa.ForeignKey("staff.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_case_outcome_report_id", "case_outcome", ["report_id"])
    op.create_table(
        "staff_notify",
        sa.Column(
            "staff_id",
            sa.Integer(),
            sa.ForeignKey("staff.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("digest", sa.String(10), nullable=False),
        sa.Column("notices", sa.Boolean(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("staff_notify")
    op.drop_table("case_outcome")
    op.drop_table("referral")
    op.drop_table("partner_staff")
    op.drop_table("partner_org")
