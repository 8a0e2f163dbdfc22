"""Figures taken inside the benchmark's own process, on the same database the server uses: the
SQL statements each command issues, and the time to build (and render) a full digest."""

from __future__ import annotations

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


class _Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


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
    settings: Settings, caller: Caller, commands: Sequence[tuple[str, str]], channel_id: str
) -> InProcess:
    runtime = Runtime.start(settings)
    try:
        issued = {label: count_statements(runtime, caller, text)[1] for label, text in commands}
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
    )


def _is_count(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT COUNT(*)")
