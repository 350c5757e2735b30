"""timers know the task instance they guard (deadline compliance per step and role)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timer") as batch:
        batch.add_column(sa.Column("guarded_task_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timer") as batch:
        batch.drop_column("guarded_task_id")
