"""per-case hash chains written in the case's own transaction, and a sequenced Merkle log over all events

The global ``chain_head`` row every write locked is dropped. Each event now chains to the previous
event of its stream (its case, or ``system`` for events without a case) through ``stream_seq`` and
``prev_hash``; ``stream_head`` keeps each stream's head. ``log_index`` is set by the sequencer, which
builds an RFC 9162 Merkle tree over the sequenced events (``log_state`` its current frontier,
``tree_head`` every head it produced). Existing events are re-chained per stream from their stored
content (verify the old chain before upgrading: this migration trusts it).

Revision ID: 0007
Revises: 0008
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
SYSTEM = "system"
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def _material(prev, stream, stream_seq, case_number, at, actor, kind, version, digest) -> str:  # noqa: ANN001
    """The same leaf data as ``engine.history.leaf_data`` (copied: a migration never imports the app)."""
    from datetime import UTC

    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return json.dumps([prev, stream, stream_seq, case_number, at.astimezone(UTC).isoformat(), actor, kind, version,
                       digest], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("stream", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("stream_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("log_index", sa.Integer(), nullable=True))
    op.create_table(
        "stream_head",
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tree_head",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    bind = op.get_bind()
    event = sa.table("event", sa.column("at", sa.DateTime(timezone=True)), *(sa.column(c) for c in (
        "seq", "stream", "stream_seq", "case_number", "actor", "kind", "payload", "deployment_version",
        "prev_hash", "hash", "payload_digest")))
    heads: dict[str, tuple[int, str]] = {}
    rows = bind.execute(sa.select(event).order_by(event.c.seq)).all()
    for r in rows:
        stream = r.case_number or SYSTEM
        n, prev = heads.get(stream, (0, GENESIS))
        digest = r.payload_digest or hashlib.sha256(r.payload.encode("utf-8")).hexdigest()
        material = _material(prev, stream, n + 1, r.case_number, r.at, r.actor, r.kind, r.deployment_version, digest)
        new_hash = hashlib.sha256(material.encode("utf-8")).hexdigest()
        bind.execute(sa.update(event).where(event.c.seq == r.seq).values(
            stream=stream, stream_seq=n + 1, prev_hash=prev, hash=new_hash))
        heads[stream] = (n + 1, new_hash)
    heads.setdefault(SYSTEM, (0, GENESIS))
    op.bulk_insert(sa.table("stream_head", sa.column("stream"), sa.column("seq"), sa.column("hash")),
                   [{"stream": s, "seq": n, "hash": h} for s, (n, h) in heads.items()])
    op.bulk_insert(sa.table("log_state", sa.column("id"), sa.column("size"), sa.column("root"),
                            sa.column("frontier")), [{"id": 1, "size": 0, "root": EMPTY_ROOT, "frontier": "[]"}])
    with op.batch_alter_table("event") as batch:
        batch.alter_column("stream", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("stream_seq", existing_type=sa.Integer(), nullable=False)
    op.create_index("ix_event_stream_seq", "event", ["stream", "stream_seq"], unique=True)
    op.create_index("ix_event_log_index", "event", ["log_index"], unique=True)
    op.create_index("ix_event_unsequenced", "event", ["seq"], unique=False,
                    postgresql_where=sa.text("log_index IS NULL"), sqlite_where=sa.text("log_index IS NULL"))
    op.drop_table("chain_head")
    if bind.dialect.name == "postgresql":  # event ids now come from the database, not from a locked head
        op.execute("CREATE SEQUENCE event_seq_seq OWNED BY event.seq")
        op.execute("SELECT setval('event_seq_seq', COALESCE((SELECT max(seq) FROM event), 0) + 1, false)")
        op.execute("ALTER TABLE event ALTER COLUMN seq SET DEFAULT nextval('event_seq_seq')")


def downgrade() -> None:
    raise NotImplementedError("per-case chains cannot be folded back into one global chain without re-hashing")
