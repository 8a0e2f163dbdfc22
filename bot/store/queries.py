"""Read models: aggregate queries whose statement count does not grow with the plan."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, union_all
from sqlalchemy.orm import Session, defaultload, lazyload

from bot.domain import Rag, Status
from bot.store.models import (
    Action,
    BoardMeeting,
    FollowUp,
    Identity,
    Person,
    Workstream,
    action_leads,
    person_label,
)

CLOSED = tuple(s.value for s in Status if s.is_closed)


@dataclass(frozen=True)
class Filter:
    """Which actions: every field set narrows the list."""

    rag: str | None = None
    workstream_id: int | None = None
    lead_person_id: int | None = None
    overdue_on: date | None = None  # due before this day, still open
    due_between: tuple[date, date] | None = None  # still open, due in this range
    stale_before: datetime | None = None  # still open, no update since


def is_open() -> ColumnElement[bool]:
    return Action.status.not_in(CLOSED)


def _conditions(plan_id: int, f: Filter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Action.plan_id == plan_id]
    if f.rag:
        where.append(Action.rag == f.rag)
    if f.workstream_id is not None:
        where.append(Action.workstream_id == f.workstream_id)
    if f.lead_person_id is not None:
        where.append(
            Action.id.in_(
                select(action_leads.c.action_id).where(action_leads.c.person_id == f.lead_person_id)
            )
        )
    if f.overdue_on is not None:
        where += [Action.due < f.overdue_on, is_open()]
    if f.due_between is not None:
        where += [Action.due.between(*f.due_between), is_open()]
    if f.stale_before is not None:
        last = func.coalesce(Action.last_update_at, Action.created_at)
        where += [last < f.stale_before, is_open()]
    return where


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
    where = _conditions(plan_id, f)
    stmt: Select[Action] = select(Action).where(*where).order_by(Action.sort_key)
    if not leads:
        stmt = stmt.options(lazyload(Action.leads))
    if limit is None:
        rows = session.scalars(stmt).all()
        return rows, len(rows)
    rows = session.scalars(stmt.limit(limit)).all()
    if len(rows) < limit:
        return rows, len(rows)
    if total is None:
        total = session.scalar(select(func.count()).select_from(Action).where(*where)) or 0
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
    rows = session.execute(
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
        .where(action_leads.c.action_id.in_(found))
        .order_by(action_leads.c.action_id, Person.name, Person.id, Identity.id)
    ).all()
    for action_id, person_id, name, email, platform, external_id in rows:
        leads = found[action_id]
        if not leads or leads[-1].id != person_id:
            leads.append(Lead(person_id, person_label(person_id, name, email), {}))
        if platform is not None:
            leads[-1].handles.setdefault(platform, external_id)
    return found


@dataclass(frozen=True)
class WorkstreamCounts:
    workstream_id: int
    name: str
    red: int = 0
    amber: int = 0
    green: int = 0
    unrated: int = 0
    closed: int = 0
    total: int = 0
    # the five-point delivery-confidence scale's two in-between ratings
    red_amber: int = 0
    amber_green: int = 0

    def of(self, rag: Rag | None) -> int:
        """How many actions have this rating (None: not rated)."""
        return getattr(self, count_field(rag))


def count_field(rag: Rag | str | None) -> str:
    """The WorkstreamCounts field that counts a rating: `red/amber` → `red_amber`."""
    return str(rag).replace("/", "_") if rag else "unrated"


def rag_counts(session: Session, plan_id: int) -> list[WorkstreamCounts]:
    """RAG counts per workstream, in plan order: two statements, the first a GROUP BY over
    the actions alone (an index covers it), the second the workstreams' names."""
    grouped = session.execute(
        select(Action.workstream_id, Action.rag, Action.status, func.count())
        .where(Action.plan_id == plan_id)
        .group_by(Action.workstream_id, Action.rag, Action.status)
    ).all()
    tally: dict[int, dict[str, int]] = {}
    for workstream_id, rag, status, n in grouped:
        counts = tally.setdefault(workstream_id, {})
        key = count_field(rag)
        counts[key] = counts.get(key, 0) + n
        if status in CLOSED:
            counts["closed"] = counts.get("closed", 0) + n
        counts["total"] = counts.get("total", 0) + n
    names = session.execute(
        select(Workstream.id, Workstream.name)
        .where(Workstream.plan_id == plan_id)
        .order_by(Workstream.position)
    ).all()
    return [WorkstreamCounts(wid, name, **tally.get(wid, {})) for wid, name in names]


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


def _open_followup(plan_id: int) -> list[ColumnElement[bool]]:
    return [FollowUp.plan_id == plan_id, FollowUp.closed_at.is_(None)]


def open_followups(
    session: Session, plan_id: int, limit: int | None = None
) -> tuple[Sequence[FollowUp], int]:
    stmt = (
        select(FollowUp)
        .where(*_open_followup(plan_id))
        .order_by(FollowUp.raised_at, FollowUp.id)
        # what they are about is named by ref: the actions' leads are not needed
        .options(defaultload(FollowUp.action).lazyload(Action.leads))
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all(), count_open_followups(session, plan_id)


def count_open_followups(session: Session, plan_id: int, workstream_id: int | None = None) -> int:
    """Open follow-ups of the plan, or of one workstream: raised about it or about one of its
    actions."""
    where = _open_followup(plan_id)
    if workstream_id is not None:
        of_actions = select(Action.id).where(Action.workstream_id == workstream_id)
        where.append((FollowUp.workstream_id == workstream_id) | FollowUp.action_id.in_(of_actions))
    return session.scalar(select(func.count()).select_from(FollowUp).where(*where)) or 0


def next_board(session: Session, plan_id: int, now: datetime) -> BoardMeeting | None:
    return session.scalars(
        select(BoardMeeting)
        .where(
            BoardMeeting.plan_id == plan_id,
            BoardMeeting.removed_at.is_(None),
            BoardMeeting.starts_at > now,
        )
        .order_by(BoardMeeting.starts_at)
        .limit(1)
    ).first()


def stale_leads(session: Session, plan_id: int, stale_before: datetime) -> Sequence[Person]:
    """The leads with open actions that have had no update since `stale_before`, by name: one
    statement, no actions loaded (the reminder itself lists them when it is sent)."""
    where = _conditions(plan_id, Filter(stale_before=stale_before))
    stale = select(action_leads.c.person_id).join(Action, Action.id == action_leads.c.action_id)
    return (
        session.scalars(
            select(Person)
            .where(Person.id.in_(stale.where(*where)))
            .order_by(Person.name, Person.id)
        )
        .unique()
        .all()
    )


def refs(session: Session, plan_id: int, f: Filter, limit: int) -> tuple[list[str], int]:
    """Just the refs of matching actions (no leads loaded), at most `limit`, and the total:
    one statement, the total a window count over the same scan."""
    total = func.count().over().label("total")
    rows = session.execute(
        select(Action.ref, total)
        .where(*_conditions(plan_id, f))
        .order_by(Action.sort_key)
        .limit(limit)
    ).all()
    return [ref for ref, _ in rows], rows[0][1] if rows else 0
