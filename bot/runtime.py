"""What a running bot holds: settings, the database, and a clock. Built once, passed down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.services.context import Caller, Ctx
from bot.store.db import ensure_schema, make_engine, session_factory, unit_of_work


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def start(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Connect, and bring an empty or older database up to the current schema."""
        engine = make_engine(settings.database_url)
        if migrate:
            ensure_schema(engine)
        return cls(settings=settings, engine=engine, sessions=session_factory(engine))

    @contextmanager
    def work(self, caller: Caller) -> Iterator[Ctx]:
        """One unit of work for `caller`: committed when the block ends, rolled back on error."""
        with unit_of_work(self.sessions) as session:
            yield Ctx(
                session=session,
                caller=caller,
                settings=self.settings,
                now=self.clock(),
                clock=self.clock,
            )

    def close(self) -> None:
        self.engine.dispose()
