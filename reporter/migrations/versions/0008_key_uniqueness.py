"""one grant per person and case key; one active case key per scope

Revision ID: 0008
Revises: 0007

Both were check-then-write in the views, so two concurrent requests could store two grants of
one key to one person, or leave two active keys for one scope after two rotations. Existing
duplicates are resolved first (the newest grant stays; the newest active key stays active).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        DELETE FROM key_grant g USING key_grant newer
        WHERE g.case_key_id = newer.case_key_id AND g.staff_id = newer.staff_id
          AND g.id < newer.id
    """)
    op.create_unique_constraint(
        op.f("uq_key_grant_case_key_id"), "key_grant", ["case_key_id", "staff_id"]
    )
    op.execute("""
        UPDATE case_key k SET active = false FROM case_key newer
        WHERE k.scope = newer.scope AND k.active AND newer.active AND k.id < newer.id
    """)
    op.create_index(
        "uq_case_key_active_scope", "case_key", ["scope"], unique=True, postgresql_where="active"
    )


def downgrade() -> None:
    op.drop_index("uq_case_key_active_scope", table_name="case_key")
    op.drop_constraint(op.f("uq_key_grant_case_key_id"), "key_grant", type_="unique")
