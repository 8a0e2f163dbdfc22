"""The store: migrations on both databases, aware times, append-only history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, inspect, select

from bot.config import Settings
from bot.runtime import Runtime
from bot.store.db import is_current, unit_of_work
from bot.store.models import Action, Update
from tests.conftest import ADMIN, LEAD_11F, Console


def test_an_empty_database_is_migrated_on_start(empty_database_url: str) -> None:
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=empty_database_url))
    assert is_current(runtime.engine)
    tables = set(inspect(runtime.engine).get_table_names())
    runtime.close()
    assert {
        "plans",
        "workstreams",
        "actions",
        "action_leads",
        "people",
        "updates",
        "followups",
        "answers",
        "board_meetings",
        "subscriptions",
        "deliveries",
        "alembic_version",
    } <= tables


@pytest.mark.usefixtures("demo")
def test_times_come_back_aware_in_utc(runtime: Runtime) -> None:
    later = datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    with unit_of_work(runtime.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        action.last_update_at = later
    with unit_of_work(runtime.sessions) as session:
        stored = session.scalars(select(Action.last_update_at).where(Action.ref == "11F")).one()
    assert stored == later and stored.tzinfo == UTC


@pytest.fixture
def writes(runtime: Runtime) -> Iterator[list[str]]:
    """Every UPDATE or DELETE statement the engine runs."""
    seen: list[str] = []

    def record(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("UPDATE", "DELETE")):
            seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", record)
    yield seen
    event.remove(runtime.engine, "before_cursor_execute", record)


@pytest.mark.usefixtures("demo")
def test_history_is_append_only(runtime: Runtime, console: Console, writes: list[str]) -> None:
    with unit_of_work(runtime.sessions) as session:
        before = [u.id for u in session.scalars(select(Update).order_by(Update.id))]
    console("update 11F amber Pilot live", user=LEAD_11F)
    console("signoff 13A Objective met", user=ADMIN)
    console("assign 2B <@U0DEMO01>", user=ADMIN)
    console("followup answer FU-3 Case conferences extended", user=LEAD_11F)
    assert not [w for w in writes if "updates" in w.split("SET")[0] or "answers" in w]
    with unit_of_work(runtime.sessions) as session:
        after = [u.id for u in session.scalars(select(Update).order_by(Update.id))]
    assert after[: len(before)] == before and len(after) == len(before) + 3


def test_the_migrations_match_the_models(runtime: Runtime) -> None:
    """A model change without its migration would pass on a fresh test database and then fail
    on a partnership's real one."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    from bot.slack.tables import slack_tables
    from bot.store.models import Base

    # the bot's models, and the Slack installation tables its migrations create beside them
    expected = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(expected)
    slack_tables(expected)
    with runtime.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), expected)
    assert differences == []
