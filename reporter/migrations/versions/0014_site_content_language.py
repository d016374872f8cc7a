"""site_content.lang: a version of each staff-edited public text per language

Revision ID: 0014
Revises: 0013

Until now one saved text (the helplines, the safety advice) replaced the translated built-in
text in every language. Each saved text now belongs to one language ("*": every language that
has no text of its own); a page in a language without one shows the translated built-in text.
Texts saved before this migration were written on the English admin page: they become English.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "site_content", sa.Column("lang", sa.String(length=8), server_default="en", nullable=False)
    )
    op.drop_constraint("pk_site_content", "site_content", type_="primary")
    op.create_primary_key("pk_site_content", "site_content", ["key", "lang"])


def downgrade() -> None:
    # one text per key again: the English one if there is one, else any one of them
    op.execute(
        "DELETE FROM site_content a USING site_content b WHERE a.key = b.key "
        "AND a.lang <> b.lang AND (b.lang = 'en' OR (a.lang <> 'en' AND a.lang > b.lang))"
    )
    op.drop_constraint("pk_site_content", "site_content", type_="primary")
    op.create_primary_key("pk_site_content", "site_content", ["key"])
    op.drop_column("site_content", "lang")
