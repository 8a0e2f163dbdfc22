"""The clock: APScheduler, in-process, with one job that runs `tick(now)` every minute.

Nothing is scheduled per meeting or per subscription. APScheduler 3 cannot share a job store
between processes (its FAQ: duplicate or missed runs), so it only keeps time here; the database
says what is due, and the claims in scheduler/deliveries.py make each delivery once however many
processes tick. The job store is in memory: there is nothing in it worth keeping.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.runtime import Runtime
from bot.senders import Senders
from scheduler.deliveries import tick

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
JOB_ID = "wsoa-tick"


def start_clock(
    runtime: Runtime, senders: Senders, *, interval_seconds: float = TICK_SECONDS
) -> BackgroundScheduler:
    """Start ticking: once straight away (to catch up on what fell due while nothing ran), then
    every `interval_seconds`. Call `.shutdown()` on the result when the bot stops; it waits for
    a tick in progress to record what it sent.

    The scheduler thread is a daemon, so a bot that exits without `.shutdown()` is not kept
    alive by it; a tick cut off mid-send is then picked up safely by the next process (see the
    lease in scheduler/deliveries.py).
    """

    def run_tick() -> None:
        try:
            report = tick(runtime, senders, runtime.clock())
        except Exception:
            # Logged, and tried again on the next tick: the database still says what is due.
            log.exception("scheduled tick failed")
            return
        if report.eventful:
            log.info("%s", report)

    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        # One worker: ticks never overlap in this process (other processes are the claims' job).
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            # A tick that overran, or a machine that slept, leads to one catch-up tick, not many.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(int(interval_seconds), 1),
        },
        timezone=UTC,
        daemon=True,
    )
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=interval_seconds,
        id=JOB_ID,
        name="deliver scheduled digests and reminders",
        next_run_time=datetime.now(UTC),
        replace_existing=True,
    )
    scheduler.start()
    return scheduler
