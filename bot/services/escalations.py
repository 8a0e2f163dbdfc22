"""Which red actions the board must hear about, read from the update history.

A *cycle* is the interval between consecutive board meetings of the plan (removed meetings do
not count); where there are no earlier meetings, a cycle is 42 days (the 6-weekly reporting
rhythm). Seen from an instant `at`:

- *newly red*: red at `at`, and its current red run began after the previous board meeting;
- *red for two cycles*: red at `at`, and red without a break since before the meeting before
  the previous one (it was red when each of the last two boards sat).

Every red action stays on the board's list until a board records a decision on it during its
red run (`escalate REF NOTE`: an update row of kind "escalation", shown in the action's
history), with each reason written out: newly red, red for two cycles, red since before the
previous board and never considered, overdue, its lead asks. One the board decided on comes
back once it has been red for two more cycles. An action whose lead asks for escalation (their
latest highlight report since the previous board says "escalate: yes") is listed too, whatever
its rating, until the board records a decision after the asking.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from bot.domain import (
    COMPLETE,
    Invalid,
    Rating,
    Status,
    UpdateKind,
    clean_note,
    day_text,
    is_overdue,
)
from bot.services.actions import find_action, write_change
from bot.services.context import Ctx
from bot.services.history import ActionChange
from bot.store.models import Action, BoardMeeting, HighlightReport, Update

CYCLE_DAYS = 42
ESCALATION = UpdateKind.ESCALATION
NEWLY_RED = "newly red since the previous board"
RED_TWO_CYCLES = "red for two cycles"
RED_UNCONSIDERED = "red since before the previous board, and not yet considered by a board"
RED_AGAIN = "red for two cycles since the board last considered it"
LEAD_ASKS = "its lead asks for escalation"


@dataclass(frozen=True)
class Cycle:
    at: datetime
    # the previous board meeting's start (or `at` less one cycle), and the one before that
    previous: datetime
    before: datetime
    previous_board: BoardMeeting | None


def cycle_at(session: Session, plan_id: int, at: datetime) -> Cycle:
    """The two cycle boundaries before `at`: one statement."""
    boards = session.scalars(
        select(BoardMeeting)
        .where(
            BoardMeeting.plan_id == plan_id,
            BoardMeeting.removed_at.is_(None),
            BoardMeeting.starts_at < at,
        )
        .order_by(BoardMeeting.starts_at.desc())
        .limit(2)
    ).all()
    cycle = timedelta(days=CYCLE_DAYS)
    previous = boards[0].starts_at if boards else at - cycle
    before = boards[1].starts_at if len(boards) > 1 else previous - cycle
    return Cycle(
        at=at, previous=previous, before=before, previous_board=boards[0] if boards else None
    )


class RagTimeline:
    """Every action's RAG (and whether it was finished) over time, from the rows of history
    that changed either."""

    def __init__(self) -> None:
        self._times: dict[int, list[datetime]] = {}
        self._rags: dict[int, list[str | None]] = {}
        self._finished: dict[int, list[bool]] = {}

    def add(self, action_id: int, at: datetime, rag: str | None, finished: bool = False) -> None:
        self._times.setdefault(action_id, []).append(at)
        self._rags.setdefault(action_id, []).append(rag)
        self._finished.setdefault(action_id, []).append(finished)

    @property
    def action_ids(self) -> list[int]:
        return list(self._times)

    def _last(self, action_id: int, at: datetime) -> int | None:
        """The index of the action's last row at `at`, if it had one."""
        i = bisect.bisect_right(self._times.get(action_id, []), at)
        return i - 1 if i else None

    def rag_at(self, action_id: int, at: datetime) -> str | None:
        i = self._last(action_id, at)
        return self._rags[action_id][i] if i is not None else None

    def rating_at(self, action_id: int, at: datetime) -> Rating:
        """As counts rate it: Complete once finished, else the RAG (None: not rated)."""
        i = self._last(action_id, at)
        if i is None:
            return None
        return COMPLETE if self._finished[action_id][i] else self._rags[action_id][i]

    def red_since(self, action_id: int, at: datetime) -> datetime | None:
        """When the red run that `action_id` is in at `at` began; None if it is not red."""
        times = self._times.get(action_id, [])
        rags = self._rags.get(action_id, [])
        i = bisect.bisect_right(times, at) - 1
        if i < 0 or rags[i] != "red":
            return None
        while i > 0 and rags[i - 1] == "red":
            i -= 1
        return times[i]


def rag_timeline(session: Session, plan_id: int, until: datetime) -> RagTimeline:
    """One statement: the history rows up to `until` whose RAG or status differs from the one
    before."""
    rows = session.execute(
        select(Update.action_id, Update.at, Update.rag_to, Update.status_to)
        .join(Action, Action.id == Update.action_id)
        .where(
            Action.plan_id == plan_id,
            Update.at <= until,
            or_(
                Update.rag_from.is_distinct_from(Update.rag_to),
                Update.status_from.is_distinct_from(Update.status_to),
            ),
        )
        .order_by(Update.at, Update.id)
    ).all()
    timeline = RagTimeline()
    for action_id, at, rag, status in rows:
        timeline.add(action_id, at, rag, status is not None and Status(status).is_finished)
    return timeline


