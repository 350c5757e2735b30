"""server-side sessions and API tokens: each a row that logout, revocation or an administrator ends

``user_session`` holds one row per login to the pages: the cookie carries only a random token
whose SHA-256 is the row's id, so a row that is ended (logout, an administrator, the idle or
absolute limit) refuses every copy of that cookie. ``api_token`` holds the bearer tokens of
``POST /api/v1/session`` the same way (hashed), with a name, when last used, when it expires and
when it was revoked.

Revision ID: 0015
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_user_session_username", "user_session", ["username", "created_at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_api_token_username", "api_token", ["username", "created_at"])


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("user_session")
