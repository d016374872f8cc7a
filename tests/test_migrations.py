"""Migrations go from an empty database to head and back (one test per migration)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import CheckConstraint, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from reporter.domain.enums import ReportStatus
from reporter.models import load_all
from reporter.models.base import Base
from reporter.ops import migrate, pgcluster
from tests.conftest import fresh_database

REVISIONS = sorted(
    p.name.split("_")[0] for p in (Path(migrate.MIGRATIONS) / "versions").glob("[0-9]*.py")
)


def test_empty_to_head_and_back(cluster: Path) -> None:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            srid = conn.execute(
                text("SELECT srid FROM geometry_columns WHERE f_table_name = 'incident'")
            ).scalar()
            gist = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = 'incident' "
                    "AND indexdef ILIKE '%gist%'"
                )
            ).scalar()
        assert srid == 4326 and gist == 1
        # every revision can be stepped down and up again on its own
        for _ in REVISIONS:
            migrate.downgrade(engine, "-1")
            migrate.upgrade(engine, "+1")
        migrate.downgrade(engine, "base")
        left = set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        assert left == set()
        migrate.upgrade(engine)
        assert migrate.current(engine) == REVISIONS[-1]
    finally:
        engine.dispose()
        pgcluster.drop_database(cluster, name)


# PostGIS's own tables and schemas are not ours to compare
POSTGIS_SCHEMAS = {"tiger", "tiger_data", "topology"}
POSTGIS_TABLES = {"spatial_ref_sys", "layer", "topology"}


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if type_ == "table" and (
        name in POSTGIS_TABLES or getattr(obj, "schema", None) in POSTGIS_SCHEMAS
    ):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def test_models_match_migrated_schema(database_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the migrations describe one schema."""
    load_all()
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _ours, "compare_type": True}
            )
            assert compare_metadata(context, Base.metadata) == []
            # autogenerate does not compare CHECK constraints: their names, table by table
            inspector = inspect(conn)
            for table in Base.metadata.sorted_tables:
                declared = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
                found = {c["name"] for c in inspector.get_check_constraints(table.name)}
                assert declared == found, table.name
    finally:
        engine.dispose()


def test_database_refuses_unknown_status(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            ok = {
                "id": secrets.token_hex(10),
                "province": "GP",
                "channel": "web-js",
                "status": ReportStatus.NEW,
                "size_bucket": 1,
            }
            insert = text(
                "INSERT INTO report (id, received_on, province, channel, status, "
                "size_bucket, purged) VALUES (:id, current_date, :province, "
                ":channel, :status, :size_bucket, false)"
            )
            conn.execute(insert, ok)  # a known status is stored
            with pytest.raises(IntegrityError):
                conn.execute(insert, {**ok, "id": secrets.token_hex(10), "status": "approved"})
            conn.rollback()
    finally:
        engine.dispose()
