"""Alembic environment: the connection comes from the app (flask --app wsgi db upgrade)."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

import reporter.models  # noqa: F401  (registers every table on Base.metadata)
from reporter.modelbase import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
