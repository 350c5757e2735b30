"""the customer in the loop: the customer's language, a notice's link, one-time look-up codes

``customer_contact.locale`` is the language the customer used at intake (their notices are in
it); ``outbox.link_token`` is the single-use link a customer notice carries, issued in the
step's own transaction; ``lookup_code`` holds the codes sent to a customer's contact to open
the status page: hashed, expiring, with the attempts made.

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_contact") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("link_token", sa.String(length=64), nullable=True))
    op.create_table(
        "lookup_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_lookup_code_case", "lookup_code", ["case_id", "created_at"])


def downgrade() -> None:
    op.drop_table("lookup_code")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("link_token")
    with op.batch_alter_table("customer_contact") as batch:
        batch.drop_column("locale")
