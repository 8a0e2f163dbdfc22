"""What a running bot holds: settings, the database, and a clock. Built once, passed down."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.domain import UserError
from bot.metrics import Metrics
from bot.services.context import Caller, Ctx
from bot.services.plans import plan_named
from bot.store.db import bound_waits, ensure_schema, make_engine, session_factory, unit_of_work

log = logging.getLogger(__name__)

T = TypeVar("T")

# Whatever held it up (the database, another writer, Slack's own API while the request was
# being authorised): the person is told what matters, that nothing was recorded.
TOO_LATE = (
    "Sorry, that could not be answered in time, so nothing was recorded. "
    "Please try again in a minute."
)
# Time kept back for the COMMIT and the answer's way back to the platform.
COMMIT_MARGIN = 0.1


@dataclass
class Deadline:
    """When the request being answered must have its answer (`time.monotonic()`). Once the
    platform has had its answer in time, work after it (refreshing the Home tab) keeps
    nobody waiting, and is no longer bound by it."""

    at: float
    answered: bool = False

    def binds(self) -> bool:
        return not self.answered


# None when no one is waiting (console, import, tick). Set by the HTTP layer, carried into
# worker threads.
_answer_by: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "wsoa_answer_by", default=None
)


class TooLate(UserError):
    """The caller's deadline came before the work could be committed: it was rolled back.
    A UserError, so every surface answers it in words, with no traceback in the log."""

    def __init__(self, message: str = TOO_LATE) -> None:
        super().__init__(message)


def acknowledged() -> None:
    """The platform has had its answer: work done after this (a slow command's real answer)
    keeps no one waiting, and no deadline binds it."""
    deadline = _answer_by.get()
    if deadline is not None:
        deadline.answered = True


@contextmanager
def answering_by(at: float) -> Iterator[Deadline]:
    """Work done inside (in this thread, or in threads started through a
    `ContextCarryingExecutor`) must be committed before `at` (`time.monotonic()`), until the
    deadline it yields is marked answered."""
    deadline = Deadline(at)
    token = _answer_by.set(deadline)
    try:
        yield deadline
    finally:
        _answer_by.reset(token)


class ContextCarryingExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks see the submitter's context variables (the request deadline):
    Bolt runs listeners on such a pool after the request thread has handed them over."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utcnow)
    # what GET /metrics shows: this runtime's own registry
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def start(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Connect, and bring an empty or older database up to the current schema."""
        engine = make_engine(
            settings.database_url,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
            pool_timeout=settings.db_pool_timeout,
        )
        if migrate:
            ensure_schema(engine)
        runtime = cls(settings=settings, engine=engine, sessions=session_factory(engine))
        runtime.metrics.watch_pool(engine)
        metrics = runtime.metrics

        @event.listens_for(engine, "handle_error")
        def count_error(context: Any) -> None:
            metrics.database_error(type(context.original_exception).__name__)

        as_of = settings.as_of
        if as_of is not None:
            runtime.clock = lambda: as_of
        return runtime

    @contextmanager
    def work(self, caller: Caller, *, making_plan: bool = False) -> Iterator[Ctx]:
        """One unit of work for `caller`: committed when the block ends, rolled back on error.

        When someone is waiting with a deadline (`answering_by`), every database wait ends by
        it, and the work is not committed once it has passed: the person has been told it
        failed by then, so a late commit would be a change they believe did not happen."""
        deadline = _answer_by.get()
        if deadline is not None and not deadline.binds():
            deadline = None
        try:
            with unit_of_work(self.sessions) as session:
                if deadline is not None:
                    bound_waits(session, _left(deadline.at))
                now = self.clock()
                if making_plan:
                    # an import into a database that holds no plan yet makes it, in the same
                    # transaction, before the scope is resolved
                    plan_named(session, caller.plan_slug, now, create=True)
                yield Ctx.open(session, caller, self.settings, now, self.clock)
                if deadline is not None and time.monotonic() > deadline.at - COMMIT_MARGIN:
                    log.warning("rolled back work for %s: its deadline passed", caller.user_id)
                    raise TooLate()
        except (OperationalError, PoolTimeout) as slow:
            if isinstance(slow, PoolTimeout):
                self.metrics.database_error("pool timeout")
            if deadline is None:
                raise
            log.warning("database too slow for %s's request: %s", caller.user_id, slow)
            raise TooLate() from slow

    def close(self) -> None:
        self.engine.dispose()


def _left(deadline: float) -> float:
    left = deadline - COMMIT_MARGIN - time.monotonic()
    if left <= 0:
        raise TooLate()
    return left
