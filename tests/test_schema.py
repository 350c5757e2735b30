"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.knowledge import SEARCH_INDEX, SEARCH_TABLE
from engine.store.db import make_engine, upgrade
from engine.store.models import Base


def _modelled(item, name, kind, reflected, _compare_to) -> bool:  # noqa: ANN001
    """Everything but the knowledge base's search index, which no model can describe: SQLite's FTS5 table
    (and its shadow tables) and PostgreSQL's GIN trigram index, both made by migration 0022."""
    return not (reflected and name and (name == SEARCH_INDEX or (kind == "table" and name.startswith(SEARCH_TABLE))))


def test_the_migrations_match_the_models(database_url):
    db = make_engine(database_url)
    try:
        upgrade(db)
        with db.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _modelled})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        db.dispose()
