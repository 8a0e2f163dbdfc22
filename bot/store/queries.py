"""Read models: aggregate queries whose statement count does not grow with the plan."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    exists,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session, lazyload

from bot.domain import COMPLETE, Rag, Rating, Status
from bot.store.models import (
    Action,
    Answer,
    BoardMeeting,
    FollowUp,
    Identity,
    Person,
    Workstream,
    action_leads,
    person_label,
)

CLOSED = tuple(s.value for s in Status if s.is_closed)
FINISHED = tuple(s.value for s in Status if s.is_finished)


@dataclass(frozen=True)
class Filter:
    """Which actions: every field set narrows the list."""

    rag: str | None = None
    # finished actions (complete or signed off): BRAG's Complete
    complete: bool = False
    workstream_id: int | None = None
    lead_person_id: int | None = None
    overdue_on: date | None = None  # due before this day, still open
    due_between: tuple[date, date] | None = None  # still open, due in this range
    stale_before: datetime | None = None  # still open, no update since


def is_open() -> ColumnElement[bool]:
    return Action.status.not_in(CLOSED)


# Statements here are built once per shape and run with their values bound: building and
# keying a statement costs SQLAlchemy more than running a small one (0.4 ms against 0.25 ms
# for the due-soon refs of a 10,000-action plan), and a summary or digest runs a dozen.
Shape = frozenset[str]


def _bound(plan_id: int, f: Filter) -> dict[str, object]:
    """The filter's values by the names `_where` binds them to; their keys are its shape."""
    params: dict[str, object] = {"plan_id": plan_id}
    if f.rag:
        params["rag"] = f.rag
    if f.complete:
        params["complete"] = True
    if f.workstream_id is not None:
        params["workstream_id"] = f.workstream_id
    if f.lead_person_id is not None:
        params["lead_person_id"] = f.lead_person_id
    if f.overdue_on is not None:
        params["overdue_on"] = f.overdue_on
    if f.due_between is not None:
        params["due_from"], params["due_until"] = f.due_between
    if f.stale_before is not None:
        params["stale_before"] = f.stale_before
    return params


