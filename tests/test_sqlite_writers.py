"""SQLite's writers in one process queue for the write lock (`bot.store.db._queue_writers`)
instead of each polling SQLite's busy handler, and the queue never outlives a transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.store.db import bound_waits, make_engine, session_factory, unit_of_work


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", statement_timeout=5.0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    engine.dispose()


def _write(session: Session, body: str) -> None:
    session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM notes")) or 0)


def _write_waiting_at_most(engine: Engine, seconds: float, body: str) -> BaseException | None:
    """A write from another thread whose waits end within `seconds`: what went wrong, if
    anything."""
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            with unit_of_work(session_factory(engine)) as session:
                bound_waits(session, seconds)
                _write(session, body)
            outcome.append(None)
        except BaseException as failure:  # handed back to the test
            outcome.append(failure)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=30)
    assert outcome, "the second writer never finished"
    return outcome[0]


def test_a_writer_waits_in_the_queue_and_fails_as_a_busy_database_would(engine: Engine) -> None:
    with unit_of_work(session_factory(engine)) as holder:
        _write(holder, "first")
        failure = _write_waiting_at_most(engine, 0.3, "second")
    # it waited for the writer ahead of it, not in SQLite's busy handler
    assert isinstance(failure, OperationalError)
    assert "other writers came first" in str(failure)
    assert _count(engine) == 1


def test_the_next_writer_goes_when_the_one_ahead_commits(engine: Engine) -> None:
    released = threading.Event()
    outcome: list[BaseException | None] = []

    def second() -> None:
        released.wait(5)
        outcome.append(_write_waiting_at_most(engine, 5.0, "second"))

    thread = threading.Thread(target=second)
    with unit_of_work(session_factory(engine)) as holder:
        _write(holder, "first")
        thread.start()
        released.set()
    thread.join(timeout=30)
    assert outcome == [None]
    assert _count(engine) == 2


@pytest.mark.parametrize("ending", ["rollback", "close without commit", "error"])
def test_a_transaction_that_does_not_commit_leaves_the_queue(engine: Engine, ending: str) -> None:
    factory = session_factory(engine)
    if ending == "rollback":
        with factory() as session:
            _write(session, "taken back")
            session.rollback()
    elif ending == "close without commit":
        session = factory()
        _write(session, "never committed")
        session.close()
    else:
        with pytest.raises(RuntimeError), unit_of_work(factory) as session:
            _write(session, "failed")
            raise RuntimeError("the command failed")
    assert _write_waiting_at_most(engine, 0.5, "next") is None
    assert _count(engine) == 1


def test_readers_do_not_queue(engine: Engine) -> None:
    with unit_of_work(session_factory(engine)) as holder:
        _write(holder, "first")
        assert _count(engine) == 0  # read at once, from before the write
    assert _count(engine) == 1
