"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when WSOA_TEST_DATABASE_URL is
set), a runtime on a fixed clock, and the demo plan."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, make_url, select, text
from sqlalchemy.orm import Session

import bot.adapters  # noqa: F401  (each platform declares how it names and reaches people)
from bot.config import Settings
from bot.console import run_line
from bot.demo import load_demo
from bot.runtime import Runtime
from bot.store.db import ensure_schema, make_engine, session_factory, unit_of_work
from bot.store.models import Identity

PG_URL = os.environ.get("WSOA_TEST_DATABASE_URL")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
ADMIN = "U0DEMOPM"  # the demo's programme manager
LEAD_11F = "U0DEMO05"  # leads 11F, 12B, 12A.1
READER = "U0READER"  # leads nothing
COPIES_AHEAD = 3  # PostgreSQL databases each test process keeps ready (`Templates`)


def _backends() -> list[object]:
    pg = pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG_URL, reason="WSOA_TEST_DATABASE_URL is not set (CI sets it to PostgreSQL)"
        ),
    )
    return ["sqlite", pg]


@pytest.fixture(params=_backends())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, nothing migrated (for the tests of migrations themselves): a SQLite
    file, or a fresh schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wsoa.db'}"
        return
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


class Templates:
    """Databases built once per test run and copied for each test: a SQLite file copied, a
    PostgreSQL database created from a template database. "schema" is migrated; "demo" also
    holds the demo plan as of NOW. Migrating and loading the demo take longer than most tests;
    the migrations themselves are tested on `empty_database_url`.

    PostgreSQL takes most of a second to create a database, mostly waiting for its WAL to
    reach the disk, and a while to drop one; several at once take hardly longer than one.
    Both are done on threads of their own, a few copies of each kind made ahead while tests
    run, so a test seldom waits for either."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite: dict[str, Path] = {}
        self.postgres: dict[str, str] = {}
        self.admin: Engine | None = None
        self.worker = ThreadPoolExecutor(max_workers=COPIES_AHEAD, thread_name_prefix="pg")
        self.ahead: dict[str, deque[Future[str]]] = defaultdict(deque)

    @staticmethod
    def build(url: str, kind: str) -> None:
        engine = make_engine(url)
        ensure_schema(engine)
        if kind == "demo":
            with unit_of_work(session_factory(engine)) as session:
                load_demo(session, NOW, Settings().tz, measures=False)
        engine.dispose()

    def sqlite_copy(self, kind: str, target: Path) -> str:
        if kind not in self.sqlite:
            template = self.folder / f"{kind}.db"
            self.build(f"sqlite:///{template}", kind)
            self.sqlite[kind] = template
        shutil.copyfile(self.sqlite[kind], target)
        return f"sqlite:///{target}"

    def postgres_copy(self, kind: str) -> str:
        if kind not in self.postgres:
            name = f"wsoa_template_{kind}_{uuid.uuid4().hex[:12]}"
            self._execute(f"CREATE DATABASE {name}")
            self.build(_database(name), kind)
            self.postgres[kind] = name
        ahead = self.ahead[kind]
        while len(ahead) <= COPIES_AHEAD:
            ahead.append(self.worker.submit(self._copy, kind))
        return ahead.popleft().result()

    def _copy(self, kind: str) -> str:
        copy = f"t_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE DATABASE {copy} TEMPLATE {self.postgres[kind]}")
        return copy

    def drop(self, name: str) -> None:
        self.worker.submit(self._execute, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _execute(self, statement: str) -> None:
        assert PG_URL
        if self.admin is None:
            self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(statement))

    def close(self) -> None:
        for ahead in self.ahead.values():
            for unused in ahead:
                self.drop(unused.result())
        for name in self.postgres.values():
            self.drop(name)
        self.worker.shutdown(wait=True)
        if self.admin is not None:
            self.admin.dispose()


def _database(name: str) -> str:
    assert PG_URL
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    found = Templates(tmp_path_factory.mktemp("templates"))
    yield found
    found.close()


@pytest.fixture(params=_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, templates: Templates
) -> Iterator[str]:
    """A database at the current schema, of its own: a SQLite file, or a PostgreSQL database.
    For a test that asks for `demo`, it already holds the demo plan."""
    kind = "demo" if "demo" in request.fixturenames else "schema"
    if request.param == "sqlite":
        yield templates.sqlite_copy(kind, tmp_path / "wsoa.db")
        return
    name = templates.postgres_copy(kind)
    yield _database(name)
    templates.drop(name)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# Slack's 3 s is the deadline in production; a test is not a race, and a loaded CI machine
# must not turn a slow answer into an apology. The deadline's own tests set Slack's
# (tests/test_http_deadline.py, tests/test_http_timeouts.py).
TEST_ANSWER_WITHIN = 20.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        WSOA_DATABASE_URL=database_url,
        WSOA_ADMINS=ADMIN,
        WSOA_ANSWER_WITHIN=TEST_ANSWER_WITHIN,
        slack_bot_token="xoxb-test",
        slack_signing_secret="test-signing-secret",
    )


@pytest.fixture
def runtime(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    rt = Runtime.start(settings)
    rt.clock = clock
    yield rt
    rt.close()


@pytest.fixture
def demo(runtime: Runtime) -> Runtime:
    """The runtime with the demo plan's actions loaded (not its measures: the kpi tests load
    their own, tests/kpi_fixtures.py), as of the fixed clock: its database was copied from the
    demo template (`database_url`)."""
    return runtime


Console = Callable[..., str]


@pytest.fixture
def console(runtime: Runtime) -> Console:
    """`console("update 11F …", user=LEAD_11F)` → the reply as plain text."""

    def run(command: str, user: str = ADMIN) -> str:
        return run_line(runtime, user, command)

    return run


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


@pytest.fixture
def count_statements(runtime: Runtime) -> Callable[[Callable[[], object]], int]:
    """How many SQL statements a call issues."""

    def measure(call: Callable[[], object]) -> int:
        counter = StatementCounter()
        event.listen(runtime.engine, "before_cursor_execute", counter)
        try:
            call()
        finally:
            event.remove(runtime.engine, "before_cursor_execute", counter)
        return counter.count

    return measure


def person_of(session: Session, user_id: str) -> int:
    """The person behind a platform user id: who history rows made by them name."""
    return session.scalars(select(Identity.person_id).where(Identity.external_id == user_id)).one()