@functools.cache
def _where(shape: Shape) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a filter of this shape (`_bound`'s keys), on bound parameters."""
    where: list[ColumnElement[bool]] = [Action.plan_id == bindparam("plan_id")]
    if "rag" in shape:
        # a finished action is rated Complete, whatever its RAG last was
        where += [Action.rag == bindparam("rag"), Action.status.not_in(FINISHED)]
    if "complete" in shape:
        where.append(Action.status.in_(FINISHED))
    if "workstream_id" in shape:
        where.append(Action.workstream_id == bindparam("workstream_id"))
    if "lead_person_id" in shape:
        where.append(
            Action.id.in_(
                select(action_leads.c.action_id).where(
                    action_leads.c.person_id == bindparam("lead_person_id")
                )
            )
        )
    if "overdue_on" in shape:
        where += [Action.due < bindparam("overdue_on"), is_open()]
    if "due_from" in shape:
        where += [Action.due.between(bindparam("due_from"), bindparam("due_until")), is_open()]
    if "stale_before" in shape:
        last = func.coalesce(Action.last_update_at, Action.created_at)
        where += [last < bindparam("stale_before"), is_open()]
    return tuple(where)


_LIMIT = bindparam("limit", type_=Integer)


@functools.cache
def _actions_statement(shape: Shape, leads: bool, limited: bool) -> Select[Action]:
    stmt: Select[Action] = select(Action).where(*_where(shape)).order_by(Action.sort_key)
    if not leads:
        stmt = stmt.options(lazyload(Action.leads))
    return stmt.limit(_LIMIT) if limited else stmt


@functools.cache
def _count_statement(shape: Shape) -> Select[int]:
    return select(func.count()).select_from(Action).where(*_where(shape))


def find_actions(
    session: Session,
    plan_id: int,
    f: Filter,
    limit: int | None = None,
    *,
    total: int | None = None,
    leads: bool = True,
) -> tuple[Sequence[Action], int]:
    """The matching actions in ref order (at most `limit`), and how many match in all (counted
    unless the caller knows it: `total`). `leads=False` leaves their leads to `load_leads`, so
    that several lists read theirs in one statement."""
    params = _bound(plan_id, f)
    shape = frozenset(params)
    if limit is None:
        rows = session.scalars(_actions_statement(shape, leads, False), params).all()
        return rows, len(rows)
    rows = session.scalars(_actions_statement(shape, leads, True), {**params, "limit": limit}).all()
    if len(rows) < limit:
        return rows, len(rows)
    if total is None:
        total = session.scalar(_count_statement(shape), params) or 0
    return rows, total


@dataclass(frozen=True)
class Lead:
    """A lead as a list of actions names them: no more of the person than that."""

    id: int
    label: str
    handles: dict[str, str]


def leads_of(session: Session, action_ids: Iterable[int]) -> dict[int, list[Lead]]:
    """The leads of these actions (found with `leads=False`), in one statement for them all,
    as plain values: a digest's lists name a hundred people, and need nothing else of them."""
    found: dict[int, list[Lead]] = {action_id: [] for action_id in action_ids}
    if not found:
        return found
    rows = session.execute(_LEADS_OF, {"action_ids": list(found)}).all()
    for action_id, person_id, name, email, platform, external_id in rows:
        leads = found[action_id]
        if not leads or leads[-1].id != person_id:
            leads.append(Lead(person_id, person_label(person_id, name, email), {}))
        if platform is not None:
            leads[-1].handles.setdefault(platform, external_id)
    return found


_LEADS_OF = (
    select(
        action_leads.c.action_id,
        Person.id,
        Person.name,
        Person.email,
        Identity.platform,
        Identity.external_id,
    )
    .join(Person, Person.id == action_leads.c.person_id)
    .outerjoin(Identity, Identity.person_id == Person.id)
    .where(action_leads.c.action_id.in_(bindparam("action_ids", expanding=True)))
    .order_by(action_leads.c.action_id, Person.name, Person.id, Identity.id)
)


@dataclass(frozen=True)
class WorkstreamCounts:
    workstream_id: int
    name: str
    red: int = 0
    amber: int = 0
    green: int = 0
    unrated: int = 0
    # finished (complete or signed off): rated Complete, and in no RAG count
    complete: int = 0
    closed: int = 0
    total: int = 0
    # the five-point delivery-confidence scale's two in-between ratings
    red_amber: int = 0
    amber_green: int = 0

    def of(self, rating: Rating) -> int:
        """How many actions have this rating (COMPLETE: finished; None: not rated)."""
        return getattr(self, count_field(rating))

    @property
    def overall(self) -> Rating:
        """The worst rating among its open actions; Complete when every action is finished."""
        worst = next((rag for rag in Rag.scale(5) if self.of(rag)), None)
        if worst is None and self.total and self.complete == self.total:
            return COMPLETE
        return worst


def count_field(rating: Rating) -> str:
    """The WorkstreamCounts field that counts a rating: `red/amber` → `red_amber`."""
    return str(rating).replace("/", "_") if rating else "unrated"


def rag_counts(session: Session, plan_id: int) -> list[WorkstreamCounts]:
    """RAG counts per workstream, in plan order: two statements, the first a GROUP BY over
    the actions alone, the second the workstreams' names."""
    grouped = session.execute(_RAG_COUNTS, {"plan_id": plan_id}).all()
    tally: dict[int, dict[str, int]] = {}
    for workstream_id, rag, n, closed, finished in grouped:
        counts = tally.setdefault(workstream_id, {})
        counts[count_field(rag)] = n - finished
        counts["complete"] = counts.get("complete", 0) + finished
        counts["closed"] = counts.get("closed", 0) + closed
        counts["total"] = counts.get("total", 0) + n
    names = session.execute(_WORKSTREAM_NAMES, {"plan_id": plan_id}).all()
    return [WorkstreamCounts(wid, name, **tally.get(wid, {})) for wid, name in names]


# Grouped by (workstream, rating) alone, the closed ones summed in the same pass: read in the
# order of ix_actions_plan_workstream_rag_sort, which covers it, with no sort (grouping by
# status too made SQLite sort every action of the plan, twice the time).
_RAG_COUNTS = (
    select(
        Action.workstream_id,
        Action.rag,
        func.count(),
        func.sum(case((Action.status.in_(CLOSED), 1), else_=0)),
        func.sum(case((Action.status.in_(FINISHED), 1), else_=0)),
    )
    .where(Action.plan_id == bindparam("plan_id"))
    .group_by(Action.workstream_id, Action.rag)
)
_WORKSTREAM_NAMES = (
    select(Workstream.id, Workstream.name)
    .where(Workstream.plan_id == bindparam("plan_id"))
    .order_by(Workstream.position)
)


def flagged_refs(
    session: Session, plan_id: int, counts: list[WorkstreamCounts], per_group: int
) -> list[tuple[int, str, str]]:
    """(workstream id, rag, ref) for the first `per_group` red and the first `per_group` amber
    actions of each workstream, in ref order. One statement: a LIMIT per workstream and rating,
    each read in order from ix_actions_plan_workstream_rag_sort, so a plan with thousands of
    flagged actions reads no more rows than one with forty. The totals are in `counts`."""
    groups = [
        (c.workstream_id, rag) for c in counts for rag in ("red", "amber") if getattr(c, rag) > 0
    ]
    if not groups:
        return []
    params: dict[str, object] = {"plan_id": plan_id, "per_group": per_group}
    for i, (workstream_id, rag) in enumerate(groups):
        params[f"w{i}"], params[f"r{i}"] = workstream_id, rag
    rows = session.execute(_flagged_statement(len(groups)), params).all()
    return [(w, str(r), ref) for w, r, ref in rows]


@functools.cache
def _flagged_statement(n_groups: int) -> Select[int, str | None, str]:
    """Built once per number of groups: building sixteen subqueries costs more than running
    them."""
    firsts = [
        select(Action.workstream_id, Action.rag, Action.ref, Action.sort_key)
        .where(
            Action.plan_id == bindparam("plan_id"),
            Action.workstream_id == bindparam(f"w{i}"),
            Action.rag == bindparam(f"r{i}"),
            Action.status.not_in(FINISHED),
        )
        .order_by(Action.sort_key)
        .limit(bindparam("per_group", type_=Integer))
        .subquery()
        for i in range(n_groups)
    ]
    flagged = union_all(*(select(*first.c) for first in firsts)).subquery()
    return select(flagged.c.workstream_id, flagged.c.rag, flagged.c.ref).order_by(
        flagged.c.workstream_id, flagged.c.rag, flagged.c.sort_key
    )


def _open_followup(plan_id: int | BindParameter[int]) -> list[ColumnElement[bool]]:
    return [FollowUp.plan_id == plan_id, FollowUp.closed_at.is_(None)]


@dataclass(frozen=True)
class OpenFollowUp:
    """An open follow-up as a digest lists it, and no more of it."""

    id: int
    about: str  # its action's ref, or its workstream's name, or "the plan"
    raised_at: datetime
    question: str
    answered: bool


def open_followups(
    session: Session, plan_id: int, limit: int | None = None
) -> tuple[list[OpenFollowUp], int]:
    """The plan's open follow-ups, oldest first (at most `limit`), as plain rows, and how many
    are open: two statements."""
    params = {"plan_id": plan_id, "limit": limit}
    found = [
        OpenFollowUp(id_, ref or name or "the plan", raised_at, question, answered)
        for id_, ref, name, raised_at, question, answered in session.execute(
            _open_followups(limit is not None), params
        )
    ]
    return found, count_open_followups(session, plan_id)


@functools.cache
def _open_followups(limited: bool) -> Select[int, str | None, str | None, datetime, str, bool]:
    answered = exists().where(Answer.followup_id == FollowUp.id).label("answered")
    stmt = (
        select(
            FollowUp.id,
            Action.ref,
            Workstream.name,
            FollowUp.raised_at,
            FollowUp.question,
            answered,
        )
        .outerjoin(Action, Action.id == FollowUp.action_id)
        .outerjoin(Workstream, Workstream.id == FollowUp.workstream_id)
        .where(*_open_followup(bindparam("plan_id")))
        .order_by(FollowUp.raised_at, FollowUp.id)
    )
    return stmt.limit(_LIMIT) if limited else stmt


def count_open_followups(session: Session, plan_id: int, workstream_id: int | None = None) -> int:
    """Open follow-ups of the plan, or of one workstream: raised about it or about one of its
    actions."""
    params = {"plan_id": plan_id, "workstream_id": workstream_id}
    return session.scalar(_count_open_followups(workstream_id is not None), params) or 0


@functools.cache
def _count_open_followups(of_workstream: bool) -> Select[int]:
    where = _open_followup(bindparam("plan_id"))
    if of_workstream:
        workstream_id: BindParameter[int] = bindparam("workstream_id")
        of_actions = select(Action.id).where(Action.workstream_id == workstream_id)
        where.append((FollowUp.workstream_id == workstream_id) | FollowUp.action_id.in_(of_actions))
    return select(func.count()).select_from(FollowUp).where(*where)


def next_board(session: Session, plan_id: int, now: datetime) -> BoardMeeting | None:
    return session.scalars(_NEXT_BOARD, {"plan_id": plan_id, "now": now}).first()


_NEXT_BOARD = (
    select(BoardMeeting)
    .where(
        BoardMeeting.plan_id == bindparam("plan_id"),
        BoardMeeting.removed_at.is_(None),
        BoardMeeting.starts_at > bindparam("now"),
    )
    .order_by(BoardMeeting.starts_at)
    .limit(1)
)


def stale_leads(session: Session, plan_id: int, stale_before: datetime) -> Sequence[Person]:
    """The leads with open actions that have had no update since `stale_before`, by name: one
    statement, no actions loaded (the reminder itself lists them when it is sent)."""
    params = _bound(plan_id, Filter(stale_before=stale_before))
    stale = select(action_leads.c.person_id).join(Action, Action.id == action_leads.c.action_id)
    return (
        session.scalars(
            select(Person)
            .where(Person.id.in_(stale.where(*_where(frozenset(params)))))
            .order_by(Person.name, Person.id),
            params,
        )
        .unique()
        .all()
    )


def refs(session: Session, plan_id: int, f: Filter, limit: int) -> tuple[list[str], int]:
    """Just the refs of matching actions (no leads loaded), at most `limit`, and the total:
    one statement, the total a window count over the same scan."""
    params = _bound(plan_id, f)
    rows = session.execute(_refs_statement(frozenset(params)), {**params, "limit": limit}).all()
    return [ref for ref, _ in rows], rows[0][1] if rows else 0


@functools.cache
def _refs_statement(shape: Shape) -> Select[str, int]:
    total = func.count().over().label("total")
    return select(Action.ref, total).where(*_where(shape)).order_by(Action.sort_key).limit(_LIMIT)
