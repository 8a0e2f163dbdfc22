"""Follow-up answers can be redacted: a row recording who removed an answer's text, when and why.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_redactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_answer_redactions_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_answer_redactions_answer_id_answers")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_answer_redactions_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_redactions")),
        sa.UniqueConstraint("answer_id", name=op.f("uq_answer_redactions_answer_id")),
    )
    op.create_index(
        op.f("ix_answer_redactions_plan_id"), "answer_redactions", ["plan_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_redactions_plan_id"), table_name="answer_redactions")
    op.drop_table("answer_redactions")
