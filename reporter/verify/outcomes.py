"""Case outcomes (issue 17): what happened next with a verified report, and k-anonymous counts.

An outcome is one coarse, typed step (OUTCOMES in reporter/models/partners.py) with a month; the
case number and court details are sealed in the moderator's browser to the report's case keys
(the server checks the recipients and cannot read them).

Counts: `outcome_counts` gives, per province, year (of the published incident's month) and
category, the number N of published, not withdrawn incidents and, per outcome, the number c of
them with that outcome recorded. A group with N < k is not shown at all; a count is shown only
when k <= c <= N - k (so neither "fewer than k had it" nor "all but fewer than k had it" is
told). This is per-answer suppression for staff (advocates, coordinators, admins). It is not yet
in the public release model (reporter/maps/release.py), because releases freeze each period
forever while outcomes keep changing for months after, and a public table needs the release's
complementary suppression across the lattice: docs/partners.md, "Outcomes in public".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.crypto import envelope
from reporter.domain import policy
from reporter.domain.enums import ReportStatus, Role
from reporter.domain.vocabulary import CATEGORIES, PROVINCES
from reporter.models import audit, db
from reporter.models.partners import OUTCOMES, CaseOutcome
from reporter.models.private import ReportPublication
from reporter.models.public import Incident
from reporter.services.keys import KeyMissing, load_keyring
from reporter.verify import bp
from reporter.verify.partners import _report_for_casework
from reporter.web.auth import allow, current_staff
from reporter.web.json import json_body, json_error

CASEWORK = policy.CASEWORK
VIEWERS = (Role.ADVOCATE, Role.COORDINATOR, Role.ADMIN)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: object, today: dt.date | None = None) -> dt.date | None:
    """YYYY-MM from 2000 to this month, as its first day; None otherwise."""
    m = _MONTH.match(str(text or "").strip())
    if not m:
        return None
    month = dt.date(int(m.group(1)), int(m.group(2)), 1)
    today = today or dt.date.today()
    if month.year < 2000 or month > dt.date(today.year, today.month, 1):
        return None
    return month


@bp.post("/reports/<report_id>/outcomes")
@allow(*CASEWORK)
def add_outcome(report_id: str) -> tuple[Response, int] | Response:
    """Record one outcome of a verified report; details only sealed (in her browser)."""
    report = _report_for_casework(report_id)
    data = json_body()
    if report.status != ReportStatus.VERIFIED:
        return json_error("Outcomes are recorded on verified reports only.", 409)
    code = data.get("outcome")
    if code not in OUTCOMES:
        return json_error("Choose what happened from the list.")
    month = parse_month(data.get("month"))
    if month is None:
        return json_error("Give the month as YYYY-MM, not in the future.")
    sealed = data.get("sealed_details")
    if sealed is not None:
        try:
            ring = load_keyring(db.session())
            sealed = envelope.validate(sealed, ring.required_kids(report.province))
        except KeyMissing:
            return json_error("The case keys are missing.", 503)
        except envelope.EnvelopeError as exc:
            return json_error(f"The sealed details were refused: {exc}")
    staff = current_staff()
    assert staff is not None
    sess = db.session()
    sess.add(
        CaseOutcome(
            report_id=report.id,
            outcome=code,
            month=month,
            sealed_details=sealed,
            recorded_by=staff.id,
        )
    )
    audit.record(sess, staff.id, "outcome", f"{report.id}:{code}:{month:%Y-%m}")
    sess.commit()
    return jsonify(ok=True, message=f"Recorded: {OUTCOMES[code]}, {month:%B %Y}.")


def outcomes_of(report_id: str) -> list[dict[str, Any]]:
    rows = db.session().scalars(
        select(CaseOutcome)
        .where(CaseOutcome.report_id == report_id)
        .order_by(CaseOutcome.month, CaseOutcome.id)
    )
    return [
        {
            "id": r.id,
            "label": OUTCOMES.get(r.outcome, r.outcome),
            "month": f"{r.month:%B %Y}",
            "sealed": r.sealed_details,
        }
        for r in rows
    ]


@bp.context_processor
def _templates() -> dict[str, Any]:
    return {"outcomes_of": outcomes_of, "outcome_choices": OUTCOMES}


@dataclass
class OutcomeRow:
    province: str
    year: int
    category: str
    total: int
    # outcome code -> count, or None when suppressed
    counts: dict[str, int | None] = field(default_factory=dict)


def outcome_counts(
    sess: Session, k: int, *, year: int | None = None, province: str | None = None
) -> list[OutcomeRow]:
    """Per province, year and category: published incidents (N) and, per outcome, how many of
    them have it (c), shown only when N >= k and k <= c <= N - k."""
    q = (
        select(
            Incident.id,
            Incident.province,
            Incident.month,
            Incident.categories,
            ReportPublication.report_id,
        )
        .join(ReportPublication, ReportPublication.incident_id == Incident.id)
        .where(Incident.withdrawn.is_(False))
    )
    if province:
        q = q.where(Incident.province == province)
    incidents = sess.execute(q).all()
    outcomes: dict[str, set[str]] = {}
    report_ids = [row.report_id for row in incidents]
    if report_ids:
        for rid, code in sess.execute(
            select(CaseOutcome.report_id, CaseOutcome.outcome).where(
                CaseOutcome.report_id.in_(report_ids)
            )
        ):
            outcomes.setdefault(rid, set()).add(code)
    groups: dict[tuple[str, int, str], list[set[str]]] = {}
    for row in incidents:
        if year is not None and row.month.year != year:
            continue
        for cat in row.categories:
            groups.setdefault((row.province, row.month.year, cat), []).append(
                outcomes.get(row.report_id, set())
            )
    out = []
    for (prov, yr, cat), members in sorted(groups.items()):
        n = len(members)
        if n < k:
            continue
        counts: dict[str, int | None] = {}
        for code in OUTCOMES:
            c = sum(1 for m in members if code in m)
            counts[code] = c if k <= c <= n - k else None
        out.append(OutcomeRow(prov, yr, cat, n, counts))
    return out


@bp.get("/outcomes")
@allow(*VIEWERS)
def outcomes_page() -> str:
    """Outcome counts for advocacy, k-suppressed (staff only for now; docs/partners.md)."""
    k = current_app.extensions["reporter.settings"].k_anonymity
    try:
        year = int(request.args["year"]) if request.args.get("year") else None
    except ValueError:
        year = None
    prov = request.args.get("province") if request.args.get("province") in PROVINCES else None
    rows = outcome_counts(db.session(), k, year=year, province=prov)
    labels = {t.value: str(t.label) for t in CATEGORIES}
    return render_template(
        "verify/outcomes.html",
        rows=rows,
        k=k,
        outcomes=OUTCOMES,
        labels=labels,
        provinces=PROVINCES,
        year=year,
        province=prov,
    )
