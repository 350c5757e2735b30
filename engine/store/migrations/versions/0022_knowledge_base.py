"""knowledge base: "problem – cause – solution" entries with trigram search

SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+) kept in step by triggers; PostgreSQL:
the ``pg_trgm`` extension and a GIN trigram index. Both find any substring of three characters or more
through the index, and shorter ones (a two-character Chinese word such as 卡纸) by scanning it.

Revision ID: 0022
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("product_key", sa.String(length=200), nullable=False),
        sa.Column("defect_type", sa.String(length=200), nullable=True),
        sa.Column("source_case", sa.String(length=40), nullable=False),
        sa.Column("source_task", sa.String(length=64), nullable=False),
        sa.Column("source_element", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_task"),
    )
    op.create_index("ix_knowledge_entry_product", "knowledge_entry", ["product_key", "defect_type", "status"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The extension lives in one schema of the database (often public), which need not be on the search
        # path of an installation kept in a schema of its own: name the operator class by its schema.
        schema = op.get_bind().execute(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'")).scalar_one()
        quoted = op.get_bind().dialect.identifier_preparer.quote_identifier(schema)
        op.execute("CREATE INDEX ix_knowledge_entry_trgm ON knowledge_entry "
                   f"USING gin (search_text {quoted}.gin_trgm_ops)")
    else:
        op.execute("CREATE VIRTUAL TABLE knowledge_fts USING fts5(search_text, tokenize='trigram')")
        op.execute("CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge_entry BEGIN "
                   "INSERT INTO knowledge_fts(rowid, search_text) VALUES (new.id, new.search_text); END")
        op.execute("CREATE TRIGGER knowledge_fts_update AFTER UPDATE OF search_text ON knowledge_entry BEGIN "
                   "UPDATE knowledge_fts SET search_text = new.search_text WHERE rowid = new.id; END")
        op.execute("CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge_entry BEGIN "
                   "DELETE FROM knowledge_fts WHERE rowid = old.id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE knowledge_fts")
    op.drop_table("knowledge_entry")
