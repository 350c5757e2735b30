"""pending timers indexed in the order workers claim them (due time, then id)

Workers claim ``ORDER BY due_at, id`` among pending timers. With only ``(status, due_at)``
indexed, many timers due at the same moment (a storm after an outage, a deadline shared by a
batch of cases) had to be sorted on every claim; a partial index in claim order reads the
first one directly, and holds only the pending timers.

Revision ID: 0011
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index("ix_timer_pending_due", "timer", ["due_at", "id"], postgresql_where=PENDING,
                    sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_timer_pending_due", table_name="timer")
