"""The platform-neutral core: one history writer recording every field's old and new value,
a weekly digest's time as a time, and people with an identity per platform.

What a single-plan Slack database had is carried over: each person's Slack user id becomes a
Slack identity (workspace unknown, stored empty: the Slack adapter fills it in when that person
next uses the bot); who wrote each update, answer and follow-up (stored as Slack user ids)
becomes a person, created for ids nobody had recorded.

Revision ID: 0003
Revises: 0002
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
NOT_PEOPLE = ("import", "system")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _people_to_identities()
    _addresses()
    _several_plans()
    with op.batch_alter_table("updates") as batch:
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))

    # "09:00" becomes a TIME. SQLite keeps times as text in SQLAlchemy's own format, and a
    # rebuilt table's CAST to TIME would turn the text into a number: copy it instead.
    if sqlite:
        with op.batch_alter_table("subscriptions") as batch:
            batch.add_column(sa.Column("wall_time", sa.Time(), nullable=True))
        op.execute(
            sa.text("UPDATE subscriptions SET wall_time = time || :seconds").bindparams(
                seconds=":00.000000"
            )
        )
        with op.batch_alter_table("subscriptions") as batch:
            batch.drop_column("time")
            batch.alter_column("wall_time", new_column_name="time", nullable=False)
    else:
        op.alter_column(
            "subscriptions",
            "time",
            existing_type=sa.String(length=5),
            type_=sa.Time(),
            existing_nullable=False,
            postgresql_using="time::time",
        )


def _people_to_identities() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("connector_id", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_identities_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint(
            "platform", "workspace", "external_id", name=op.f("uq_identities_platform")
        ),
    )
    op.create_index(op.f("ix_identities_person_id"), "identities", ["person_id"])
    op.create_index(op.f("ix_identities_external_id"), "identities", ["external_id"])

    bind = op.get_bind()
    known: dict[str, int] = {}
    for person_id, user_id in bind.execute(
        sa.text("SELECT id, slack_user_id FROM people WHERE slack_user_id IS NOT NULL")
    ):
        _identity(person_id, user_id)
        known[user_id] = person_id
    # Authors the people table never had (a Slack id that updated before it was ever a lead).
    authors = sa.text(
        "SELECT by FROM updates UNION SELECT by FROM answers UNION SELECT raised_by FROM followups"
    )
    for (user_id,) in bind.execute(authors).all():
        if user_id in known or user_id in NOT_PEOPLE:
            continue
        person_id = bind.execute(
            sa.text("INSERT INTO people (name) VALUES (:name) RETURNING id"), {"name": user_id}
        ).scalar_one()
        _identity(person_id, user_id)
        known[user_id] = person_id

    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_answers_person_id_people"), "people", ["person_id"], ["id"]
        )
        batch.alter_column("by", existing_type=sa.String(64), type_=sa.String(255))
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("raised_by_person_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_followups_raised_by_person_id_people"),
            "people",
            ["raised_by_person_id"],
            ["id"],
        )
        batch.alter_column("raised_by", existing_type=sa.String(64), type_=sa.String(255))
        batch.alter_column("closed_by", existing_type=sa.String(64), type_=sa.String(255))
    with op.batch_alter_table("updates") as batch:
        batch.alter_column("by", existing_type=sa.String(64), type_=sa.String(255))

    for table, by, person in (
        ("updates", "by", "person_id"),
        ("answers", "by", "person_id"),
        ("followups", "raised_by", "raised_by_person_id"),
    ):
        bind.execute(
            sa.text(
                f"UPDATE {table} SET {person} = (SELECT i.person_id FROM identities i "
                f"WHERE i.external_id = {table}.{by} ORDER BY i.id LIMIT 1) "
                f"WHERE {person} IS NULL AND {by} IN (SELECT external_id FROM identities)"
            )
        )

    with op.batch_alter_table("people") as batch:
        batch.drop_constraint("uq_people_slack_user_id", type_="unique")
        batch.drop_column("slack_user_id")


def _addresses() -> None:
    """Boards, weekly digests and deliveries keep the whole address they go to. Their channel
    and user ids were Slack's (the workspace unknown: stored empty) or the console's. Delivery
    keys are not touched, so what was delivered stays delivered."""
    for table, column in (
        ("board_meetings", "channel_id"),
        ("subscriptions", "channel_id"),
        ("deliveries", "target"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("address", sa.JSON(), nullable=True))
            batch.alter_column(column, existing_type=sa.String(64), type_=sa.String(400))
            if table == "deliveries":
                batch.alter_column("key", existing_type=sa.String(200), type_=sa.String(500))
        rows = op.get_bind().execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        for row_id, conversation in rows:
            address = _address_of(conversation)
            if address is None:
                continue
            op.get_bind().execute(
                sa.table(table, sa.column("id"), sa.column("address", sa.JSON()))
                .update()
                .where(sa.column("id") == row_id)
                .values(address=address)
            )


def _address_of(conversation: str) -> dict[str, str] | None:
    if conversation == "console":
        return {"platform": "console", "conversation": conversation}
    if re.match(r"^[CGDUW][A-Z0-9_]{2,}$", conversation):
        return {"platform": "slack", "workspace": "", "conversation": conversation}
    return None  # a lead with no chat account ("person-12"): nowhere to send


def _several_plans() -> None:
    """Plans get a short name (the one plan a database held so far is `wsoa`, any others
    `wsoa-<id>`), bindings of workspaces to plans (none yet: a database with one plan serves
    every workspace), and each update names its plan for the digest's counts."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=60), nullable=True))
    op.execute("UPDATE plans SET slug = 'wsoa' WHERE id = (SELECT min(id) FROM plans)")
    op.execute("UPDATE plans SET slug = 'wsoa-' || CAST(id AS VARCHAR(20)) WHERE slug IS NULL")
    with op.batch_alter_table("plans") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=60), nullable=False)
        batch.create_unique_constraint(batch.f("uq_plans_slug"), ["slug"])

    op.create_table(
        "plan_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_bindings_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_bindings")),
        sa.UniqueConstraint(
            "platform", "workspace", "channel", name=op.f("uq_plan_bindings_platform")
        ),
    )
    op.create_index(op.f("ix_plan_bindings_plan_id"), "plan_bindings", ["plan_id"])

    with op.batch_alter_table("updates") as batch:
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE updates SET plan_id = (SELECT a.plan_id FROM actions a "
        "WHERE a.id = updates.action_id)"
    )
    with op.batch_alter_table("updates") as batch:
        batch.alter_column("plan_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(batch.f("fk_updates_plan_id_plans"), "plans", ["plan_id"], ["id"])
        batch.create_index("ix_updates_plan_at", ["plan_id", "at"])


def _identity(person_id: int, user_id: str) -> None:
    """A Slack user id as an identity; anything else (the console's names) as a console one."""
    platform = "slack" if _SLACK_ID.match(user_id) else "console"
    op.get_bind().execute(
        sa.text(
            "INSERT INTO identities (person_id, platform, workspace, external_id) "
            "VALUES (:person_id, :platform, '', :external_id)"
        ),
        {"person_id": person_id, "platform": platform, "external_id": user_id},
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("updates") as batch:
        batch.drop_index("ix_updates_plan_at")
        batch.drop_constraint("fk_updates_plan_id_plans", type_="foreignkey")
        batch.drop_column("plan_id")
    op.drop_table("plan_bindings")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint("uq_plans_slug", type_="unique")
        batch.drop_column("slug")
    for table in ("board_meetings", "subscriptions", "deliveries"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("address")
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column(
            "time",
            existing_type=sa.Time(),
            type_=sa.String(length=5),
            existing_nullable=False,
            postgresql_using="to_char(time, 'HH24:MI')",
        )
    if sqlite:
        op.execute("UPDATE subscriptions SET time = substr(time, 1, 5)")
    with op.batch_alter_table("updates") as batch:
        batch.drop_column("changes")
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("slack_user_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE people SET slack_user_id = (SELECT min(external_id) FROM identities i "
        "WHERE i.person_id = people.id AND i.platform = 'slack')"
    )
    with op.batch_alter_table("people") as batch:
        batch.create_unique_constraint("uq_people_slack_user_id", ["slack_user_id"])
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint("fk_answers_person_id_people", type_="foreignkey")
        batch.drop_column("person_id")
    with op.batch_alter_table("followups") as batch:
        batch.drop_constraint("fk_followups_raised_by_person_id_people", type_="foreignkey")
        batch.drop_column("raised_by_person_id")
    op.drop_table("identities")
