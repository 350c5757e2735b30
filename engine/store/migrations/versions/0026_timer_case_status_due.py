"""the case's timers by status and due time: a step's deadline check reads its own case's timers

The lock read of every step asks whether a pending timer of the case fell due. With only ``case_id``
indexed, SQLite (no statistics) walked every overdue pending timer of every case instead, which in a
backlog of thousands of due timers is thousands of rows per step.

Revision ID: 0026
Revises: 0023
"""

from alembic import op

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_timer_case", table_name="timer")
    op.create_index("ix_timer_case_status_due", "timer", ["case_id", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_timer_case_status_due", table_name="timer")
    op.create_index("ix_timer_case", "timer", ["case_id"])
