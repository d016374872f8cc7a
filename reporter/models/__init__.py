"""The tables, by who may read them.

- `base`: the declarative base and its helpers; `db`: the session per app context.
- `staff`: staff accounts. `private`: what reporters sent (reports, attachments, receipts,
  messages, case keys, grants, intake tokens, inbox sessions): only the intake (forms, gateway)
  and staff (verify) sides import it.
- `public`: published incidents, their counts and releases (`counts`), site content: all the
  public map and the advocacy exports may read. `audit`: the hash-chained log of staff actions.
- `partners`, `alerts`: partner organisations, referrals and outcomes; safety alerts.

Importing this package loads nothing: import the module you need, so that a public blueprint
never loads a private model by accident (the import contracts in pyproject.toml check it).
"""

from __future__ import annotations


def load_all() -> None:
    """Import every table module, so Base.metadata knows every table (migrations, tests)."""
    from reporter.models import alerts, audit, partners, private, public, staff  # noqa: F401
