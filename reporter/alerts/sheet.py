"""The printable sheet (PDF) of a province's current alerts, for drop-in centres and outreach.

It carries what members see (kind, severity, area, month, description, corroborated), never a
phone number or a registration: the platform holds those only as keyed hashes. The sheet says
how to check a number instead. English (staff print it); the descriptions are as approved.
"""

from __future__ import annotations

import datetime as dt
import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from reporter.alerts.labels import KINDS, SEVERITY_LABELS
from reporter.models.alerts import Alert


def render_sheet(province_name: str, alerts: list[Alert], today: dt.date) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Safety alerts {province_name}",
        author="",
        subject="",
        creator="",
        producer="",
    )
    styles = getSampleStyleSheet()
    story = [
        Paragraph(escape(f"Safety alerts: {province_name}"), styles["Title"]),
        Paragraph(
            escape(
                f"Current on {today.isoformat()}. For members only: do not pin "
                "up where clients can see it. To check a client's number or "
                "registration, use the checker with your member code."
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    if not alerts:
        story.append(Paragraph("No current alerts.", styles["Normal"]))
    for alert in alerts:
        head = (
            f"{SEVERITY_LABELS[alert.severity]}: {KINDS.get(alert.kind, alert.kind)}, "
            f"{alert.area}, {alert.month.strftime('%B %Y')}"
            + (" (corroborated)" if alert.corroborated else "")
        )
        story.append(Paragraph(escape(str(head)), styles["Heading4"]))
        story.append(Paragraph(escape(alert.description), styles["Normal"]))
        story.append(Spacer(1, 3 * mm))
    doc.build(story)
    return out.getvalue()
