"""The clock: APScheduler, in-process, with one job that runs `tick(now)` every minute.

Nothing is scheduled per meeting or per subscription. APScheduler 3 cannot share a job store
between processes (its FAQ: duplicate or missed runs), so it only keeps time here; the database
says what is due, and the claims in scheduler/deliveries.py make each delivery once however many
processes tick. The job store is in memory: there is nothing in it worth keeping.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.runtime import Runtime
from bot.senders import Senders
from scheduler.deliveries import InFlight, tick

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
# how long the server's shutdown waits for the deliveries to be handed back
STOP_SECONDS = 5.0
JOB_ID = "wsoa-tick"


class Clock:
    """The running clock. `stop()` (on SIGTERM, as the server stops taking requests) begins no
    new post and hands back every delivery whose post is waiting (a 429's Retry-After), so
    another replica delivers it on its next tick; it does not wait for the tick in progress.
    A post cut off mid-send keeps its lease and is picked up safely by another process once the
    lease runs out (scheduler/deliveries.py)."""

    def __init__(self, runtime: Runtime, scheduler: BackgroundScheduler, in_flight: InFlight):
        self.runtime = runtime
        self.scheduler = scheduler
        self.in_flight = in_flight
        self._stopping = threading.Lock()
        self._stopped = threading.Event()

    def stop(self) -> list[str]:
        """Stop, once; the keys of the deliveries handed back. A second caller (the server's
        shutdown, while SIGTERM's own call is still handing back) waits for the first."""
        if not self._stopping.acquire(blocking=False):
            self._stopped.wait(STOP_SECONDS)
            return []
        try:
            handed = self.in_flight.hand_back(self.runtime)
            self.scheduler.shutdown(wait=False)
            return handed
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self.stop()

    def busy(self) -> bool:
        """Whether a tick is still running (a post waiting, or cut off mid-send)."""
        return self.in_flight.ticking.is_set()


def start_clock(
    runtime: Runtime, senders: Senders, *, interval_seconds: float = TICK_SECONDS
) -> Clock:
    """Start ticking: once straight away (to catch up on what fell due while nothing ran), then
    every `interval_seconds`. Call `.stop()` on the result when the bot stops.

    The scheduler thread is a daemon, so a bot that exits is not kept alive by it.
    """
    in_flight = InFlight()

    def run_tick() -> None:
        in_flight.ticking.set()
        try:
            report = tick(runtime, senders, runtime.clock(), in_flight)
        except Exception:
            # Logged, and tried again on the next tick: the database still says what is due.
            log.exception("scheduled tick failed")
            return
        finally:
            in_flight.ticking.clear()
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
    return Clock(runtime, scheduler, in_flight)