@dataclass(frozen=True)
class ForEscalation:
    action: Action
    # every reason, in the order NEWLY_RED, RED_TWO_CYCLES / RED_UNCONSIDERED, overdue, LEAD_ASKS
    reasons: tuple[str, ...]
    red_since: datetime | None  # None: not red (listed because its lead asks)
    # the board's latest recorded consideration of the action, if it ever had one
    considered: Update | None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def for_escalation(
    session: Session, plan_id: int, at: datetime, timeline: RagTimeline | None = None
) -> tuple[Cycle, list[ForEscalation]]:
    """The actions the board is asked to consider as of `at`, in ref order.

    A red action stays on the list until a board records a decision on it (`escalate REF
    NOTE`) during its red run; one the board decided on comes back once it has been red for
    two more cycles. An action whose lead asks for escalation is listed until the board
    records a decision after the asking. A constant number of statements: the cycle, the
    timeline unless given, the reports asking, the decisions, the actions."""
    cycle = cycle_at(session, plan_id, at)
    timeline = timeline or rag_timeline(session, plan_id, at)
    decided = _latest_decisions(session, plan_id, at)
    reasons: dict[int, list[str]] = {}
    red_since: dict[int, datetime | None] = {}
    for action_id in timeline.action_ids:
        since = timeline.red_since(action_id, at)
        if since is None:
            continue
        last = decided.get(action_id)
        if last is not None and last.at >= since and last.at > cycle.before:
            continue  # the board decided on it in this red run, less than two cycles ago
        red_since[action_id] = since
        if last is not None and last.at >= since:
            reasons[action_id] = [RED_AGAIN]
        elif since > cycle.previous:
            reasons[action_id] = [NEWLY_RED]
        elif since <= cycle.before:
            reasons[action_id] = [RED_TWO_CYCLES]
        else:
            reasons[action_id] = [RED_UNCONSIDERED]
    for action_id, asked in asked_for(session, plan_id, cycle.previous, at).items():
        last = decided.get(action_id)
        # history's order is (at, id): a decision and a report in the same second keep theirs
        if last is None or (last.at, last.id) < asked:
            reasons.setdefault(action_id, []).append(LEAD_ASKS)
            red_since.setdefault(action_id, timeline.red_since(action_id, at))
    if not reasons:
        return cycle, []
    # Leads are not needed here; loading them would be one statement per 500 actions.
    actions = session.scalars(
        select(Action)
        .options(lazyload(Action.leads))
        .where(Action.plan_id == plan_id, Action.id.in_(list(reasons)))
        .order_by(Action.sort_key)
    ).all()
    listed = []
    for a in actions:
        why = reasons[a.id]
        if is_overdue(a.due, a.status, at.date()):
            why.insert(len(why) - (why[-1] == LEAD_ASKS), f"overdue (due {day_text(a.due)})")
        listed.append(
            ForEscalation(
                action=a,
                reasons=tuple(why),
                red_since=red_since[a.id],
                considered=decided.get(a.id),
            )
        )
    return cycle, listed


def _latest_decisions(session: Session, plan_id: int, at: datetime) -> dict[int, Update]:
    """Each action's latest recorded board decision up to `at`."""
    decided: dict[int, Update] = {}
    for u in session.scalars(
        select(Update)
        .join(Action, Action.id == Update.action_id)
        .where(Action.plan_id == plan_id, Update.kind == ESCALATION, Update.at <= at)
        .order_by(Update.at, Update.id)
    ):
        decided[u.action_id] = u
    return decided


def asked_for(
    session: Session, plan_id: int, since: datetime, until: datetime, action_id: int | None = None
) -> dict[int, tuple[datetime, int]]:
    """The actions whose latest highlight report in (since, until] asks for escalation (a
    lead's "escalate: yes", whatever the rating), with when it asked: its time and its update's
    id. A later report without it withdraws it."""
    where = [
        HighlightReport.plan_id == plan_id,
        HighlightReport.at > since,
        HighlightReport.at <= until,
    ]
    if action_id is not None:
        where.append(HighlightReport.action_id == action_id)
    latest: dict[int, tuple[bool, datetime, int]] = {}
    for reported, asks, asked_at, update_id in session.execute(
        select(
            HighlightReport.action_id,
            HighlightReport.escalate,
            HighlightReport.at,
            HighlightReport.update_id,
        )
        .where(*where)
        .order_by(HighlightReport.at, HighlightReport.id)
    ):
        latest[reported] = (asks, asked_at, update_id)
    return {
        reported: (asked_at, update_id)
        for reported, (asks, asked_at, update_id) in latest.items()
        if asks
    }


def escalate(ctx: Ctx, ref: str, note: str) -> Update:
    """An admin records that the board considered an action (a red one, or one whose lead asks
    for escalation), and what it decided."""
    ctx.require_admin("record a board escalation")
    action = find_action(ctx.session, ctx.plan.id, ref)
    if action.rag != "red":
        previous = cycle_at(ctx.session, ctx.plan.id, ctx.now).previous
        if not asked_for(ctx.session, ctx.plan.id, previous, ctx.now, action.id):
            rating = action.rag or "not rated"
            raise Invalid(
                f"{action.ref} is {rating}: only red actions, or ones whose lead asks for "
                "escalation in a highlight report since the previous board, are escalated to "
                "the board. Nothing was changed."
            )
    return write_change(ctx, action, ESCALATION, ActionChange(), clean_note(note))


def recorded(session: Session, plan_id: int, since: datetime, until: datetime) -> Sequence[Update]:
    """The escalations recorded in (since, until], oldest first, with their actions loaded."""
    return (
        session.scalars(
            select(Update)
            .join(Update.action)
            .options(contains_eager(Update.action).lazyload(Action.leads))
            .where(
                Action.plan_id == plan_id,
                Update.kind == ESCALATION,
                Update.at > since,
                Update.at <= until,
            )
            .order_by(Update.at, Update.id)
        )
        .unique()
        .all()
    )
