"""The history proves itself: every history row is linked into its plan's hash chain
(bot/store/chain.py), and people merged into one are recorded. Existing rows are chained here,
per plan, in the order they were written (by time, then by table, then by id).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# When each chained table's rows were written: the order existing rows are linked in.
WRITTEN_AT = {
    "updates": "at",
    "highlight_reports": "at",
    "measure_edits": "at",
    "measure_actuals": "recorded_at",
    "answers": "at",
    "answer_redactions": "at",
}


def upgrade() -> None:
    op.create_table(
        "chain_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source_table", sa.String(length=30), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_chain_links_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_links")),
        sa.UniqueConstraint("plan_id", "seq", name="uq_chain_links_plan_id_seq"),
        sa.UniqueConstraint("source_table", "row_id", name="uq_chain_links_source_table_row_id"),
    )
    op.create_table(
        "person_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_person_id", sa.Integer(), nullable=False),
        sa.Column("new_person_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
    )
    _chain_existing_rows(op.get_bind())


def _chain_existing_rows(connection: sa.Connection) -> None:
    from bot.store import chain

    written: list[tuple[object, int, int, str]] = []
    for order, (table, column) in enumerate(WRITTEN_AT.items()):
        for row_id, at in connection.execute(sa.text(f"SELECT id, {column} FROM {table}")):
            written.append((str(at), order, row_id, table))
    written.sort()
    chain.append(connection, [(table, row_id) for _, _, row_id, table in written])


def downgrade() -> None:
    op.drop_table("person_merges")
    op.drop_table("chain_links")
