"""The board pack's build time on a generated plan: the figures `make bench` prints after each
size. Gathering and writing the Word document happen in-process, on the database the server
used, in one unit of work (the snapshot is not kept: the benchmark measures, it does not add)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from bot.boardpack.data import gather
from bot.boardpack.document import build_docx
from bot.config import Settings
from bot.domain import Surface
from bot.runtime import Runtime
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting

TRIES = 3


@dataclass(frozen=True)
class BoardPackFigure:
    actions: int
    # best of TRIES, gathering and writing the document
    seconds: float
    statements: int
    size: int

    def line(self) -> str:
        return (
            f"  board pack, {self.actions:,} actions: {self.seconds * 1000:,.0f} ms, "
            f"{self.statements} SQL statements, {self.size / 1024:,.0f} KiB"
        )


def measure_boardpack(
    database_url: str, actions: int, now: datetime | None = None, tries: int = TRIES
) -> BoardPackFigure:
    """The best of `tries` builds (a test that counts statements needs one)."""
    now = now or datetime.now(UTC)
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=database_url))
    best = float("inf")
    statements: list[Any] = []
    size = 0
    try:
        for _ in range(tries):
            statements.clear()

            def count(*args: Any) -> None:
                statements.append(args[2])

            event.listen(runtime.engine, "before_cursor_execute", count)
            try:
                with unit_of_work(runtime.sessions) as session:
                    started = time.perf_counter()
                    plan = current_plan(session, now)
                    board = session.scalars(
                        select(BoardMeeting)
                        .where(BoardMeeting.plan_id == plan.id, BoardMeeting.starts_at > now)
                        .order_by(BoardMeeting.starts_at)
                        .limit(1)
                    ).first() or BoardMeeting(
                        id=0,
                        plan_id=plan.id,
                        name="Benchmark board",
                        starts_at=now + timedelta(days=7),
                        channel_id="bench",
                        source=Surface.SLACK,
                        created_at=now,
                    )
                    data = build_docx(gather(session, plan, board, now, runtime.settings.tz))
                    best = min(best, time.perf_counter() - started)
                    size = len(data)
            finally:
                event.remove(runtime.engine, "before_cursor_execute", count)
    finally:
        runtime.close()
    return BoardPackFigure(actions=actions, seconds=best, statements=len(statements), size=size)
