"""statistics: the counted facts of a case as indexed columns, and the stored review reports

Revision ID: 0020
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

ADDED = (
    ("customer_class", sa.String(length=32)),
    ("defect_type", sa.String(length=64)),
    ("department", sa.String(length=64)),
    ("satisfaction", sa.Integer()),
    ("satisfaction_level", sa.String(length=32)),
    ("compensation", sa.Float()),
)
GROUPED = ("channel", "complaint_type", "grade", "product_name", "department", "customer_class",
           "defect_type", "escalation_tier", "compensation")


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        for name, kind in ADDED:
            batch.add_column(sa.Column(name, kind, nullable=True))
    for column in GROUPED:
        op.create_index(f"ix_case_stat_{column}", "case", ["process_id", "created_at", column])
    op.create_index("ix_case_stat_satisfaction", "case",
                    ["process_id", "created_at", "satisfaction_level", "satisfaction"])
    op.create_index("ix_task_judged", "task", ["id", "state", "completed_at", "role"])
    op.create_index("ix_timer_due_judged", "timer", ["due_at", "attached_to", "status", "guarded_task_id", "case_id"])
    op.create_table(
        "statistics_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "period_start"),
    )


def downgrade() -> None:
    op.drop_table("statistics_report")
    op.drop_index("ix_timer_due_judged", table_name="timer")
    op.drop_index("ix_task_judged", table_name="task")
    op.drop_index("ix_case_stat_satisfaction", table_name="case")
    for column in GROUPED:
        op.drop_index(f"ix_case_stat_{column}", table_name="case")
    with op.batch_alter_table("case") as batch:
        for name, _kind in reversed(ADDED):
            batch.drop_column(name)
