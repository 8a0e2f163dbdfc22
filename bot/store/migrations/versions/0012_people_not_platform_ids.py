"""History, follow-ups, answers, figures, boards and kept packs record the person who acted and
the surface it came through; platform user ids stay only in identities.

Each row's stored user id becomes its person: the identity with that id, else the person with
that e-mail (the console's `--user`), else a new person holding it as an identity, so no row
loses who made it. "import", "system", "scheduler" and "terminal" were no one: their rows name
no person and say so in their source. Tables that had no source take the platform of the
identity behind the row ("unknown" where none is).

Revision ID: 0012
Revises: 0011
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# (table, the user-id column, its person column, whether the person column is new, whether
# the table already had a source)
WHO = (
    ("updates", "by", "person_id", False, True),
    ("followups", "raised_by", "raised_by_person_id", False, False),
    ("followups", "closed_by", "closed_by_person_id", True, None),
    ("answers", "by", "person_id", False, False),
    ("answer_redactions", "by", "person_id", False, True),
    ("board_meetings", "created_by", "created_by_person_id", True, False),
    ("subscriptions", "created_by", "created_by_person_id", True, False),
    ("measure_actuals", "by", "person_id", False, True),
    ("measure_edits", "by", "person_id", True, True),
    ("board_pack_snapshots", "created_by", "created_by_person_id", True, False),
)
# what stood for no person, and the surface each means
NO_ONE = {
    "import": "import",
    "system": "scheduler",
    "scheduler": "scheduler",
    "terminal": "terminal",
}
SURFACES = ("slack", "teams", "console", "import", "terminal", "scheduler", "unknown")

# how user ids looked on each platform when these rows were written (this revision's own copy)
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_AAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def upgrade() -> None:
    bind = op.get_bind()
    for table, _, person, new, had_source in WHO:
        with op.batch_alter_table(table) as batch:
            if new:
                batch.add_column(sa.Column(person, sa.Integer(), nullable=True))
                batch.create_foreign_key(
                    batch.f(f"fk_{table}_{person}_people"), "people", [person], ["id"]
                )
            if had_source is False:
                batch.add_column(sa.Column("source", sa.String(length=20), nullable=True))

    people: dict[str, tuple[int, str]] = {}
    for table, by, person, _, had_source in WHO:
        rows = bind.execute(
            sa.text(f"SELECT DISTINCT {by} FROM {table} WHERE {by} IS NOT NULL")
        ).all()
        for (user_id,) in rows:
            if user_id in NO_ONE:
                if had_source is False:
                    bind.execute(
                        sa.text(f"UPDATE {table} SET source = :s WHERE {by} = :u"),
                        {"s": NO_ONE[user_id], "u": user_id},
                    )
                elif had_source:
                    bind.execute(
                        sa.text(f"UPDATE {table} SET {person} = NULL, source = :s WHERE {by} = :u"),
                        {"s": NO_ONE[user_id], "u": user_id},
                    )
                continue
            if user_id not in people:
                people[user_id] = _person_for(bind, user_id)
            person_id, platform = people[user_id]
            bind.execute(
                sa.text(f"UPDATE {table} SET {person} = :p WHERE {by} = :u AND {person} IS NULL"),
                {"p": person_id, "u": user_id},
            )
            if had_source is False:
                bind.execute(
                    sa.text(f"UPDATE {table} SET source = :s WHERE {by} = :u AND source IS NULL"),
                    {"s": platform, "u": user_id},
                )
        if had_source is not None:
            bind.execute(
                sa.text(
                    f"UPDATE {table} SET source = 'unknown' WHERE source IS NULL "
                    f"OR source NOT IN ({', '.join(repr(s) for s in SURFACES)})"
                )
            )

    for table, by, _, _, had_source in WHO:
        with op.batch_alter_table(table) as batch:
            if had_source is False:
                batch.alter_column("source", existing_type=sa.String(20), nullable=False)
            batch.drop_column(by)


def _person_for(bind: sa.Connection, user_id: str) -> tuple[int, str]:
    """The person a stored user id names, and the platform it was on; created with that id as
    their identity when no one has it yet."""
    found = bind.execute(
        sa.text(
            "SELECT person_id, platform FROM identities WHERE external_id = :u ORDER BY id LIMIT 1"
        ),
        {"u": user_id},
    ).first()
    if found is not None:
        return found[0], found[1] if found[1] in SURFACES else "unknown"
    if "@" in user_id:
        by_email = bind.execute(
            sa.text("SELECT id FROM people WHERE email = :e"), {"e": user_id.strip().lower()}
        ).first()
        if by_email is not None:
            return by_email[0], "console"
    if _SLACK_ID.match(user_id):
        platform = "slack"
    elif _AAD_ID.match(user_id):
        platform = "teams"
    else:
        platform = "console"
    person_id = bind.execute(
        sa.text("INSERT INTO people (name) VALUES (:name) RETURNING id"), {"name": user_id}
    ).scalar_one()
    bind.execute(
        sa.text(
            "INSERT INTO identities (person_id, platform, workspace, external_id) "
            "VALUES (:p, :platform, '', :u)"
        ),
        {"p": person_id, "platform": platform, "u": user_id},
    )
    return person_id, platform


def downgrade() -> None:
    """The user-id columns come back holding each row's person's first identity (or their
    e-mail or name, or the surface's word for no one: "import", "scheduler", "terminal")."""
    bind = op.get_bind()
    for table, by, person, new, had_source in WHO:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(by, sa.String(length=255), nullable=True))
        bind.execute(
            sa.text(
                f"UPDATE {table} SET {by} = COALESCE("
                f"(SELECT i.external_id FROM identities i WHERE i.person_id = {table}.{person} "
                f"ORDER BY i.id LIMIT 1), "
                f"(SELECT COALESCE(p.email, p.name) FROM people p WHERE p.id = {table}.{person}))"
            )
        )
        if had_source is not None:
            bind.execute(sa.text(f"UPDATE {table} SET {by} = source WHERE {by} IS NULL"))
        with op.batch_alter_table(table) as batch:
            if by != "closed_by":
                batch.alter_column(by, existing_type=sa.String(255), nullable=False)
            if new:
                batch.drop_constraint(batch.f(f"fk_{table}_{person}_people"), type_="foreignkey")
                batch.drop_column(person)
            if had_source is False:
                batch.drop_column("source")
