"""A board meeting whose papers are published with its agenda (a scrutiny committee's): its
board pack's cover says so. Existing meetings are not public.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_meetings") as batch:
        batch.add_column(
            sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("board_meetings") as batch:
        batch.drop_column("public")
