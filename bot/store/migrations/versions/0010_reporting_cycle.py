"""The reporting cycle: a board meeting may be a reporting deadline (with how many days before
it leads are asked), and highlight reports kept beside the updates they were recorded with.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_meetings") as batch:
        batch.add_column(
            sa.Column("reporting", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("checkin_days", sa.Integer(), nullable=False, server_default="10")
        )
    op.create_table(
        "highlight_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("no_change", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("planned", sa.Text(), nullable=True),
        sa.Column("barriers", sa.Text(), nullable=True),
        sa.Column("escalate", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_highlight_reports_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_highlight_reports_action_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["update_id"], ["updates.id"], name=op.f("fk_highlight_reports_update_id_updates")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board_meetings.id"],
            name=op.f("fk_highlight_reports_board_id_board_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_highlight_reports_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_highlight_reports")),
        sa.UniqueConstraint("update_id", name=op.f("uq_highlight_reports_update_id")),
    )
    op.create_index(
        "ix_highlight_reports_action_at", "highlight_reports", ["action_id", "at"], unique=False
    )
    op.create_index(
        op.f("ix_highlight_reports_board_id"), "highlight_reports", ["board_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_highlight_reports_board_id"), table_name="highlight_reports")
    op.drop_index("ix_highlight_reports_action_at", table_name="highlight_reports")
    op.drop_table("highlight_reports")
    with op.batch_alter_table("board_meetings") as batch:
        batch.drop_column("checkin_days")
        batch.drop_column("reporting")
