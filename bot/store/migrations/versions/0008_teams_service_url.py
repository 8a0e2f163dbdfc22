"""A Teams identity keeps the regional Bot Connector URL it was last seen through, so reminders
and private answers reach the person's personal chat.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("identities", sa.Column("service_url", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("service_url")
