"""E-mail: who gets each board's digest and pack by e-mail, and the addresses that asked for no
more of a kind of e-mail.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_unsubscribes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_unsubscribes")),
        sa.UniqueConstraint("email", "kind", name=op.f("uq_mail_unsubscribes_email")),
    )
    op.create_table(
        "board_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("added_by_person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_by_person_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_person_id"],
            ["people.id"],
            name=op.f("fk_board_recipients_added_by_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board_meetings.id"],
            name=op.f("fk_board_recipients_board_id_board_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_board_recipients_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_person_id"],
            ["people.id"],
            name=op.f("fk_board_recipients_removed_by_person_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_recipients")),
    )
    with op.batch_alter_table("board_recipients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_board_recipients_board_id_email", ["board_id", "email"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("board_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_board_recipients_board_id_email")

    op.drop_table("board_recipients")
    op.drop_table("mail_unsubscribes")
