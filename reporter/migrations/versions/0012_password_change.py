"""staff.password_change_required: a forced password change at first log-in

Revision ID: 0012
Revises: 0011

An account an admin made on the admin page starts with a password the admin typed; she must
choose her own at her first log-in (after enrolling TOTP), before any staff page opens
(finding 13.9). Existing accounts are not forced.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff",
        sa.Column(
            "password_change_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("staff", "password_change_required")
