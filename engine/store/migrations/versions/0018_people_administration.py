"""people administration: dated absence periods and disabled accounts

``absence`` replaces ``person.absent``: a person is away on the days of their periods (days of the
calendar's zone, both ends included; no last day: until further notice). Someone marked absent
before this migration gets one open period from today, so nobody comes back by surprise.
``person.disabled_at`` marks an account that may no longer log in or be given work.

Revision ID: 0018
Revises: 0015
"""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0022"
branch_labels = None
depends_on = None

DEFAULT_ZONE = "Asia/Shanghai"


def _today(conn: sa.Connection) -> date:
    """Today in the active deployment's calendar zone (the default zone before any deploy)."""
    calendar = conn.execute(sa.text("SELECT calendar FROM deployment ORDER BY version DESC LIMIT 1")).scalar()
    zone = DEFAULT_ZONE
    if isinstance(calendar, str):
        calendar = json.loads(calendar)
    if isinstance(calendar, dict) and isinstance(calendar.get("timezone"), str):
        zone = calendar["timezone"]
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()


def upgrade() -> None:
    absence = op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(length=64), sa.ForeignKey("person.username"), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_absence_username_days", "absence", ["username", "first_day", "last_day"])
    conn = op.get_bind()
    away = conn.execute(sa.text("SELECT username FROM person WHERE absent")).scalars().all()
    if away:
        today, now = _today(conn), datetime.now(UTC)
        op.bulk_insert(absence, [{"username": name, "first_day": today, "last_day": None, "note": "",
                                  "created_by": "migration", "created_at": now} for name in away])
    # Plain ALTERs, no batch copy: SQLite (3.35+) drops a column in place, while copying ``person`` would
    # trip the foreign keys of role_member, saved_view and absence that point at it.
    op.add_column("person", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_column("person", "absent")


def downgrade() -> None:
    op.add_column("person", sa.Column("absent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_column("person", "disabled_at")
    conn = op.get_bind()
    today = _today(conn)
    conn.execute(sa.text(
        "UPDATE person SET absent = :yes WHERE username IN (SELECT username FROM absence WHERE first_day <= :day "
        "AND (last_day IS NULL OR last_day >= :day))"), {"yes": True, "day": today})
    op.drop_table("absence")
