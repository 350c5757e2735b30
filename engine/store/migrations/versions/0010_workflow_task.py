"""finished workflow tasks as rows, so a step writes what changed instead of the whole state

Existing cases keep their whole state in ``case.state``: it loads as is (every task in it),
and the case's next step moves its finished tasks into rows.

Revision ID: 0010
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_task",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("workflow", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "task_id"),
    )


def downgrade() -> None:
    op.drop_table("workflow_task")
