"""Dates relative to today, for values a form must accept (its year list moves with the clock).

months_ago(2)        -> dt.date, the first day of the month two months back
month_text(2)        -> "YYYY-MM" of that month
"""

from __future__ import annotations

import datetime as dt


def months_ago(n: int, today: dt.date | None = None) -> dt.date:
    """The first day of the month `n` months before this one (0: this month)."""
    today = today or dt.date.today()
    index = today.year * 12 + today.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_text(n: int) -> str:
    """ "YYYY-MM" of the month `n` months back."""
    return f"{months_ago(n):%Y-%m}"


# the month the tests' reporters say it happened: two months back, always in the form's lists
REPORTED = months_ago(2)
