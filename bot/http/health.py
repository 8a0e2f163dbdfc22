"""`GET /healthz`: 200 only when the schema is current and a query answers; 503 otherwise,
within a few seconds even when the database accepts connections and never answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.runtime import Runtime
from bot.store.db import alembic_config

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Checks still waiting on a hung database beyond this: answer 503 without starting another,
# so a load balancer polling every second cannot pile up threads.
MAX_WAITING_CHECKS = 4


class HealthCheck:
    """Each check runs on its own daemon thread with a hard deadline: the event loop never
    waits on the database, and a check stuck on a dead socket cannot hold up a clean exit."""

    def __init__(self, runtime: Runtime, timeout: float) -> None:
        self.runtime = runtime
        self.timeout = timeout
        self.head = ScriptDirectory.from_config(alembic_config(runtime.engine)).get_current_head()
        self._waiting = 0
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        """What is wrong with the database, or None. Blocking: call it off the event loop."""
        try:
            with self.runtime.engine.connect() as connection:
                revision = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as error:
            log.warning("health check: the database does not answer: %s", error)
            return "database unavailable"
        if revision is None:
            return "database has no schema: run wsoa db upgrade"
        if revision != self.head:
            return f"database schema is at {revision}, not {self.head}: run wsoa db upgrade"
        return None

    async def check(self) -> str | None:
        with self._lock:
            if self._waiting >= MAX_WAITING_CHECKS:
                return "database unavailable (earlier checks are still waiting for it)"
            self._waiting += 1
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[str | None] = loop.create_future()

        def settle(result: str | None) -> None:
            if not answered.done():
                answered.set_result(result)

        def run() -> None:
            try:
                result = self.problem()
            finally:
                with self._lock:
                    self._waiting -= 1
            # A closed loop (RuntimeError) means nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result)

        threading.Thread(target=run, name="wsoa-health", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(answered), self.timeout)
        except TimeoutError:
            log.warning("health check: the database did not answer within %g s", self.timeout)
            return f"database did not answer within {self.timeout:g} s"

    async def endpoint(self, request: Request) -> Response:
        problem = await self.check()
        headers = {"Cache-Control": "no-store"}
        if problem is None:
            return PlainTextResponse("ok\n", headers=headers)
        return PlainTextResponse(problem + "\n", status_code=503, headers=headers)
