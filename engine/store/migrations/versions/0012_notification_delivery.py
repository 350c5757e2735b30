"""notices delivered: one delivery row per notice, recipient and channel; people's addresses and channels

A notice (an ``outbox`` row) is fanned out into ``delivery`` rows, each with an idempotency key
that the channel sees (the e-mail's Message-ID, the webhook's key), a status (pending, sending,
sent, failed), the attempts made, when to try next and why the last try failed. Workers claim
due rows in ``next_at`` order; ``outbox.planned_at`` says the fan-out is done.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DUE = sa.text("status IN ('pending', 'sending')")
UNPLANNED = sa.text("planned_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("email", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_unplanned", "outbox", ["id"], postgresql_where=UNPLANNED, sqlite_where=UNPLANNED)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False, unique=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_delivery_notice", "delivery", ["notice_id"])
    op.create_index("ix_delivery_case", "delivery", ["case_id"])
    op.create_index("ix_delivery_due", "delivery", ["next_at", "id"], postgresql_where=DUE, sqlite_where=DUE)
    op.create_index("ix_delivery_inbox", "delivery", ["recipient", "channel", "id"])


def downgrade() -> None:
    op.drop_table("delivery")
    op.drop_index("ix_outbox_unplanned", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("planned_at")
    with op.batch_alter_table("person") as batch:
        for column in ("locale", "channels", "phone", "email"):
            batch.drop_column(column)
