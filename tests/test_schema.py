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


def test_someone_marked_absent_before_dated_absences_stays_away_until_further_notice(database_url):
    """Migration 0018 turns the old on/off flag into an open period from today, and back on downgrade."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS

    db = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def to(revision: str, up: bool = True) -> None:
        with db.begin() as conn:
            config.attributes["connection"] = conn
            (command.upgrade if up else command.downgrade)(config, revision)

    try:
        to("0015")
        with db.begin() as conn:
            conn.execute(sa.text("INSERT INTO person (username, display_name, password_hash, absent) VALUES "
                                 "('away1', 'A', 'x', :yes), ('here1', 'H', 'x', :no)"), {"yes": True, "no": False})
        to("0018")
        with db.connect() as conn:
            rows = conn.execute(sa.text("SELECT username, last_day, created_by FROM absence")).all()
            assert [(r[0], r[1], r[2]) for r in rows] == [("away1", None, "migration")]
        to("0015", up=False)
        with db.connect() as conn:
            flags = dict(conn.execute(sa.text("SELECT username, absent FROM person ORDER BY username")).all())
            assert {name: bool(flag) for name, flag in flags.items()} == {"away1": True, "here1": False}
    finally:
        db.dispose()


def test_migration_0025_gives_links_an_improvement_item_and_keeps_the_links_already_sent(database_url):
    """Links sent before 0025 keep working (no item: not a verification link); downgrading drops the column only."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS

    db = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def to(revision: str, up: bool = True) -> None:
        with db.begin() as conn:
            config.attributes["connection"] = conn
            (command.upgrade if up else command.downgrade)(config, revision)

    def columns() -> set[str]:
        return {c["name"] for c in sa.inspect(db).get_columns("link_token")}

    try:
        to("0020")
        with db.begin() as conn:
            conn.execute(sa.text("INSERT INTO link_token (id, case_number, purpose, created_at, expires_at) VALUES "
                                 "('old', '20260302-PHONE-001', 'confirm', :at, :at)"), {"at": "2026-03-02 10:00:00"})
        to("0025")
        assert "item_number" in columns()
        with db.begin() as conn:
            assert conn.execute(sa.text("SELECT purpose, item_number FROM link_token")).all() == [("confirm", None)]
            conn.execute(sa.text("UPDATE link_token SET item_number = '20260302-IMPROVE-001'"))
        to("0020", up=False)
        assert "item_number" not in columns()
        with db.connect() as conn:
            assert conn.execute(sa.text("SELECT id, purpose FROM link_token")).all() == [("old", "confirm")]
    finally:
        db.dispose()
