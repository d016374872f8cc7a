"""One report, at most one published incident (issue 13, finding 1), and withdrawing it.

Publishing twice would add a second copy to every count (defeating k) and draw the location
noise again (averaging the copies converges on the true place). The link lives on the private
side (`report_publication`, unique per report and per incident); the public `incident` table
carries no report id, and maps/export never read the link. Withdrawal is final: the report
cannot be published again, since a new draw of the noise would be a second sample of the place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from flask import abort, redirect, url_for
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from reporter.domain import policy
from reporter.models import audit, db
from reporter.models.private import Report, ReportPublication
from reporter.models.public import Incident
from reporter.verify import bp
from reporter.web.auth import allow, current_staff, may_see_province

CASEWORK = policy.CASEWORK
ALREADY = (
    "This report is already published (as {public_id}{withdrawn}). A report is published "
    "once only: publishing it again would count it twice and move its point again."
)


@dataclass(frozen=True)
class Publication:
    public_id: str
    incident_id: int
    withdrawn: bool
    published_on: str


def publication_of(sess: Session, report_id: str) -> Publication | None:
    row = (
        sess.execute(
            select(Incident)
            .join(ReportPublication, ReportPublication.incident_id == Incident.id)
            .where(ReportPublication.report_id == report_id)
        )
        .scalars()
        .first()
    )
    if row is None:
        return None
    return Publication(row.public_id, row.id, bool(row.withdrawn), row.published_on.isoformat())


def already_published(sess: Session, report: Report) -> str | None:
    """Lock the report (concurrent publishes of it wait here, in order) and say why it may not
    be published, or None. The lock is held until the caller commits or rolls back."""
    sess.execute(select(Report.id).where(Report.id == report.id).with_for_update())
    found = publication_of(sess, report.id)
    if found is None:
        return None
    return ALREADY.format(
        public_id=found.public_id, withdrawn=", since withdrawn" if found.withdrawn else ""
    )


def link(sess: Session, report: Report, incident: Incident, staff_id: int | None) -> None:
    """Record that the report was published as the incident (the unique keys refuse a second
    one, even if already_published was skipped)."""
    sess.add(ReportPublication(report_id=report.id, incident_id=incident.id, published_by=staff_id))
    sess.flush()


def withdraw_report(sess: Session, report_id: str, staff_id: int | None) -> Publication:
    """Withdraw the report's incident (and take it out of every count). Raises LookupError
    when the report was never published. Idempotent. The caller commits."""
    from reporter.maps.publish import withdraw_incident

    found = publication_of(sess, report_id)
    if found is None:
        raise LookupError("this report was not published")
    if not found.withdrawn:
        withdraw_incident(sess, found.incident_id)
        audit.record(sess, staff_id, "withdraw", f"{report_id}->{found.public_id}")
    return Publication(found.public_id, found.incident_id, True, found.published_on)


@bp.context_processor
def _publication() -> dict[str, Any]:
    return {"publication_of": lambda report_id: publication_of(db.session(), report_id)}


@bp.post("/reports/<report_id>/withdraw")
@allow(*CASEWORK)
def withdraw(report_id: str) -> Response:
    """Take a published incident off the map and out of every count (final)."""
    if len(report_id) > 40:
        abort(404)
    sess = db.session()
    report = sess.get(Report, report_id)
    staff = current_staff()
    assert staff is not None
    if report is None:
        abort(404)
    if not may_see_province(staff, report.province):
        abort(403)
    try:
        withdraw_report(sess, report.id, staff.id)
    except LookupError:
        abort(409)
    sess.commit()
    return redirect(url_for("verify.report_page", report_id=report.id, done="withdrawn"), code=303)


@click.command("withdraw")
@click.argument("report_id")
@with_appcontext
def withdraw_cli(report_id: str) -> None:
    """Withdraw the incident published from REPORT_ID (off the map, out of every count)."""
    sess = db.session()
    try:
        found = withdraw_report(sess, report_id.strip(), None)
    except LookupError as exc:
        raise click.ClickException(f"{report_id}: {exc}") from exc
    sess.commit()
    click.echo(f"withdrawn: incident {found.public_id} of report {report_id}")


incidents_cli = AppGroup("incidents", help="Published incidents (the public map).")


@incidents_cli.command("withdraw")
@click.argument("public_id")
def incidents_withdraw(public_id: str) -> None:
    """Withdraw the incident PUBLIC_ID, as shown on the map (off the map, out of every count).
    A report's incident goes through withdraw_report, as the staff route does; an incident with
    no report (the demo's) is withdrawn alone. Audited as `withdraw` either way; idempotent."""
    from reporter.maps.publish import withdraw_incident

    sess = db.session()
    incident = sess.scalars(select(Incident).where(Incident.public_id == public_id.strip())).first()
    if incident is None:
        raise click.ClickException(f"{public_id}: no incident with that id")
    report_id = sess.scalars(
        select(ReportPublication.report_id).where(ReportPublication.incident_id == incident.id)
    ).first()
    if report_id is not None:
        withdraw_report(sess, report_id, None)
    elif not incident.withdrawn:
        withdraw_incident(sess, incident.id)
        audit.record(sess, None, "withdraw", f"(no report)->{incident.public_id}")
    sess.commit()
    click.echo(f"withdrawn: incident {incident.public_id}")
