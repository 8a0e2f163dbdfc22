"""Indexes for the summary and digest read models, measured with bench/ at 10,000 actions.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_actions_plan_rag", table_name="actions")
    op.drop_index("ix_actions_plan_due", table_name="actions")
    op.create_index("ix_actions_plan_rag_sort", "actions", ["plan_id", "rag", "sort_key"])
    op.create_index("ix_actions_plan_due_status", "actions", ["plan_id", "due", "status"])
    op.create_index(
        "ix_actions_plan_workstream_rag_sort",
        "actions",
        ["plan_id", "workstream_id", "rag", "sort_key", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_actions_plan_workstream_rag_sort", table_name="actions")
    op.drop_index("ix_actions_plan_due_status", table_name="actions")
    op.drop_index("ix_actions_plan_rag_sort", table_name="actions")
    op.create_index("ix_actions_plan_due", "actions", ["plan_id", "due"])
    op.create_index("ix_actions_plan_rag", "actions", ["plan_id", "rag"])
