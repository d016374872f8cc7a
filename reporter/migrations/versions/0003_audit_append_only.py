"""audit log: append-only at the database level

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE OR TRUNCATE
        ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_event_no_change ON audit_event")
    op.execute("DROP FUNCTION audit_event_append_only()")
