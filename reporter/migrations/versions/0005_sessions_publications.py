"""staff session generations; one publication per report

Revision ID: 0005
Revises: 0004

- staff.session_generation: bumped on log-out, disabling, key reset and password change; a
  session cookie of an older generation is refused (issue 13, finding 2).
- report_publication: which incident a report was published as, at most one per report
  (finding 1). Reports published before this revision are linked from the audit log's
  "publish" events (object "report->public_id"); when one report was published several times,
  the first incident stays and the later ones are withdrawn, and the counts are rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# a frozen copy of the aggregation in reporter/maps/publish.py as of this revision
REBUILD_COUNTS = """
    INSERT INTO incident_count
        (resolution, cell, month, province, category, perpetrator, count)
    SELECT r.resolution, r.cell, i.month, i.province, c.category, p.perpetrator, count(*)
    FROM incident i
    CROSS JOIN LATERAL (VALUES (0, '*'), (5, i.cell_r5), (6, i.cell_r6), (7, i.cell_r7))
        AS r(resolution, cell)
    CROSS JOIN LATERAL (SELECT '*' UNION ALL SELECT unnest(i.categories)) AS c(category)
    CROSS JOIN LATERAL (SELECT '*' UNION ALL SELECT unnest(i.perpetrators)) AS p(perpetrator)
    WHERE NOT i.withdrawn AND r.cell IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
"""

PUBLISHED = """
    SELECT a.id AS event_id, split_part(a.object, '->', 1) AS report_id, i.id AS incident_id,
           a.staff_id
    FROM audit_event a
    JOIN incident i ON i.public_id = split_part(a.object, '->', 2)
    JOIN report r ON r.id = split_part(a.object, '->', 1)
    WHERE a.action = 'publish' AND NOT i.withdrawn
"""


def upgrade() -> None:
    op.add_column(
        "staff", sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_table(
        "report_publication",
        sa.Column("report_id", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            ondelete="CASCADE",
            name=op.f("fk_report_publication_report_id_report"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            ondelete="CASCADE",
            name=op.f("fk_report_publication_incident_id_incident"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["staff.id"],
            ondelete="SET NULL",
            name=op.f("fk_report_publication_published_by_staff"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_publication")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_report_publication_incident_id")),
    )
    op.execute(f"""
        INSERT INTO report_publication (report_id, incident_id, published_by)
        SELECT DISTINCT ON (report_id) report_id, incident_id, staff_id
        FROM ({PUBLISHED}) p ORDER BY report_id, event_id
    """)  # noqa: S608 - constant SQL
    withdrawn = (
        op.get_bind()
        .execute(
            sa.text(f"""
        UPDATE incident SET withdrawn = true WHERE id IN (
            SELECT p.incident_id FROM ({PUBLISHED}) p
            WHERE p.incident_id NOT IN (SELECT incident_id FROM report_publication))
    """)
        )
        .rowcount
    )  # noqa: S608 - constant SQL
    if withdrawn:
        op.execute("DELETE FROM incident_count")
        op.execute(REBUILD_COUNTS)
        op.execute("UPDATE aggregate_state SET token = md5(random()::text), changes = changes + 1")


def downgrade() -> None:
    op.drop_table("report_publication")
    op.drop_column("staff", "session_generation")
