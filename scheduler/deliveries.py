"""Every scheduled delivery due at an instant, each sent exactly once: `tick(at)`.

The database is the schedule (DESIGN.md, decision 1). A tick works out from board meetings and
subscriptions what is due at `at` (scheduler/occurrences.py), then for each occurrence:

1. **Claim.** Its row is inserted under the occurrence's unique key, in state `sending`, in a
   transaction of its own. Only the ticker whose insert succeeds posts; the others see an
   IntegrityError and leave it. This holds for any number of `wsoa serve` replicas and
   `wsoa tick` runs, on SQLite and PostgreSQL alike.
2. **Send, then record.** The message is built from the data as it is now and posted with the
   key in its metadata. The row becomes `sent` (with the message ts) or `failed` (with the
   error). Recording names the claim it finishes, so a ticker that lost its claim records
   nothing.
3. **Retry.** A `failed` row is claimed again on a later tick by an UPDATE that names the state
   and attempt count it saw, so two tickers never both retry it. Retries back off (1, 2, 4, 8
   minutes); after `MAX_ATTEMPTS` the row is `abandoned` and each admin is sent one notice
   (itself a delivery with its own key). A 429 never reaches this far: the Web API client
   waits out `Retry-After` and tries again.
4. **Crash safety.** A row in `sending` is a lease held for `LEASE` from `claimed_at`. If its
   ticker dies, or loses its connection mid-post so the outcome is unknown, the row stays
   `sending`. Once the lease has run out, another ticker takes it over (conditional UPDATE)
   and first looks in the conversation for a message carrying the key (`conversations.history`
   with `include_all_metadata`). Found: the row is recorded `sent` with that message's ts.
   Not found: it is posted. Could not look: it stays `sending` and is looked at again after
   another lease; it is never posted blind. So a crash between the platform accepting a post and the
   row saying so does not post it twice. The lease is far longer than a post can take, even
   with the client's 429 and 5xx retries, and is renewed while the post is in progress; and a
   post that waited (a 429's Retry-After, a retry after a slow or dropped request) confirms the
   claim is still its own immediately before it posts again (bot/senders.py `confirm_claim`),
   so a ticker whose clock runs ahead, or a catch-up tick, that took the row over meanwhile is
   the only one to post it.
5. **Catch-up.** What fell due while nothing was running is sent on the next tick if it is
   still within its time: until the meeting starts for a pre-board digest or a reminder, 24
   hours for a weekly digest. Older occurrences are recorded `skipped`, never sent. A meeting
   removed gets nothing more; a meeting moved has a new key, so its new time gets a new digest.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.addresses import Address
from bot.config import Settings
from bot.platforms import EMAIL
from bot.presenters import when
from bot.runtime import Runtime
from bot.senders import (
    ClaimLost,
    DeliveryFailed,
    DeliveryRefused,
    OutcomeUnknown,
    Sender,
    claim_checked,
)
from bot.store.db import unit_of_work
from bot.store.models import ABANDONED, ADMIN_NOTICE, FAILED, SENT, SKIPPED, Delivery
from scheduler import claims
from scheduler.claims import Claim
from scheduler.messages import compose
from scheduler.occurrences import (
    SCHEDULED,
    Occurrence,
    admin_notices,
    deadline_of,
    scheduled_occurrences,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=10)
# Keys looked up per statement: well under every backend's limit on bound parameters.
KEYS_PER_QUERY = 500


def retry_after(attempts: int) -> timedelta:
    """How long after a failed attempt the next may start: 1, 2, 4, 8 … minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


@dataclass(frozen=True)
class Outcome:
    result: str  # sent, skipped, failed, abandoned, waiting
    key: str
    target: str
    detail: str = ""


