"""Figures taken inside the benchmark's own process, on the same database the server uses: the
SQL statements each command issues, the time to build (and render) a full digest, and for each
read command its in-process time against the data's own work.

The data's own work is the floor a command cannot go under on this database: the very SELECTs
the command issued (captured with their parameters), replayed bare through SQLAlchemy Core's
driver-level `exec_driver_sql` on one connection, every row fetched, with no ORM, no command
parsing and no rendering. A ratio of 1.5 means the bot spends half as long again as the
database's answer itself; a slower CPU moves both alike, unlike the acknowledgement floor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from bot.commands import execute
from bot.config import Settings
from bot.render.blockkit import message
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.services.digests import DigestFor, build_digest
from bot.store.db import unit_of_work

DIGEST_TRIES = 5
TIMING_TRIES = 15  # best of: the in-process time of a read command, and of its bare queries


@dataclass(frozen=True)
class InProcess:
    # command label → SQL statements one run of it issued
    statements: dict[str, int]
    # of which `SELECT count(*)`: the bot counts a list only when it reaches its limit, so
    # these come and go with the data while the other statements must not
    counts: dict[str, int]
    # build_digest, best of DIGEST_TRIES, each in a fresh unit of work (no warm identity map)
    digest_ms: float
    # the Block Kit rendering of that digest, best of DIGEST_TRIES
    render_ms: float
    # read command label → its whole `execute` in-process (best of TIMING_TRIES), and its
    # SELECTs replayed bare (best of TIMING_TRIES)
    command_ms: dict[str, float]
    bare_ms: dict[str, float]


class _Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        self.statements.append(statement)
        self.calls.append((statement, parameters))


def capture(runtime: Runtime, caller: Caller, text: str) -> list[tuple[str, Any]]:
    """The statements, with their parameters as the driver got them, that one run issues."""
    counter = _Counter()
    event.listen(runtime.engine, "before_cursor_execute", counter)
    try:
        execute(runtime, caller, text)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", counter)
    return counter.calls


def time_against_bare(
    runtime: Runtime, caller: Caller, text: str, calls: Sequence[tuple[str, Any]]
) -> tuple[float, float]:
    """Best of TIMING_TRIES each, alternating so a busy moment of the machine falls on both
    alike: one `execute` with its reply rendered as text, and the SELECTs of `calls` replayed
    on one connection with their rows fetched; in ms."""
    selects = [(sql, params) for sql, params in calls if sql.lstrip().upper().startswith("SELECT")]
    command = bare = math.inf
    with runtime.engine.connect() as conn:
        for _ in range(TIMING_TRIES):
            started = time.perf_counter()
            render_text(execute(runtime, caller, text))
            command = min(command, time.perf_counter() - started)
            started = time.perf_counter()
            for sql, params in selects:
                conn.exec_driver_sql(sql, params).fetchall()
            bare = min(bare, time.perf_counter() - started)
            conn.rollback()
    return command * 1000, bare * 1000


def count_statements(runtime: Runtime, caller: Caller, text: str) -> tuple[int, list[str]]:
    """How many statements `execute` issues for one command, and which."""
    counter = _Counter()
    event.listen(runtime.engine, "before_cursor_execute", counter)
    try:
        reply = execute(runtime, caller, text)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", counter)
    shown = render_text(reply)
    if "Sorry, something went wrong" in shown:
        raise RuntimeError(f"`{text}` failed in-process: {shown}")
    return len(counter.statements), counter.statements


def measure_in_process(
    settings: Settings,
    caller: Caller,
    commands: Sequence[tuple[str, str]],
    channel_id: str,
    reads: Sequence[str] = (),
) -> InProcess:
    """`reads`: the labels of the commands that only read, timed against their bare queries."""
    runtime = Runtime.start(settings)
    command_ms: dict[str, float] = {}
    bare_ms: dict[str, float] = {}
    try:
        issued = {label: count_statements(runtime, caller, text)[1] for label, text in commands}
        for label, text in commands:
            if label in reads:
                calls = capture(runtime, caller, text)
                command_ms[label], bare_ms[label] = time_against_bare(runtime, caller, text, calls)
        built: list[float] = []
        rendered: list[float] = []
        for _ in range(DIGEST_TRIES):
            with unit_of_work(runtime.sessions) as session:
                started = time.perf_counter()
                target = DigestFor(channel_id=channel_id, plan_id=1, prefix="/wsoa ")
                digest = build_digest(session, runtime.settings, runtime.clock(), target)
                built.append(time.perf_counter() - started)
                started = time.perf_counter()
                message(digest)
                rendered.append(time.perf_counter() - started)
    finally:
        runtime.close()
    return InProcess(
        statements={label: len(sql) for label, sql in issued.items()},
        counts={label: sum(_is_count(q) for q in sql) for label, sql in issued.items()},
        digest_ms=min(built) * 1000,
        render_ms=min(rendered) * 1000,
        command_ms=command_ms,
        bare_ms=bare_ms,
    )


def _is_count(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT COUNT(*)")
