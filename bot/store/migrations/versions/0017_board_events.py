"""Board meetings keep their own history (added, moved, removed, settings changed, a kept pack
rewritten after a redaction), so the audit trail shows them. Existing meetings get their
"added" (and "removed") events from the columns that recorded them.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_board_events_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board_meetings.id"],
            name=op.f("fk_board_events_board_id_board_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_board_events_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_events")),
    )
    op.create_index(op.f("ix_board_events_plan_id"), "board_events", ["plan_id"], unique=False)
    connection = op.get_bind()
    events = sa.table(
        "board_events",
        *(
            sa.column(name)
            for name in ("plan_id", "board_id", "at", "person_id", "source", "event", "old", "new")
        ),
    )
    boards = connection.execute(
        sa.text(
            "SELECT id, plan_id, starts_at, created_at, created_by_person_id, source, removed_at "
            "FROM board_meetings"
        )
    ).all()
    rows = []
    for board_id, plan_id, starts_at, created_at, person_id, source, removed_at in boards:
        starts = f"{str(starts_at)[:16]} UTC"
        rows.append(
            {"plan_id": plan_id, "board_id": board_id, "at": created_at, "person_id": person_id,
             "source": source, "event": "added", "old": None, "new": starts}
        )  # fmt: skip
        if removed_at is not None:
            rows.append(
                {"plan_id": plan_id, "board_id": board_id, "at": removed_at, "person_id": None,
                 "source": "unknown", "event": "removed", "old": starts, "new": None}
            )  # fmt: skip
    if rows:
        connection.execute(events.insert(), rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_board_events_plan_id"), table_name="board_events")
    op.drop_table("board_events")
