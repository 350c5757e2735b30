"""improvement loop: improvement items linked to complaints, recurring-problem counters

Revision ID: 0021
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "improvement_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item_case_id", "case_id"),
    )
    op.create_index("ix_improvement_link_case", "improvement_link", ["case_id"])
    op.create_table(
        "recurrence_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_key", sa.String(length=500), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("item_case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=True),
        sa.UniqueConstraint("group_key", "month"),
    )
    op.create_table(
        "recurrence_member",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("recurrence_group.id"), nullable=False),
    )
    op.create_index("ix_recurrence_member_group_id", "recurrence_member", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_recurrence_member_group_id", "recurrence_member")
    op.drop_table("recurrence_member")
    op.drop_table("recurrence_group")
    op.drop_index("ix_improvement_link_case", "improvement_link")
    op.drop_table("improvement_link")
