"""The deliveries table as a set of claims: every change is one short transaction that either
wins or finds someone else got there first. Nothing here talks to a chat platform.

A first claim is an INSERT under the occurrence's unique key; a later one (a retry, a take-over
of an expired lease) is an UPDATE that names the state and attempt count it saw, so of several
tickers that saw the same row exactly one changes it. While a post is in progress its ticker
renews the lease (`held`), so a post that outlasts one lease is not taken over, and posted
again, by a second ticker; a ticker that dies stops renewing, and its lease runs out as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.db import unit_of_work
from bot.store.models import (
    ABANDONED,
    FAILED,
    PENDING,
    SENDING,
    SKIPPED,
    Delivery,
)
from scheduler.occurrences import Occurrence

log = logging.getLogger(__name__)

# PENDING is the column's default; a row left in it is treated like an interrupted send.
UNFINISHED = (SENDING, PENDING, FAILED)


@dataclass(frozen=True)
class Claim:
    """A delivery this ticker holds: it alone may post it, until it records the outcome."""

    delivery_id: int
    key: str
    attempts: int
    by: str


def claim_new(
    sessions: sessionmaker[Session], occurrence: Occurrence, at: datetime, by: str
) -> Claim | None:
    """Insert the occurrence's row, in state sending: None when another ticker already has it."""
    row = _row(occurrence, at, by, state=SENDING, attempts=1)
    if not _insert(sessions, row):
        return None
    return Claim(delivery_id=row.id, key=row.key, attempts=1, by=by)


def record_skipped(
    sessions: sessionmaker[Session],
    occurrence: Occurrence,
    at: datetime,
    by: str,
    reason: str,
    state: str = SKIPPED,
) -> bool:
    """Record that this occurrence will not be sent (as abandoned when the admins are to be
    told); False when it was already recorded."""
    return _insert(sessions, _row(occurrence, at, by, state=state, attempts=0, error=reason))


def retake_failed(
    sessions: sessionmaker[Session], row: Delivery, at: datetime, by: str
) -> Claim | None:
    """A failed delivery's next attempt, if no other ticker took it first."""
    attempts = row.attempts + 1
    won = _change(
        sessions,
        row.id,
        expect={"state": FAILED, "attempts": row.attempts},
        values={"state": SENDING, "attempts": attempts, "claimed_at": at, "claimed_by": by},
    )
    return Claim(row.id, row.key, attempts, by) if won else None


def take_over(
    sessions: sessionmaker[Session], row: Delivery, at: datetime, by: str
) -> Claim | None:
    """An interrupted send whose lease has run out, if no other ticker took it first."""
    attempts = row.attempts + 1
    won = _change(
        sessions,
        row.id,
        expect={"state": row.state, "attempts": row.attempts, "claimed_by": row.claimed_by},
        values={"state": SENDING, "attempts": attempts, "claimed_at": at, "claimed_by": by},
    )
    return Claim(row.id, row.key, attempts, by) if won else None


def give_up_on(
    sessions: sessionmaker[Session], row: Delivery, at: datetime, by: str, state: str, reason: str
) -> bool:
    """A failed delivery that will not be tried again: abandoned, or skipped when no longer due."""
    return _change(
        sessions,
        row.id,
        expect={"state": FAILED, "attempts": row.attempts},
        values={"state": state, "claimed_at": at, "claimed_by": by, "last_error": reason},
    )


def finish(sessions: sessionmaker[Session], claim: Claim, at: datetime, **values: Any) -> bool:
    """Record the outcome of a claim this ticker holds. An `abandoned` outcome is stamped `at`,
    so the notice to admins is dated from when it was given up on."""
    if values.get("state") == ABANDONED:
        values["claimed_at"] = at
    return _change(
        sessions,
        claim.delivery_id,
        expect={"state": SENDING, "attempts": claim.attempts, "claimed_by": claim.by},
        values=values,
    )


