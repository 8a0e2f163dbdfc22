"""Strategic priorities, actions mapped to them, and frozen board pack snapshots.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "priorities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_priorities_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priorities")),
        sa.UniqueConstraint("plan_id", "key", name="uq_priorities_plan_id_key"),
        sa.UniqueConstraint("plan_id", "name_key", name="uq_priorities_plan_id_name_key"),
    )
    op.create_table(
        "action_priorities",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_action_priorities_action_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["priorities.id"],
            name=op.f("fk_action_priorities_priority_id_priorities"),
        ),
        sa.PrimaryKeyConstraint("action_id", "priority_id", name=op.f("pk_action_priorities")),
    )
    op.create_index(op.f("ix_action_priorities_priority_id"), "action_priorities", ["priority_id"])
    op.create_table(
        "board_pack_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_board_pack_snapshots_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board_meetings.id"],
            name=op.f("fk_board_pack_snapshots_board_id_board_meetings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_pack_snapshots")),
    )
    op.create_index(
        "ix_board_pack_snapshots_board_at", "board_pack_snapshots", ["board_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_board_pack_snapshots_board_at", table_name="board_pack_snapshots")
    op.drop_table("board_pack_snapshots")
    op.drop_index(op.f("ix_action_priorities_priority_id"), table_name="action_priorities")
    op.drop_table("action_priorities")
    op.drop_table("priorities")
