"""Engine, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    exc,
    inspect,
    make_url,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str,
    *,
    connect_timeout: int = 3,
    statement_timeout: float = 30.0,
    pool_timeout: float = 3.0,
) -> Engine:
    """An engine whose every wait is bounded: a database that accepts connections and never
    answers must cost seconds, not the server's threads. Requests with a deadline tighten the
    statement and lock timeouts further, per transaction (`bot.runtime`)."""
    if url.startswith("sqlite"):
        # SQLite waits only for another writer's lock: the busy timeout bounds that.
        busy_ms = int(statement_timeout * 1000)
        engine = create_engine(url, connect_args={"timeout": statement_timeout})
        on_disk = ":memory:" not in url and url not in ("sqlite://", "sqlite:///")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if on_disk:
                # WAL lets readers go on while the scheduler or a command writes
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        @event.listens_for(engine, "checkin")
        def _restore_busy_timeout(dbapi_conn: Any, record: Any) -> None:
            # A request's deadline tightened it (`bound_waits`); the next user of this
            # connection (an import, a tick) gets the engine's own again.
            record.info.pop(_WAIT, None)
            if record.info.pop(_TIGHTENED, False):
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={busy_ms}")
                cur.close()

        if on_disk:  # one connection in memory: nothing to queue for
            _queue_writers(engine, statement_timeout)
        return engine
    return create_engine(
        _with_server_timeouts(url, connect_timeout, statement_timeout),
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
    )


def _queue_writers(engine: Engine, wait: float) -> None:
    """SQLite lets one connection write at a time, and one waiting for the write lock polls
    for it with sleeps of up to 100 ms (its busy handler): under many writers the lock goes to
    whichever wakes first, and a writer can sleep through several chances to take it. Writers
    in this process therefore queue on a lock of their own, taken where the driver starts a
    write transaction (the first INSERT, UPDATE or DELETE) and given back when it ends, so the
    next writer goes the moment the last one commits. Another process (an import, a tick) is
    still waited for through the busy timeout. The wait for the queue is bounded as the busy
    timeout is (`bound_waits`); past it, the writer fails as a busy database would."""
    queue = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _join_queue(conn: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        info = conn.info
        if info.get(_WRITING) or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not queue.acquire(timeout=info.get(_WAIT, wait)):
            raise sqlite3.OperationalError("database is locked (other writers came first)")
        info[_WRITING] = True

    def _leave(info: dict[Any, Any]) -> None:
        if info.pop(_WRITING, False):
            queue.release()

    def _transaction_ended(conn: Connection) -> None:
        try:
            info = conn.info
        except exc.SQLAlchemyError:  # invalidated: left through the pool's events below
            return
        _leave(info)

    event.listen(engine, "commit", _transaction_ended)
    event.listen(engine, "rollback", _transaction_ended)
    # the pool rolls back a connection given back inside a transaction, or drops a broken one
    event.listen(engine, "checkin", lambda _dbapi, record: _leave(record.info))
    event.listen(engine, "invalidate", lambda _dbapi, record, _e: _leave(record.info))


def _with_server_timeouts(url: str, connect_timeout: int, statement_timeout: float) -> str:
    """PostgreSQL: libpq's connect timeout (covers the whole handshake, so a server that accepts
    and never answers fails fast) and a server-side statement timeout, added to whatever the URL
    already asks for (its own values win; `options` is extended, not replaced)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return url
    query = dict(parsed.query)
    query.setdefault("connect_timeout", str(connect_timeout))
    options = str(query.get("options", ""))
    if "statement_timeout" not in options:
        options = f"{options} -c statement_timeout={int(statement_timeout * 1000)}".strip()
    query["options"] = options
    return parsed.set(query=query).render_as_string(hide_password=False)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_Row = TypeVar("_Row")


def lock_row(session: Session, entity: type[_Row], row_id: int, *options: Any) -> _Row:
    """The row of `entity` with id `row_id`, locked until the transaction ends and read again
    after the lock, so what is checked on it and the "old" of a change recorded with it are the
    latest committed. PostgreSQL locks the row (`FOR UPDATE`); SQLite, which has no row locks,
    takes its one write lock with a no-op write to it. `options` are loader options."""
    mapper = inspect(entity)
    table, primary_key = mapper.local_table, mapper.primary_key[0]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(table).where(primary_key == row_id).values({primary_key.name: primary_key})
        )
    return (
        session.scalars(
            select(entity)
            .where(primary_key == row_id)
            .with_for_update(of=table)
            .options(*options)
            .execution_options(populate_existing=True)
        )
        .unique()
        .one()
    )


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


@functools.cache
def _head() -> str | None:
    """The newest migration: read from the migration scripts once a process (reading and
    compiling all of them takes longer than the check itself)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == _head()


def ensure_schema(engine: Engine) -> None:
    """Bring the database to the current schema; a no-op when it is already there."""
    if not is_current(engine):
        upgrade(engine)


def bound_waits(session: Session, seconds: float) -> None:
    """Make every wait in this session's transaction end within `seconds`: SQLite's wait for
    another writer's lock, PostgreSQL's statements and lock waits. Through the raw connection,
    so it is not one of the statements the application issues; undone when the connection
    goes back to the pool (SQLite) or when the transaction ends (PostgreSQL, `SET LOCAL`)."""
    millis = max(1, int(seconds * 1000))
    pooled = session.connection().connection
    cursor = pooled.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if session.get_bind().dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={millis}")
            pooled.info[_TIGHTENED] = True
            pooled.info[_WAIT] = seconds
        else:
            cursor.execute(f"SET LOCAL statement_timeout = {millis}")
            cursor.execute(f"SET LOCAL lock_timeout = {millis}")
    finally:
        cursor.close()


_TIGHTENED = "wsoa_busy_timeout_tightened"
_WAIT = "wsoa_wait_seconds"  # how long this connection's writer may queue (SQLite)
_WRITING = "wsoa_in_write_queue"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
