"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when WSOA_TEST_DATABASE_URL is
set), a runtime on a fixed clock, and the demo plan."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from bot.config import Settings
from bot.console import run_line
from bot.demo import load_demo
from bot.runtime import Runtime
from bot.store.db import unit_of_work

PG_URL = os.environ.get("WSOA_TEST_DATABASE_URL")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
ADMIN = "U0DEMOPM"  # the demo's programme manager
LEAD_11F = "U0DEMO05"  # leads 11F, 12B, 12A.1
READER = "U0READER"  # leads nothing


def _backends() -> list[object]:
    pg = pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG_URL, reason="WSOA_TEST_DATABASE_URL is not set (CI sets it to PostgreSQL)"
        ),
    )
    return ["sqlite", pg]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the PostgreSQL test database."""
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


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        WSOA_DATABASE_URL=database_url,
        WSOA_ADMINS=ADMIN,
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
    their own, tests/kpi_fixtures.py), as of the fixed clock."""
    with unit_of_work(runtime.sessions) as session:
        load_demo(session, runtime.clock(), runtime.settings.tz, measures=False)
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
