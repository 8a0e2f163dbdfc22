"""A workstream keeps what its work has changed ("The difference it made: …" at the end of a
tracker's section), append-only like the history.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workstream_impacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("workstream_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_workstream_impacts_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["workstream_id"],
            ["workstreams.id"],
            name=op.f("fk_workstream_impacts_workstream_id_workstreams"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_workstream_impacts_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workstream_impacts")),
    )
    op.create_index(
        "ix_workstream_impacts_workstream_id_id",
        "workstream_impacts",
        ["workstream_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_workstream_impacts_workstream_id_id", table_name="workstream_impacts")
    op.drop_table("workstream_impacts")
