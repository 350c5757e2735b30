"""lists that cost what the page shows: involved_person, inbox and per-case indexes

Revision ID: 0009
Revises: 0007
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_task_state_role_due", "task", ["state", "role", "due_at", "created_at", "case_id", "id"]),
    ("ix_task_state_role_assignee_due", "task", ["state", "role", "assignee", "due_at", "created_at", "case_id", "id"]),
    ("ix_task_state_role_created", "task", ["state", "role", "created_at", "case_id", "id"]),
    ("ix_task_state_role_assignee_created", "task", ["state", "role", "assignee", "created_at", "case_id", "id"]),
    ("ix_timer_case", "timer", ["case_id"]),
    ("ix_timer_due", "timer", ["due_at"]),
    ("ix_outbox_case", "outbox", ["case_id"]),
    ("ix_case_created", "case", ["created_at"]),
    ("ix_involved_person_username", "involved_person", ["username", "case_id"]),
)


def upgrade() -> None:
    op.create_table(
        "involved_person",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), primary_key=True),
        sa.Column("username", sa.String(length=64), primary_key=True),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    conn = op.get_bind()
    case, person = sa.table("case", sa.column("id"), sa.column("involved_staff")), sa.table(
        "involved_person", sa.column("case_id"), sa.column("username"))
    rows = []
    for case_id, staff in conn.execute(sa.select(case.c.id, case.c.involved_staff)):
        names = json.loads(staff) if isinstance(staff, str) else staff
        rows += [{"case_id": case_id, "username": str(n)} for n in dict.fromkeys(names or [])]
        if len(rows) >= 5000:
            conn.execute(sa.insert(person), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(person), rows)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("involved_person")
