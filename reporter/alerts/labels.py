"""Labels of alert kinds and severities (translated on member pages, English for staff)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from reporter.domain.vocabulary import CATEGORIES
from reporter.models.alerts import CHALLENGE_REASONS, EXTRA_KINDS, SEVERITIES

KINDS: dict[str, object] = {t.value: t.label for t in CATEGORIES}
KINDS.update({"time_waster": _l("Time-waster"), "non_payment": _l("Did not pay")})
assert set(EXTRA_KINDS) <= set(KINDS)

SEVERITY_LABELS: dict[str, object] = {
    "caution": _l("Caution"),
    "danger": _l("Danger"),
    "extreme_danger": _l("Extreme danger"),
}
assert set(SEVERITIES) == set(SEVERITY_LABELS)

REASON_LABELS: dict[str, object] = {
    "not_this_person": _l("This is not the person who did it"),
    "number_reassigned": _l("The number or car now belongs to someone else"),
    "did_not_happen": _l("This did not happen"),
    "other": _l("Something else is wrong"),
}
assert set(CHALLENGE_REASONS) == set(REASON_LABELS)
