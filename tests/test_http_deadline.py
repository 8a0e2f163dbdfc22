"""No phantom writes: a command that cannot finish within the acknowledgement deadline commits
nothing, and the person is told so within Slack's 3 seconds."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.config import Settings
from bot.domain import Surface
from bot.runtime import TOO_LATE, Runtime, TooLate, answering_by
from bot.services.actions import Change, record_update
from bot.services.context import Caller
from bot.store.models import Update
from tests.conftest import LEAD_11F
from tests.slack_fixtures import SlackHarness, served_slack_app, serving_slack  # noqa: F401

HOLD_SECONDS = 5.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Slack's own deadline (2.5 s of its 3), which these tests are about."""
    return settings.model_copy(update={"answer_within": Settings().answer_within})


HOLD_SQLITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(runtime: Runtime, seconds: float) -> Iterator[None]:
    """Another process holds the database's write lock (SQLite) or the actions table (PostgreSQL)
    for `seconds`, as an import or a tick may."""
    url = runtime.engine.url
    if url.get_backend_name() == "sqlite":
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_SQLITE_LOCK, str(url.database), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        try:
            yield
        finally:
            holder.wait(timeout=seconds + 10)
        return
    other = create_engine(url.render_as_string(hide_password=False))
    locked = threading.Event()

    def hold() -> None:
        with other.begin() as connection:
            connection.execute(text("LOCK TABLE actions IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            time.sleep(seconds)

    holder_thread = threading.Thread(target=hold)
    holder_thread.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        holder_thread.join()
        other.dispose()


def test_an_update_that_cannot_commit_in_time_is_an_apology_and_records_nothing(
    demo: Runtime, slack: SlackHarness
) -> None:
    before = slack.updates()
    with write_lock_held(demo, HOLD_SECONDS):
        started = time.monotonic()
        reply = slack.reply("update 11F amber Toolkit pilot live", LEAD_11F)
        took = time.monotonic() - started
    time.sleep(0.5)  # anything still running has had its chance to commit

    assert took < 3.0, f"answered after {took:.1f} s"
    assert "nothing was recorded" in str(reply), reply
    assert slack.updates() == before
    # Once the lock is gone, the same words go through: tried again as the apology asks, on a
    # machine loaded enough to miss 2.5 s once more, and recorded once.
    for _ in range(3):
        again = str(slack.reply("update 11F amber Toolkit pilot live", LEAD_11F))
        if "nothing was recorded" not in again:
            break
    assert "11F" in again
    assert slack.updates() == before + 1


def test_a_deadline_set_longer_than_slacks_is_kept_by_bolt_too(demo: Runtime) -> None:
    """Bolt gives a listener Slack's 3 s to acknowledge; where the bot's own deadline is set
    longer (as the tests set it, so that a loaded machine is not a failure), Bolt waits as
    long: the answer comes, not Bolt's "unhandled request"."""
    demo.settings = demo.settings.model_copy(update={"answer_within": 10.0})
    with serving_slack(demo) as slack, write_lock_held(demo, 3.5):
        result = slack.slash("update 11F amber Toolkit pilot live", LEAD_11F)
    assert result.status == 200, result.text
    assert "11F" in result.text and "nothing was recorded" not in result.text


def test_reads_answer_while_another_process_writes(demo: Runtime, slack: SlackHarness) -> None:
    if demo.engine.url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL readers do not wait for writers")
    with write_lock_held(demo, HOLD_SECONDS):
        started = time.monotonic()
        reply = slack.reply("show 11F", LEAD_11F)
        took = time.monotonic() - started
    assert took < 2.0 and "11F" in str(reply) and "nothing was recorded" not in str(reply)


def test_work_past_its_deadline_is_rolled_back_before_commit(demo: Runtime) -> None:
    caller = Caller(user_id=LEAD_11F, source=Surface.SLACK)

    def slow_update() -> None:
        with answering_by(time.monotonic() + 0.5), demo.work(caller) as ctx:
            record_update(ctx, "11F", Change(note="Recorded, then too slow to commit"))
            time.sleep(0.5)  # slow work inside the transaction: the deadline passes

    before = count_updates(demo)
    with pytest.raises(TooLate, match="nothing was recorded"):
        slow_update()
    assert count_updates(demo) == before
    assert str(TooLate()) == TOO_LATE


def count_updates(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def test_work_after_the_answer_is_no_longer_bound_by_the_deadline(demo: Runtime) -> None:
    # The Home tab refreshed after a command's acknowledgement keeps nobody waiting.
    caller = Caller(user_id=LEAD_11F, source=Surface.SLACK)
    before = count_updates(demo)
    with answering_by(time.monotonic() + 0.2) as deadline:
        deadline.answered = True
        time.sleep(0.3)
        with demo.work(caller) as ctx:
            record_update(ctx, "11F", Change(note="After the answer, not bound by it"))
    assert count_updates(demo) == before + 1
