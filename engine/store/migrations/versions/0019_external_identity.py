"""accounts signed in through an identity provider: issuer and subject per account

``external_identity`` ties an OpenID Connect issuer and subject to the account (``person``) they
sign in as; an account created at a first sign-in has no usable password.

Revision ID: 0019
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_identity",
        sa.Column("issuer", sa.String(length=500), primary_key=True),
        sa.Column("subject", sa.String(length=255), primary_key=True),
        sa.Column("username", sa.String(length=64), sa.ForeignKey("person.username"), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("external_identity")
