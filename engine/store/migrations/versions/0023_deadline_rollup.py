"""deadline roll-up: the daily deadline outcomes the statistics and the compliance report read (with the
steps' appended deltas the scheduler folds into them), and the
customer's contact key as a case column for the repeat complaints, both filled from the rows already there

Revision ID: 0023
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0024"
branch_labels = None
depends_on = None


def _bucket() -> list[sa.Column]:
    """A roll-up row's key and counts: the day's totals and a step's change of them have the same shape."""
    return [
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("late_max", sa.Float(), nullable=True),
        sa.Column("open_since", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("contact_key", sa.String(length=200), nullable=True))
    op.create_index("ix_case_repeat", "case", ["process_id", "created_at", "product_name", "contact_key"])
    op.create_index("ix_timer_step_status_due", "timer", ["attached_to", "status", "due_at", "id"])
    op.create_table(
        "deadline_day",
        *_bucket(),
        sa.PrimaryKeyConstraint("zone", "dim", "value", "day", "step", "role"),
    )
    op.create_table(
        "deadline_delta",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_bucket(),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deadline_delta_key", "deadline_delta", ["zone", "dim", "value", "day"])
    # The backfill judges every deadline already there as the steps will from now on (engine.deadline_rollup).
    from engine import deadline_rollup

    conn = op.get_bind()
    deadline_rollup.fill_contact_keys(conn, conn.execute(sa.text(
        "SELECT case_id, contact FROM customer_contact WHERE contact IS NOT NULL AND contact <> ''")).all())
    deadline_rollup.rebuild(conn)


def downgrade() -> None:
    op.drop_index("ix_deadline_delta_key", table_name="deadline_delta")
    op.drop_table("deadline_delta")
    op.drop_table("deadline_day")
    op.drop_index("ix_timer_step_status_due", table_name="timer")
    op.drop_index("ix_case_repeat", table_name="case")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of "case" would trip its foreign keys.
    op.drop_column("case", "contact_key")
