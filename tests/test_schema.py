"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.store.db import make_engine, upgrade
from engine.store.models import Base


def test_the_migrations_match_the_models(database_url):
    db = make_engine(database_url)
    try:
        upgrade(db)
        with db.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        db.dispose()