@dataclass
class TickReport:
    """What one tick did, for `wsoa tick` to print and the clock to log."""

    at: datetime
    settings: Settings = field(repr=False)
    outcomes: list[Outcome] = field(default_factory=list)
    # occurrences another ticker had already claimed
    elsewhere: int = 0
    # hears each outcome as it happens: the metrics (bot/metrics.py)
    observe: Callable[[str, str], None] | None = field(default=None, repr=False)

    def add(self, result: str, key: str, target: str, detail: str = "") -> None:
        self.outcomes.append(Outcome(result, key, target, detail))
        if self.observe is not None:
            self.observe(key, result)
        if result in (FAILED, ABANDONED):
            # The whole report is printed or logged at the end; failures are worth a warning.
            log.warning("%s %s to %s: %s", result, key, target, detail)

    def keys(self, result: str) -> list[str]:
        return [outcome.key for outcome in self.outcomes if outcome.result == result]

    @property
    def sent(self) -> list[str]:
        return self.keys(SENT)

    @property
    def skipped(self) -> list[str]:
        return self.keys(SKIPPED)

    @property
    def failed(self) -> list[str]:
        return self.keys(FAILED)

    @property
    def abandoned(self) -> list[str]:
        return self.keys(ABANDONED)

    @property
    def eventful(self) -> bool:
        return any(outcome.result != "waiting" for outcome in self.outcomes)

    def __str__(self) -> str:
        tz = self.settings.tz
        lines = [f"Tick at {when(self.at, tz)} {self.settings.timezone} ({self.at.isoformat()})"]
        for result in (SENT, SKIPPED, FAILED, ABANDONED, "waiting"):
            found = [outcome for outcome in self.outcomes if outcome.result == result]
            if found:
                lines.append(f"  {result} ({len(found)}):")
                lines += [
                    f"    {o.key} → {o.target}" + (f": {o.detail}" if o.detail else "")
                    for o in found
                ]
        if self.elsewhere:
            lines.append(f"  {self.elsewhere} already claimed by another ticker")
        if len(lines) == 1:
            lines.append("  nothing was due")
        return "\n".join(lines)