def renew(sessions: sessionmaker[Session], claim: Claim, at: datetime) -> bool:
    """Move the claim's lease on to start `at`; False when the claim is no longer this
    ticker's."""
    return _change(
        sessions,
        claim.delivery_id,
        expect={"state": SENDING, "attempts": claim.attempts, "claimed_by": claim.by},
        values={"claimed_at": at},
    )


def hand_back(
    sessions: sessionmaker[Session], claim: Claim, at: datetime, *, ended_at: datetime
) -> bool:
    """A claim whose post is waiting, given up by a process that is stopping: still `sending`,
    its lease ended (`claimed_at` moved back to `ended_at`) and no longer this ticker's, so
    another process takes it over on its next tick and looks for the post before posting.
    False when the claim had already gone."""
    return finish(
        sessions,
        claim,
        at,
        claimed_at=ended_at,
        claimed_by=f"{claim.by[:80]} (handed back)",
        last_error=f"handed back at {at.isoformat()}: the process stopped while the post waited",
    )


def holds(sessions: sessionmaker[Session], claim: Claim) -> bool:
    """Whether the claim is still this ticker's: its row still sending, at the attempt this
    ticker made, by this ticker."""
    with unit_of_work(sessions) as session:
        found = session.scalar(
            select(Delivery.id).where(
                Delivery.id == claim.delivery_id,
                Delivery.state == SENDING,
                Delivery.attempts == claim.attempts,
                Delivery.claimed_by == claim.by,
            )
        )
    return found is not None


@contextmanager
def held(
    sessions: sessionmaker[Session], claim: Claim, at: datetime, lease: timedelta
) -> Iterator[Callable[[], bool]]:
    """Keep `claim`'s lease while the block runs (a post): every quarter lease a thread moves
    `claimed_at` on to `at` plus the time spent so far. The tick's `at` is its own clock (a
    catch-up tick may run at any instant), so the lease moves by elapsed time from it.

    Gives the block `still_ours`, which says whether the claim is still this ticker's: a post
    that has waited calls it before posting, since a ticker whose clock runs ahead may have
    taken the lease over in the meantime."""
    stop = threading.Event()
    started = time.monotonic()

    def still_ours() -> bool:
        return holds(sessions, claim)

    def beat() -> None:
        while not stop.wait(lease.total_seconds() / 4):
            try:
                if not renew(sessions, claim, at + timedelta(seconds=time.monotonic() - started)):
                    return
            except Exception:  # a database hiccup: the next beat tries again
                log.warning("could not renew the lease on %s", claim.key, exc_info=True)

    thread = threading.Thread(target=beat, name=f"lease {claim.key}", daemon=True)
    thread.start()
    try:
        yield still_ours
    finally:
        stop.set()
        thread.join()


def _row(
    occurrence: Occurrence,
    at: datetime,
    by: str,
    *,
    state: str,
    attempts: int,
    error: str | None = None,
) -> Delivery:
    return Delivery(
        key=occurrence.key,
        kind=occurrence.kind,
        target=occurrence.target,
        address=occurrence.address,
        due_at=occurrence.due_at,
        claimed_at=at,
        claimed_by=by,
        state=state,
        attempts=attempts,
        last_error=error,
    )


def _insert(sessions: sessionmaker[Session], row: Delivery) -> bool:
    # Its own session and transaction: after a unique violation the transaction is rolled back
    # and the session closed (PostgreSQL refuses anything more in an aborted transaction), and
    # the caller carries on with fresh ones.
    try:
        with unit_of_work(sessions) as session:
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _change(
    sessions: sessionmaker[Session],
    delivery_id: int,
    expect: dict[str, Any],
    values: dict[str, Any],
) -> bool:
    conditions = [getattr(Delivery, column) == value for column, value in expect.items()]
    statement = (
        update(Delivery)
        .where(Delivery.id == delivery_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    with unit_of_work(sessions) as session:
        result = cast(CursorResult[Any], session.execute(statement))
        return result.rowcount == 1
