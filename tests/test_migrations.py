"""Migrations go from an empty database to head and back (one test per migration)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from reporter.models.base import Base
from reporter.ops import migrate, pgcluster
from tests.conftest import fresh_database

REVISIONS = sorted(p.name.split("_")[0] for p in
                   (Path(migrate.MIGRATIONS) / "versions").glob("[0-9]*.py"))


def test_empty_to_head_and_back(cluster: Path) -> None:
    name, url = fresh_database(cluster)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            srid = conn.execute(text(
                "SELECT srid FROM geometry_columns WHERE f_table_name = 'incident'")).scalar()
            gist = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'incident' "
                "AND indexdef ILIKE '%gist%'")).scalar()
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
