"""Requests already seen, remembered in the database for as long as Slack's signature would
accept them again, so a replay (or Slack's retry of an event) is answered as done and not run.

The key is written in its own short transaction before the request runs: at most once. A
person's deliberate second identical command is a new request (a new timestamp, so a new
signature) and runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.runtime import Runtime
from bot.store.db import bound_waits, unit_of_work
from bot.store.models import SeenRequest

log = logging.getLogger(__name__)

# Slack accepts a timestamp up to 5 minutes off either way, so a signed request can be sent
# again for up to 10 minutes after it was first seen: keep keys a little longer than that.
KEEP = timedelta(minutes=11)
PRUNE_INTERVAL = 60.0  # seconds between prunes, per process
PRUNE_BATCH = 500  # rows per prune: a backlog is cleared over several, never in one long lock
# The most of a request's time the check may spend waiting (for SQLite's write lock, held by an
# import, a tick or a queue of updates): the request keeps the rest, so reads still answer.
CHECK_BUDGET = 0.25
# Keys this process remembers by itself: a repeat to the same process needs no database, and
# a check skipped because the database was busy still catches one. 100 bytes a key at most.
LOCAL_KEYS = 50_000


def request_key(signature: str, body: bytes, content_type: str) -> str:
    """An Events API delivery is keyed by its `event_id`, which Slack keeps across its retries
    (`X-Slack-Retry-Num`); anything else by its signature, unique to timestamp and body."""
    if content_type.startswith("application/json"):
        try:
            event_id = json.loads(body).get("event_id")
        except (ValueError, AttributeError):
            event_id = None
        if isinstance(event_id, str) and 0 < len(event_id) <= 64:
            return f"event:{event_id}"
    return "sig:" + hashlib.sha256(signature.encode()).hexdigest()


class RecentKeys:
    """The keys this process has seen within `KEEP`, at most `limit` of them (oldest go first)."""

    def __init__(self, limit: int = LOCAL_KEYS, keep: float = KEEP.total_seconds()) -> None:
        self.limit = limit
        self.keep = keep
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """False when `key` was already here."""
        now = time.monotonic()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.keep:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            if len(self._seen) > self.limit:
                self._seen.popitem(last=False)
            return True


class ReplayGuard:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.recent = RecentKeys()
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def first_time(self, key: str, deadline: float | None = None) -> bool:
        """Record `key`; False when it was already recorded, here or by any replica. Blocking.

        When the database cannot answer in time (another process holding SQLite's write lock, a
        database not answering) the request goes on, remembered by this process only: whatever
        it would change needs the same database and has the same deadline."""
        if not self.recent.add(key):
            return False
        try:
            with unit_of_work(self.runtime.sessions) as session:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    bound_waits(session, max(0.05, min(CHECK_BUDGET, left)))
                session.add(SeenRequest(key=key, seen_at=datetime.now(UTC)))
                session.flush()
        except IntegrityError:
            return False
        except (OperationalError, PoolTimeout) as slow:
            log.warning("replay check skipped, the database did not answer: %s", slow)
            return True
        self._prune_now_and_then()
        return True

    def _prune_now_and_then(self) -> None:
        with self._lock:
            if time.monotonic() < self._next_prune:
                return
            self._next_prune = time.monotonic() + PRUNE_INTERVAL
        try:
            prune(self.runtime, datetime.now(UTC) - KEEP)
        except (OperationalError, PoolTimeout) as slow:
            log.warning("pruning seen requests failed, will retry: %s", slow)


def prune(runtime: Runtime, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete at most `batch` keys seen before `before`; how many went."""
    with unit_of_work(runtime.sessions) as session:
        oldest = (
            select(SeenRequest.id)
            .where(SeenRequest.seen_at < before)
            .order_by(SeenRequest.seen_at)
            .limit(batch)
        )
        result = session.execute(delete(SeenRequest).where(SeenRequest.id.in_(oldest)))
        return int(getattr(result, "rowcount", 0) or 0)
