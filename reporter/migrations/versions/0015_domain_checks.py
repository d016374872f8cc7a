"""CHECK constraints for the typed domain values (issue 14)

Revision ID: 0015
Revises: 0014

A report's status and channel, a message's direction, a staff member's roles and a case key's
scope were plain strings that only the code checked. The database now refuses any other value.
The lists are those of reporter/domain/enums.py at the time of writing (a migration is frozen:
it does not import them); the models declare the same constraints (reporter/models/private.py,
reporter/models/staff.py), tests/test_migrations.py checks that both agree.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


STATUSES = ("new", "in_review", "needs_info", "verified", "rejected", "duplicate")
CHANNELS = ("web-js", "web-nojs", "ussd", "sms", "helpline", "outreach", "meeting", "walk-in")
DIRECTIONS = ("to_reporter", "from_reporter", "staff_note")
ROLES = ("moderator", "coordinator", "advocate", "admin", "partner")
SCOPES = ("national", "recovery", "EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC")

CHECKS = (  # (name, table, condition)
    ("ck_report_status", "report", f"status IN ({_in(STATUSES)})"),
    ("ck_report_channel", "report", f"channel IN ({_in(CHANNELS)})"),
    ("ck_message_direction", "message", f"direction IN ({_in(DIRECTIONS)})"),
    ("ck_staff_roles", "staff", f"roles <@ ARRAY[{_in(ROLES)}]::varchar[]"),
    ("ck_case_key_scope", "case_key", f"scope IN ({_in(SCOPES)}) OR scope ~ '^partner:[0-9]+$'"),
)


def upgrade() -> None:
    for name, table, condition in CHECKS:
        op.create_check_constraint(op.f(name), table, condition)


def downgrade() -> None:
    for name, table, _ in reversed(CHECKS):
        op.drop_constraint(op.f(name), table, type_="check")
