"""The benchmark's plan generator makes a plan the bot itself reads as consistent: the counts the
commands show match the rows, and each action's current state is its latest update's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.generate import ADMIN_USER, LEAD_USER, WORKSTREAMS, GeneratedPlan, generate
from bot.commands import execute
from bot.config import Settings
from bot.domain import Surface
from bot.render.text import render_text
from bot.replies import Table
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.store.models import Action, BoardMeeting, FollowUp, Person, Update, action_leads
from bot.store.queries import FINISHED
from tests.conftest import NOW

ACTIONS = 100
UPDATES = 2_000
REF = re.compile(r"^\d+[A-H](\.\d+)?$")


@pytest.fixture
def plan(database_url: str) -> GeneratedPlan:
    return generate(database_url, ACTIONS, UPDATES, seed=3, now=NOW)


@pytest.fixture
def bench_runtime(database_url: str, plan: GeneratedPlan) -> Iterator[Runtime]:
    # The lead is not an admin here, so `update` is allowed only because they lead the action.
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=database_url, WSOA_ADMINS=ADMIN_USER))
    runtime.clock = lambda: NOW
    yield runtime
    runtime.close()


def run(runtime: Runtime, text: str, user: str = LEAD_USER) -> str:
    return render_text(execute(runtime, Caller(user_id=user, source=Surface.SLACK), text))


def test_sizes_and_shape(plan: GeneratedPlan, bench_runtime: Runtime) -> None:
    with bench_runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == ACTIONS
        assert session.scalar(select(func.count()).select_from(Update)) == UPDATES
        refs = list(session.scalars(select(Action.ref)))
        assert all(REF.match(ref) for ref in refs), refs
        assert session.scalar(select(func.count()).select_from(FollowUp)) == ACTIONS // 10
        assert plan.answers > 0
        closed = session.scalar(select(func.count()).where(FollowUp.closed_at.is_not(None)))
        assert closed and closed < ACTIONS // 10
        boards = list(session.scalars(select(BoardMeeting.starts_at)))
        assert len(boards) == 6 and min(boards) > NOW + timedelta(days=14)
        people = list(session.scalars(select(Person)).unique())
        assert all(p.handle_on("slack") for p in people)
        assert len({p.organisation for p in people}) >= 4
        unled = session.scalar(
            select(func.count())
            .select_from(Action)
            .where(~Action.id.in_(select(action_leads.c.action_id)))
        )
        assert unled == 0
    assert plan.lead_refs and plan.lead_user == LEAD_USER


def test_current_state_is_the_latest_update(plan: GeneratedPlan, bench_runtime: Runtime) -> None:
    with bench_runtime.sessions() as session:
        actions = {a.id: a for a in session.scalars(select(Action))}
        latest: dict[int, Update] = {}
        latest_progress: dict[int, Update] = {}
        for u in session.scalars(select(Update).order_by(Update.at, Update.id)):
            latest[u.action_id] = u
            if u.kind != "created":
                latest_progress[u.action_id] = u
        for action_id, action in actions.items():
            assert (action.rag, action.status) == (
                latest[action_id].rag_to,
                latest[action_id].status_to,
            )
            progress = latest_progress.get(action_id)
            assert action.last_update_at == (progress.at if progress else None)
            assert action.last_note == (progress.note if progress else None)


def test_commands_read_the_plan(plan: GeneratedPlan, bench_runtime: Runtime) -> None:
    summary = execute(bench_runtime, Caller(user_id=LEAD_USER), "summary")
    table = next(e for e in summary.elements if isinstance(e, Table))
    # one row per workstream, then "All"
    assert [row[0] for row in table.rows] == [*WORKSTREAMS, "All"]
    with bench_runtime.sessions() as session:
        # a finished action is counted Complete, whatever its last RAG
        for column, rag in ((1, "red"), (2, "amber"), (3, "green")):
            in_db = session.scalar(
                select(func.count()).where(Action.rag == rag, Action.status.not_in(FINISHED))
            )
            assert sum(int(row[column]) for row in table.rows[:-1]) == in_db
            assert int(table.rows[-1][column]) == in_db
        finished = session.scalar(select(func.count()).where(Action.status.in_(FINISHED)))
        assert int(table.rows[-1][table.columns.index("Complete")]) == finished > 0
    total = table.columns.index("Total")
    assert sum(int(row[total]) for row in table.rows[:-1]) == ACTIONS

    for word in ("overdue", "stale"):
        listed = run(bench_runtime, f"list {word}")
        assert not listed.splitlines()[0].endswith("(0)"), listed

    ref = plan.lead_refs[0]
    assert ref in run(bench_runtime, f"show {ref}")
    assert f"Updated {ref}" in run(bench_runtime, f"update {ref} amber Pilot live in 4 schools")
    assert "Pilot live in 4 schools" in run(bench_runtime, f"history {ref}")
    assert "WSoA digest" in run(bench_runtime, "digest preview")


def test_refuses_a_database_that_holds_a_plan(database_url: str, plan: GeneratedPlan) -> None:
    with pytest.raises(ValueError, match="already holds a plan"):
        generate(database_url, ACTIONS, UPDATES, seed=3, now=NOW)


def test_same_seed_same_plan(tmp_path: Path) -> None:
    made = [
        generate(f"sqlite:///{tmp_path / f'{name}.db'}", 50, 400, seed=7, now=NOW)
        for name in ("first", "second")
    ]
    assert made[0].lead_refs == made[1].lead_refs
    assert (made[0].followups, made[0].answers) == (made[1].followups, made[1].answers)


def test_the_import_benchmark_imports_its_tracker_twice(tmp_path: Path) -> None:
    """`make bench` times an import into an empty plan and the same file again: both load
    every row, and the second changes nothing (the figures are printed, not asserted)."""
    from bench.imports import measure_import
    from bot.config import Settings
    from bot.runtime import Runtime
    from bot.store.db import unit_of_work
    from bot.store.models import Action, Update

    url = f"sqlite:///{tmp_path / 'import.db'}"
    figure = measure_import(url, rows=50)
    assert figure.rows == 50 and figure.first > 0 and figure.again > 0
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=url))
    try:
        with unit_of_work(runtime.sessions) as session:
            assert session.scalar(select(func.count()).select_from(Action)) == 50
            # a created row and a note each, and nothing more from the second import
            assert session.scalar(select(func.count()).select_from(Update)) == 100
    finally:
        runtime.close()