class InFlight:
    """The posts a process is making, by delivery, and which of them are waiting before they
    send again (a 429's Retry-After): a process that is stopping hands those back at once
    (`hand_back`), so another process delivers them on its next tick, not after the lease."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, Claim] = {}
        self._handed: set[int] = set()
        self.stopping = threading.Event()
        # set while a tick runs
        self.ticking = threading.Event()

    def mark(self, claim: Claim, waiting: bool) -> bool:
        """A post starts or stops waiting; False, as it stops, when it was handed back."""
        with self._lock:
            if waiting:
                self._waiting[claim.delivery_id] = claim
                return True
            self._waiting.pop(claim.delivery_id, None)
            return claim.delivery_id not in self._handed

    def hand_back(self, runtime: Runtime) -> list[str]:
        """Stop: no new post begins, and every waiting one is handed back: its lease ended now,
        so another process takes it over on its next tick and, as with any interrupted post,
        looks for it before posting it (a post may wait after part of it was sent: a retry
        after a 5xx, the files after the message). Returns their keys."""
        self.stopping.set()
        with self._lock:
            waiting = list(self._waiting.values())
            self._waiting.clear()
            # from here a waiting thread, as its wait ends, sends nothing more
            self._handed.update(claim.delivery_id for claim in waiting)
        at = runtime.clock()
        handed = []
        for claim in waiting:
            if claims.hand_back(runtime.sessions, claim, at, ended_at=at - LEASE):
                handed.append(claim.key)
                log.info("handed %s back for another process to deliver", claim.key)
        return handed


def tick(
    runtime: Runtime,
    senders: Sender | Mapping[str, Sender],
    at: datetime,
    in_flight: InFlight | None = None,
) -> TickReport:
    """Deliver, once, everything due at `at` that has not been delivered: each through the
    sender for its address's platform (one sender, or senders by platform). `in_flight` is the
    process's, when it can be stopped (`wsoa serve`): a tick then begins no post once it is
    stopping."""
    if at.tzinfo is None:
        raise ValueError("tick needs an aware instant: a naive time has no place on the clock")
    by_platform = dict(senders) if isinstance(senders, Mapping) else {senders.platform: senders}
    run = _Tick(runtime, by_platform, at, in_flight or InFlight())
    with unit_of_work(runtime.sessions) as session:
        scheduled = scheduled_occurrences(session, runtime.settings, at)
    run.deliver(scheduled, kinds=SCHEDULED)
    # After the scheduled ones, so that a delivery given up on just now is reported at once.
    with unit_of_work(runtime.sessions) as session:
        notices = admin_notices(session, runtime.settings, at)
    run.deliver(notices, kinds=(ADMIN_NOTICE,))
    if run.report.abandoned and not runtime.settings.admins:
        log.warning("deliveries were given up on and WSOA_ADMINS is empty: nobody was told")
    return run.report


def ticker_id() -> str:
    """Who holds a claim: readable in the table, unique per tick."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Tick:
    def __init__(
        self, runtime: Runtime, senders: dict[str, Sender], at: datetime, in_flight: InFlight
    ) -> None:
        self.in_flight = in_flight
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.senders = senders
        self.at = at
        self.by = ticker_id()
        self.report = TickReport(at=at, settings=runtime.settings, observe=runtime.metrics.delivery)

    def deliver(self, occurrences: Sequence[Occurrence], kinds: Iterable[str]) -> None:
        by_key = {occurrence.key: occurrence for occurrence in occurrences}
        recorded, unfinished = self._rows(list(by_key), tuple(kinds))
        for occurrence in sorted(occurrences, key=lambda o: (o.due_at, o.key)):
            if self.in_flight.stopping.is_set():
                return
            if occurrence.key not in recorded:
                self._first(occurrence)
        for row in unfinished:
            if self.in_flight.stopping.is_set():
                return
            self._again(row, by_key.get(row.key))

    def _rows(self, keys: list[str], kinds: tuple[str, ...]) -> tuple[set[str], list[Delivery]]:
        """Which keys already have a row, and every row still to be finished."""
        with unit_of_work(self.sessions) as session:
            recorded: set[str] = set()
            for start in range(0, len(keys), KEYS_PER_QUERY):
                chunk = keys[start : start + KEYS_PER_QUERY]
                recorded.update(
                    session.scalars(select(Delivery.key).where(Delivery.key.in_(chunk)))
                )
            unfinished = session.scalars(
                select(Delivery)
                .where(Delivery.state.in_(claims.UNFINISHED), Delivery.kind.in_(kinds))
                .order_by(Delivery.due_at, Delivery.id)
            ).all()
        return recorded, list(unfinished)

    # --- an occurrence with no row yet

    def _first(self, occurrence: Occurrence) -> None:
        unreachable = self._unreachable(occurrence)
        if unreachable or self.at >= occurrence.deadline:
            reason = unreachable or (
                f"missed: due {when(occurrence.due_at, self.runtime.settings.tz)}, "
                "and nothing ran before its time was up"
            )
            state = ABANDONED if unreachable and occurrence.tell_admins else SKIPPED
            if claims.record_skipped(self.sessions, occurrence, self.at, self.by, reason, state):
                self.report.add(state, occurrence.key, occurrence.target, reason)
            return
        claim = claims.claim_new(self.sessions, occurrence, self.at, self.by)
        if claim is None:
            self.report.elsewhere += 1
            return
        self._send(claim, occurrence)

    # --- a row already recorded but not finished

    def _again(self, row: Delivery, occurrence: Occurrence | None) -> None:
        if row.state == FAILED:
            self._retry(row, occurrence)
        elif self.at >= row.claimed_at + LEASE:
            self._take_over(row, occurrence)
        else:
            self.report.add("waiting", row.key, row.target, "being sent by another ticker")

    def _retry(self, row: Delivery, occurrence: Occurrence | None) -> None:
        stop = self._why_stop(row, occurrence)
        if stop is None and row.attempts >= MAX_ATTEMPTS:
            stop = (ABANDONED, f"{row.attempts} attempts failed; last: {row.last_error}")
        if stop is not None:
            state, reason = stop
            if claims.give_up_on(self.sessions, row, self.at, self.by, state, reason):
                self.report.add(state, row.key, row.target, reason)
            return
        if self.at < row.claimed_at + retry_after(row.attempts):
            self.report.add("waiting", row.key, row.target, f"retrying after: {row.last_error}")
            return
        assert occurrence is not None  # _why_stop returns a reason when it is None
        claim = claims.retake_failed(self.sessions, row, self.at, self.by)
        if claim is None:
            self.report.elsewhere += 1
            return
        self._send(claim, occurrence)

    def _take_over(self, row: Delivery, occurrence: Occurrence | None) -> None:
        """An interrupted send: find out whether it was posted before doing anything else."""
        claim = claims.take_over(self.sessions, row, self.at, self.by)
        if claim is None:
            self.report.elsewhere += 1
            return
        address = row.address or (occurrence.address if occurrence else None)
        sender = self._sender(address)
        try:
            if address is None or sender is None:
                raise DeliveryFailed(f"no way to reach {row.target} to look for the post")
            ts = sender.find_sent(address, row.key, row.claimed_at)
        except DeliveryFailed as error:
            self._unconfirmed(claim, row, str(error))
            return
        if ts is not None:
            claims.finish(self.sessions, claim, self.at, state=SENT, sent_at=self.at, message_ts=ts)
            self.report.add(SENT, row.key, row.target, f"found already posted (ts {ts})")
            return
        stop = self._why_stop(row, occurrence)
        if stop is None and claim.attempts > MAX_ATTEMPTS:
            stop = (ABANDONED, f"{row.attempts} attempts; last: {row.last_error}")
        if stop is not None:
            state, reason = stop
            claims.finish(self.sessions, claim, self.at, state=state, last_error=reason)
            self.report.add(state, row.key, row.target, reason)
            return
        assert occurrence is not None
        self._send(claim, occurrence)

    def _unconfirmed(self, claim: Claim, row: Delivery, error: str) -> None:
        """The conversation could not be read: never post blind. Look again after a lease."""
        reason = f"could not confirm whether an interrupted post arrived: {error}"
        if claim.attempts >= MAX_ATTEMPTS:
            claims.finish(self.sessions, claim, self.at, state=ABANDONED, last_error=reason)
            self.report.add(ABANDONED, row.key, row.target, reason)
        else:
            claims.finish(self.sessions, claim, self.at, last_error=reason)
            self.report.add("waiting", row.key, row.target, reason)

    def _why_stop(self, row: Delivery, occurrence: Occurrence | None) -> tuple[str, str] | None:
        """Why a recorded delivery may not be sent now, as (final state, reason); None if it may."""
        deadline = occurrence.deadline if occurrence else deadline_of(row)
        if self.at >= deadline:
            return ABANDONED, f"its time ran out; last error: {row.last_error}"
        if occurrence is None:
            return SKIPPED, "no longer due (meeting moved or removed, or digest turned off)"
        unreachable = self._unreachable(occurrence)
        if unreachable:
            return SKIPPED, unreachable
        return None

    def _sender(self, address: Address | None) -> Sender | None:
        return self.senders.get(address.platform) if address is not None else None

    def _unreachable(self, occurrence: Occurrence) -> str | None:
        """Why an occurrence can never be sent by this ticker, if it cannot."""
        if occurrence.unreachable:
            return occurrence.unreachable
        if occurrence.address is None:
            return f"“{occurrence.target}” has no address to deliver to"
        if self._sender(occurrence.address) is None:
            where = occurrence.address.platform
            if where == EMAIL:
                return (
                    f"“{occurrence.target}” has no chat account linked, and e-mail is not set "
                    "up (WSOA_SMTP_URL, or WSOA_NOTIFY_API_KEY)"
                )
            return f"“{occurrence.target}” is on {where}, which this bot does not post to"
        return None

    # --- sending

    def _send(self, claim: Claim, occurrence: Occurrence) -> None:
        sender = self._sender(occurrence.address)
        assert sender is not None and occurrence.address is not None  # see _unreachable
        try:
            with unit_of_work(self.sessions) as session:
                reply = compose(session, self.runtime.settings, occurrence, self.at, sender.prefix)
            if reply is None:
                reason = "nothing to send any more"
                claims.finish(self.sessions, claim, self.at, state=SKIPPED, last_error=reason)
                self.report.add(SKIPPED, occurrence.key, occurrence.target, reason)
                return
            with (
                claims.held(self.sessions, claim, self.at, LEASE) as still_ours,
                claim_checked(still_ours, lambda waits: self.in_flight.mark(claim, waits)),
            ):
                ts = sender.send(reply, occurrence.address, occurrence.key)
        except ClaimLost:
            # It waited (a 429, a slow network) and another ticker holds it now: that one
            # looks for the message and posts it if it is not there; this one records nothing.
            self.report.elsewhere += 1
            log.info("%s was taken over while its post waited; not posted here", occurrence.key)
        except DeliveryRefused as error:
            self._failed(claim, occurrence, str(error), permanent=True)
        except DeliveryFailed as error:
            self._failed(claim, occurrence, str(error))
        except OutcomeUnknown as error:
            # Still `sending`: whoever takes the lease over looks for the message first.
            claims.finish(self.sessions, claim, self.at, last_error=str(error))
            self.report.add("waiting", occurrence.key, occurrence.target, str(error))
        except Exception as error:
            # A fault of ours (building the digest): recorded and retried like a platform
            # failure, so it ends with the admins told rather than in a log nobody reads.
            log.exception("building or posting %s failed", occurrence.key)
            self._failed(claim, occurrence, f"{type(error).__name__}: {error}")
        else:
            if not claims.finish(
                self.sessions, claim, self.at, state=SENT, sent_at=self.at, message_ts=ts
            ):
                # Only when a post outlasts the lease: another ticker has taken the row over.
                log.warning("%s was posted (ts %s) after its lease ran out", occurrence.key, ts)
            self.report.add(SENT, occurrence.key, occurrence.target, f"ts {ts}")

    def _failed(
        self, claim: Claim, occurrence: Occurrence, error: str, *, permanent: bool = False
    ) -> None:
        # The last allowed attempt, or one that can never succeed, is given up on at once, so
        # the admins hear in this tick.
        state = ABANDONED if permanent or claim.attempts >= MAX_ATTEMPTS else FAILED
        claims.finish(self.sessions, claim, self.at, state=state, last_error=error[:2000])
        self.report.add(
            state, occurrence.key, occurrence.target, f"attempt {claim.attempts}: {error}"
        )
