"""Measures of impact (KPIs), their actuals, changes to their definitions, and what they
evidence.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("short_id", sa.String(length=10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("better", sa.String(length=10), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("trajectory", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("frequency", sa.String(length=30), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name=op.f("fk_measures_owner_id_people")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_measures_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        sa.UniqueConstraint("plan_id", "short_id", name="uq_measures_plan_short_id"),
        sa.UniqueConstraint("plan_id", "key", name="uq_measures_plan_key"),
    )
    op.create_table(
        "measure_actuals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_actuals_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_measure_actuals_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_actuals")),
    )
    op.create_index(
        "ix_measure_actuals_measure_period", "measure_actuals", ["measure_id", "period", "id"]
    )
    op.create_index(op.f("ix_measure_actuals_recorded_at"), "measure_actuals", ["recorded_at"])
    op.create_table(
        "measure_workstreams",
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("workstream_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_workstreams_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["workstream_id"],
            ["workstreams.id"],
            name=op.f("fk_measure_workstreams_workstream_id_workstreams"),
        ),
        sa.PrimaryKeyConstraint("measure_id", "workstream_id", name=op.f("pk_measure_workstreams")),
    )
    op.create_index(
        op.f("ix_measure_workstreams_workstream_id"), "measure_workstreams", ["workstream_id"]
    )
    op.create_table(
        "measure_actions",
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_actions_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_measure_actions_action_id_actions")
        ),
        sa.PrimaryKeyConstraint("measure_id", "action_id", name=op.f("pk_measure_actions")),
    )
    op.create_index(op.f("ix_measure_actions_action_id"), "measure_actions", ["action_id"])
    op.create_table(
        "measure_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_edits_measure_id_measures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_edits")),
    )
    op.create_index(op.f("ix_measure_edits_measure_id"), "measure_edits", ["measure_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_measure_edits_measure_id"), table_name="measure_edits")
    op.drop_table("measure_edits")
    op.drop_index(op.f("ix_measure_actions_action_id"), table_name="measure_actions")
    op.drop_table("measure_actions")
    op.drop_index(op.f("ix_measure_workstreams_workstream_id"), table_name="measure_workstreams")
    op.drop_table("measure_workstreams")
    op.drop_index(op.f("ix_measure_actuals_recorded_at"), table_name="measure_actuals")
    op.drop_index("ix_measure_actuals_measure_period", table_name="measure_actuals")
    op.drop_table("measure_actuals")
    op.drop_table("measures")
