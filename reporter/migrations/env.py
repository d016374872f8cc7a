"""Alembic environment: the connection comes from the app (flask --app wsgi db upgrade)."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from reporter.models import load_all
from reporter.models.base import Base

load_all()

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
