"""Simultaneous updates of one action over signed HTTP: the trail stays whole.

Each trial fires N `/wsoa update 11F …` requests at once (a barrier releases them together).
Afterwards the action's current RAG and status must equal its newest history row, and every
row's "from" must equal the previous row's "to": nothing lost, nothing told "no change" that
changed something.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.runtime import Runtime
from bot.services import context
from bot.services.context import Caller
from bot.store.models import Action, Plan, Update
from tests.conftest import ADMIN, LEAD_11F, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401 (the `slack` fixture)
from tests.slack_requests import HttpResult

RAGS = ("red", "amber", "green")
STATUSES = ("in progress", "not started", "complete")


def _fire(slack: SlackHarness, texts: list[str]) -> list[HttpResult]:
    barrier = threading.Barrier(len(texts))

    def send(text: str) -> HttpResult:
        barrier.wait()
        return slack.slash(text, user_id=ADMIN)

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        return list(pool.map(send, texts))


def _trail(runtime: Runtime) -> tuple[Action, list[Update]]:
    with runtime.sessions() as session:
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        rows = list(
            session.scalars(
                select(Update).where(Update.action_id == action.id).order_by(Update.at, Update.id)
            )
        )
        session.expunge_all()
    return action, rows


def _assert_whole(runtime: Runtime) -> None:
    action, rows = _trail(runtime)
    newest = rows[-1]
    assert (action.rag, action.status) == (newest.rag_to, newest.status_to)
    for before, after in itertools.pairwise(rows):
        assert after.rag_from == before.rag_to, (before.id, after.id)
        assert after.status_from == before.status_to, (before.id, after.id)


@pytest.mark.parametrize(("clients", "trials"), [(2, 6), (20, 2)])
def test_simultaneous_updates_keep_the_trail_whole(
    demo: Runtime, slack: SlackHarness, clients: int, trials: int
) -> None:
    for trial in range(trials):
        _, before = _trail(demo)
        texts = [
            f"update 11F {RAGS[(i + trial) % 3]} {STATUSES[i % 3]} trial {trial} client {i}"
            for i in range(clients)
        ]
        results = _fire(slack, texts)
        assert all(r.status == 200 for r in results), [r.text for r in results]
        assert all("Updated 11F" in r.text for r in results), [r.text for r in results]
        _, after = _trail(demo)
        assert len(after) == len(before) + clients
        _assert_whole(demo)


@pytest.mark.usefixtures("demo")
def test_an_update_holds_the_write_lock_only_to_write(runtime: Runtime, console: Console) -> None:
    """Reading the plan, the action, the caller and the rules happens before the action's lock
    is taken; under it, only the re-read of the action (and its leads, for a lead's rights),
    the newest row's time, the row and the action's new state, then at commit the row's link
    in the history's chain (the row read back as stored, the chain's last link, the new link:
    bot/store/chain.py). On SQLite that lock is the whole database's one writer, so every
    statement under it is time other writers wait."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    console("update 11F amber: first", user=LEAD_11F)  # the lead is known from here on
    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        reply = console("update 11F red: waiting for the new panel", user=LEAD_11F)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)
    assert "Updated 11F" in reply
    locked_at = next(
        i
        for i, s in enumerate(statements)
        if s.startswith(("UPDATE", "INSERT")) or "FOR UPDATE" in s
    )
    under_lock = statements[locked_at:]
    assert len(under_lock) <= 9, under_lock


@pytest.mark.usefixtures("demo")
def test_one_request_reading_its_plan_does_not_hold_up_another(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request reads its plan once (`Ctx.plan`). functools.cached_property on Python 3.11
    locks one lock for every Ctx while it reads: a request whose read was slow (waiting for a
    pooled connection) held up every other request's."""
    entered, release = threading.Event(), threading.Event()
    real = context.plan_named

    def slow_first(*args: Any) -> Plan:
        if not entered.is_set():
            entered.set()
            release.wait(10)
        return real(*args)

    monkeypatch.setattr(context, "plan_named", slow_first)

    def read_plan() -> str:
        with runtime.work(Caller(user_id=ADMIN)) as ctx:
            return ctx.plan.name

    first = threading.Thread(target=read_plan)
    first.start()
    assert entered.wait(5)
    read: list[str] = []
    second = threading.Thread(target=lambda: read.append(read_plan()))
    second.start()
    second.join(5)
    release.set()
    first.join(5)
    assert read, "the second request waited for the first one's plan"
