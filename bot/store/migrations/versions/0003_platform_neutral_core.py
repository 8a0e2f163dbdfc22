"""The platform-neutral core: one history writer recording every field's old and new value,
and a weekly digest's time as a time.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("updates") as batch:
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))

    # "09:00" becomes a TIME. SQLite keeps times as text in SQLAlchemy's own format.
    if sqlite:
        op.execute(
            sa.text(
                "UPDATE subscriptions SET time = time || :seconds WHERE length(time) = 5"
            ).bindparams(seconds=":00.000000")
        )
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column(
            "time",
            existing_type=sa.String(length=5),
            type_=sa.Time(),
            existing_nullable=False,
            postgresql_using="time::time",
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column(
            "time",
            existing_type=sa.Time(),
            type_=sa.String(length=5),
            existing_nullable=False,
            postgresql_using="to_char(time, 'HH24:MI')",
        )
    if sqlite:
        op.execute("UPDATE subscriptions SET time = substr(time, 1, 5)")
    with op.batch_alter_table("updates") as batch:
        batch.drop_column("changes")
