"""The typed values every layer shares (issue 14): a report's status and channel, a message's
direction, a staff role, a case key's scope.

They are `StrEnum`s: a member is the string it stands for (`ReportStatus.NEW == "new"`), so the
stored data, the JSON, the templates and the JavaScript see the same strings as before. The
database refuses any other value (CHECK constraints, migration 0015, declared in the models too).

Import-free. reporter/domain/payload.py (which imports nothing of reporter) keeps its own
CHANNELS; tests/test_payload.py holds it equal to models.private.CHANNELS = tuple(Channel).
"""

from __future__ import annotations

from enum import StrEnum


class ReportStatus(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    VERIFIED = "verified"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


# a final report is purged after the retention period (reporter/ops/cli.py)
FINAL_STATUSES = (ReportStatus.VERIFIED, ReportStatus.REJECTED, ReportStatus.DUPLICATE)


class Channel(StrEnum):
    WEB_JS = "web-js"
    WEB_NOJS = "web-nojs"
    USSD = "ussd"
    SMS = "sms"
    HELPLINE = "helpline"
    OUTREACH = "outreach"
    MEETING = "meeting"
    WALK_IN = "walk-in"


class Direction(StrEnum):
    """Message.direction: the reporter's inbox shows only the first two; a staff note (a
    reason for needs-info or reject) never reaches her."""

    TO_REPORTER = "to_reporter"
    FROM_REPORTER = "from_reporter"
    STAFF_NOTE = "staff_note"


INBOX_DIRECTIONS = (Direction.TO_REPORTER, Direction.FROM_REPORTER)


class Role(StrEnum):
    MODERATOR = "moderator"
    COORDINATOR = "coordinator"
    ADVOCATE = "advocate"
    ADMIN = "admin"
    PARTNER = "partner"  # staff of a partner organisation (issue 17): only what was referred


class KeyScope(StrEnum):
    """The fixed scopes of a case key; the others are a province code (PROVINCES) or
    `partner:<id>` (partner_scope)."""

    NATIONAL = "national"
    RECOVERY = "recovery"


PARTNER_SCOPE = "partner:"
# what case_key.scope may hold (the CHECK constraint of migration 0015 and models/private.py)
PARTNER_SCOPE_PATTERN = "^partner:[0-9]+$"


def partner_scope(partner_id: int) -> str:
    return f"{PARTNER_SCOPE}{partner_id}"


def is_scope(value: str) -> bool:
    """A scope a case key may have: national, recovery, a province or partner:<id>."""
    from reporter.domain.vocabulary import PROVINCES  # lazy: payload.py imports this module

    if value in tuple(KeyScope) or value in PROVINCES:
        return True
    rest = value.removeprefix(PARTNER_SCOPE)
    return rest != value and rest.isascii() and rest.isdigit()
