"""alerts by SMS: opted-in members' numbers sealed to the alerts-SMS key, and when an alert
was sent (issue 16, docs/alerts.md)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alert", sa.Column("sms_sent_on", sa.Date(), nullable=True))
    op.create_table(
        "alert_sms_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_code_id", sa.Integer(), nullable=False),
        sa.Column("sealed", postgresql.JSONB(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_code_id"],
            ["member_code.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_sms_subscription_member_code_id_member_code"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_sms_subscription")),
        sa.UniqueConstraint(
            "member_code_id", name=op.f("uq_alert_sms_subscription_member_code_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_sms_subscription")
    op.drop_column("alert", "sms_sent_on")
