"""verification links: a customer's link may ask about an improvement item linked to their complaint

Revision ID: 0025
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_token") as batch:
        batch.add_column(sa.Column("item_number", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("link_token") as batch:
        batch.drop_column("item_number")
