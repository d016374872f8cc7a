"""The controlled vocabulary: what happened, who did it, where (provinces).

Extend, never shrink: published incidents and exports refer to these values. Each term keeps a
HURIDOCS Events Standard Formats code beside it (micro-thesaurus 4, "Types of Acts", and 36,
"Types of Perpetrators"); see docs/vocabulary.md for how the codes were chosen and their review
state.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

VOCABULARY_VERSION = "2026-11-1"


@dataclass(frozen=True)
class Term:
    value: str
    label: object  # a lazy string, translated when rendered
    huridocs: str


CATEGORIES: tuple[Term, ...] = (
    Term("unlawful_arrest", _l("Arrested or held without a reason"), "MT4:02"),
    Term("extortion", _l("Asked for money, sex or goods (bribe)"), "MT4:11"),
    Term("sexual_assault", _l("Sexual assault or rape"), "MT4:0331"),
    Term("physical_assault", _l("Beaten, hurt or pepper-sprayed"), "MT4:03"),
    Term("confiscation", _l("Condoms, medicine, phone or papers taken or destroyed"), "MT4:1022"),
    Term("threats", _l("Threatened or insulted"), "MT4:0341"),
    Term("harassment", _l("Harassed or picked out because of sex work"), "MT4:0342"),
    Term("denied_health_care", _l("Refused health care"), "MT4:1121"),
    Term("complaint_refused", _l("Police refused to take a complaint"), "MT4:0813"),
    Term("service_refused", _l("Refused by a bank or social service"), "MT4:1113"),
    Term("robbery_nonpayment", _l("Robbed, or not paid"), "MT4:1021"),
    Term("stalking", _l("Followed or watched"), "MT4:0343"),
    Term("murder_attempt", _l("Murder or attempted murder"), "MT4:01"),
    Term("eviction_mob", _l("Evicted, or attacked by a group"), "MT4:1011"),
)

PERPETRATORS: tuple[Term, ...] = (
    Term("saps", _l("Police (SAPS)"), "MT36:111"),
    Term("metro_police", _l("Metro or municipal police"), "MT36:112"),
    Term("official", _l("Another official"), "MT36:11"),
    Term("client", _l("A client"), "MT36:41"),
    Term("manager", _l("A manager or brothel owner"), "MT36:42"),
    Term("partner", _l("A partner or lover"), "MT36:43"),
    Term("community", _l("Someone from the community"), "MT36:44"),
    Term("health_worker", _l("A health or social worker"), "MT36:12"),
    Term("business", _l("A business or bank"), "MT36:3"),
    Term("unknown", _l("I don't know"), "MT36:99"),
)

# ISO 3166-2:ZA codes; the report's province routes it to that province's moderators.
PROVINCES: dict[str, str] = {
    "EC": "Eastern Cape",
    "FS": "Free State",
    "GP": "Gauteng",
    "KZN": "KwaZulu-Natal",
    "LP": "Limpopo",
    "MP": "Mpumalanga",
    "NC": "Northern Cape",
    "NW": "North West",
    "WC": "Western Cape",
}

# The same provinces as the public pages show them, in the reader's language (staff pages, the
# API and exports keep the English names above).
PROVINCE_LABELS: dict[str, object] = {
    "EC": _l("Eastern Cape"),
    "FS": _l("Free State"),
    "GP": _l("Gauteng"),
    "KZN": _l("KwaZulu-Natal"),
    "LP": _l("Limpopo"),
    "MP": _l("Mpumalanga"),
    "NC": _l("Northern Cape"),
    "NW": _l("North West"),
    "WC": _l("Western Cape"),
}

VERIFICATION_LEVELS = ("reported", "corroborated", "documented")
SOURCE_TYPES = ("self", "peer_educator", "paralegal", "other")

CATEGORY_VALUES = frozenset(t.value for t in CATEGORIES)
PERPETRATOR_VALUES = frozenset(t.value for t in PERPETRATORS)


def category(value: str) -> Term:
    return next(t for t in CATEGORIES if t.value == value)


def perpetrator(value: str) -> Term:
    return next(t for t in PERPETRATORS if t.value == value)


def term(value: str) -> Term:
    """A category or a perpetrator type (their values never overlap)."""
    return next(t for t in (*CATEGORIES, *PERPETRATORS) if t.value == value)


# the month names of the form and the USSD menu
MONTH_NAMES = (
    _l("January"),
    _l("February"),
    _l("March"),
    _l("April"),
    _l("May"),
    _l("June"),
    _l("July"),
    _l("August"),
    _l("September"),
    _l("October"),
    _l("November"),
    _l("December"),
)
