"""case history head: a case's chain head moves onto its own row

A step updates its case's row anyway; with the head of the case's history chain there (``head_seq``,
``head_hash``), that update moves the head too and the step needs no statement of its own for it.
``stream_head`` keeps the heads of streams that belong to no case (the ``system`` stream).

Revision ID: 0024
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None

_CASE = sa.table("case", sa.column("number", sa.String), sa.column("head_seq", sa.Integer),
                 sa.column("head_hash", sa.String))
_HEAD = sa.table("stream_head", sa.column("stream", sa.String), sa.column("seq", sa.Integer),
                 sa.column("hash", sa.String))


def upgrade() -> None:
    op.add_column("case", sa.Column("head_seq", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("case", sa.Column("head_hash", sa.String(length=64), nullable=True))
    # Every existing case's head moves from stream_head onto its row (the same number and hash: the chains
    # and the log are untouched, so they verify as before).
    own = _HEAD.c.stream == _CASE.c.number
    op.execute(_CASE.update().where(sa.exists().where(own)).values(
        head_seq=sa.select(_HEAD.c.seq).where(own).scalar_subquery(),
        head_hash=sa.select(_HEAD.c.hash).where(own).scalar_subquery()))
    op.execute(_HEAD.delete().where(sa.exists().where(own)))


def downgrade() -> None:
    op.execute(_HEAD.insert().from_select(["stream", "seq", "hash"], sa.select(
        _CASE.c.number, _CASE.c.head_seq, _CASE.c.head_hash).where(_CASE.c.head_seq > 0)))
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of "case" would trip its foreign keys.
    op.drop_column("case", "head_hash")
    op.drop_column("case", "head_seq")
