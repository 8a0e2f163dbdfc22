"""Strategic priorities: the partnership's few headline aims, and which actions serve each.

Advisers want the plan "mapped to the strategic priorities": each action maps to one or more,
so the board can see, per priority and per area of weakness, how many actions there are and how
they are rated. An action mapped to two priorities counts under both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.domain import COMPLETE, Invalid, NotFound, Rag, Rating, UpdateKind, clean_note, rating_of
from bot.services.actions import find_action, write_change
from bot.services.context import Ctx
from bot.services.history import ActionChange
from bot.store.models import Action, Priority, Update, Workstream, action_priorities
from bot.store.queries import CLOSED

MAX_NAME_CHARS = 300
# More than this and "priority" has stopped meaning anything; it also keeps the matrix readable.
MAX_PRIORITIES = 20


def name_key(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).lower()


def list_priorities(session: Session, plan_id: int) -> Sequence[Priority]:
    return session.scalars(
        select(Priority).where(Priority.plan_id == plan_id).order_by(Priority.position)
    ).all()


def valid_list(priorities: Sequence[Priority]) -> str:
    """`P1 Early identification, P2 …`: what a refusal offers instead."""
    return ", ".join(f"{p.key} {p.name}" for p in priorities)


def _create(session: Session, plan_id: int, name: str, now: datetime) -> Priority:
    name = re.sub(r"\s+", " ", clean_note(name, "priority name"))
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"A priority's name can be {MAX_NAME_CHARS} characters at most.")
    existing = list_priorities(session, plan_id)
    if any(p.name_key == name_key(name) for p in existing):
        raise Invalid(f"There is already a priority called “{name}”.")
    if len(existing) >= MAX_PRIORITIES:
        raise Invalid(f"A plan can have {MAX_PRIORITIES} strategic priorities at most.")
    position = max((p.position for p in existing), default=0) + 1
    taken = {p.key for p in existing}
    number = position
    while f"P{number}" in taken:
        number += 1
    priority = Priority(
        plan_id=plan_id,
        key=f"P{number}",
        name=name,
        name_key=name_key(name),
        position=position,
        created_at=now,
    )
    session.add(priority)
    session.flush()
    return priority


def add_priority(ctx: Ctx, name: str) -> Priority:
    ctx.require_admin("add strategic priorities")
    return _create(ctx.session, ctx.plan.id, name, ctx.now)


def match(priorities: Sequence[Priority], word: str) -> Priority | None:
    """By key (`P3`, `p3`), by number (`3`, its place in the list), or by name (any case)."""
    text = word.strip()
    key = text.upper()
    for p in priorities:
        if p.key == key:
            return p
    if text.isdigit() and 1 <= int(text) <= len(priorities):
        return priorities[int(text) - 1]
    wanted = name_key(text)
    return next((p for p in priorities if p.name_key == wanted), None)


def _unknown(word: str, priorities: Sequence[Priority]) -> NotFound:
    if not priorities:
        return NotFound(
            "This plan has no strategic priorities yet. A programme manager adds them: "
            "`priority add NAME`."
        )
    return NotFound(
        f"No priority “{word.strip()[:60]}”. The priorities are: {valid_list(priorities)}. "
        "Nothing was changed."
    )


_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


def split_words(text: str, priorities: Sequence[Priority]) -> list[str]:
    """What `map REF …` names: one whole name (commas and all), names in quotes, a list
    separated by commas or semicolons, or keys and numbers separated by spaces (`P1 P3`)."""
    text = text.strip()
    if not text:
        return []
    if match(priorities, text) is not None:
        return [text]
    quoted = [a or b for a, b in _QUOTED.findall(text)]
    rest = _QUOTED.sub(" ", text).strip()
    if "," in rest or ";" in rest:
        return quoted + [part.strip() for part in re.split(r"[,;]", rest) if part.strip()]
    if rest and match(priorities, rest) is not None:
        return [*quoted, rest]
    return quoted + rest.split()


def resolve(priorities: Sequence[Priority], words: Iterable[str]) -> list[Priority]:
    found: list[Priority] = []
    for word in words:
        p = match(priorities, word)
        if p is None:
            raise _unknown(word, priorities)
        if p not in found:
            found.append(p)
    # in the plan's order, whatever order they were typed in
    return sorted(found, key=lambda p: p.position)


def mapped(session: Session, action_ids: Iterable[int]) -> dict[int, list[Priority]]:
    """Each action's priorities, in priority order: one statement."""
    ids = list(action_ids)
    out: dict[int, list[Priority]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(action_priorities.c.action_id, Priority)
        .join(Priority, Priority.id == action_priorities.c.priority_id)
        .where(action_priorities.c.action_id.in_(ids))
        .order_by(Priority.position)
    ).all()
    for action_id, priority in rows:
        out[action_id].append(priority)
    return out


def _set_mapping(session: Session, action: Action, priorities: Sequence[Priority]) -> None:
    session.execute(delete(action_priorities).where(action_priorities.c.action_id == action.id))
    if priorities:
        session.execute(
            insert(action_priorities),
            [{"action_id": action.id, "priority_id": p.id} for p in priorities],
        )


def map_priorities(
    session: Session,
    plan_id: int,
    action: Action,
    names: Sequence[str],
    *,
    create: bool = True,
    now: datetime | None = None,
) -> list[Priority]:
    """Set `action`'s priorities to `names` (keys, numbers or names; an empty list clears them).
    For the tracker's "Strategic priority" column: with `create`, a name the plan does not have
    yet becomes a new priority; without it, an unknown name raises NotFound and changes nothing.
    Writes no history: the caller records the change (an import's edit, `map`'s update)."""
    priorities = list(list_priorities(session, plan_id))
    chosen: list[Priority] = []
    for word in names:
        if not word.strip():
            continue
        p = match(priorities, word)
        if p is None:
            if not create:
                raise _unknown(word, priorities)
            p = _create(session, plan_id, word, now or datetime.now(UTC))
            priorities.append(p)
        if p not in chosen:
            chosen.append(p)
    _set_mapping(session, action, chosen)
    return sorted(chosen, key=lambda p: p.position)


@dataclass(frozen=True)
class Mapping:
    action: Action
    before: list[Priority]
    after: list[Priority]
    update: Update | None


def map_action(ctx: Ctx, ref: str, text: str) -> Mapping:
    """`map REF PRIORITY…`: admins set which priorities an action serves; `map REF none` clears
    them. The change is an update row (kind "map") so it shows in the action's history."""
    ctx.require_admin("map actions to strategic priorities")
    action = find_action(ctx.session, ctx.plan.id, ref)
    priorities = list_priorities(ctx.session, ctx.plan.id)
    if not text.strip():
        raise Invalid(
            f"Map {action.ref} to which priorities? `map {action.ref} P1 P3` "
            f"(by key, number or name). The priorities are: {valid_list(priorities) or 'none yet'}."
        )
    after = (
        [] if text.strip().lower() == "none" else resolve(priorities, split_words(text, priorities))
    )
    before = mapped(ctx.session, [action.id])[action.id]
    if [p.id for p in before] == [p.id for p in after]:
        return Mapping(action, before, after, None)
    _set_mapping(ctx.session, action, after)

    def names(ps: Sequence[Priority]) -> str:
        return ", ".join(f"{p.key} {p.name}" for p in ps) or "none"

    note = f"Strategic priorities: {names(after)} (were: {names(before)})"
    update = write_change(ctx, action, UpdateKind.MAP, ActionChange(), note)
    return Mapping(action, before, after, update)


# --- the read models ---------------------------------------------------------------------------


@dataclass
class Tally:
    """Actions counted by rating (COMPLETE: finished; None: not rated) on either scale, and how
    many are closed."""

    ratings: Counter[Rating] = field(default_factory=Counter)
    closed: int = 0
    total: int = 0

    def of(self, rating: Rating) -> int:
        return self.ratings[rating]

    def add(self, rag: str | None, status: str, n: int) -> None:
        self.ratings[rating_of(rag, status)] += n
        if status in CLOSED:
            self.closed += n
        self.total += n

    def merge(self, other: Tally) -> None:
        self.ratings.update(other.ratings)
        self.closed += other.closed
        self.total += other.total

    def words(self) -> str:
        """`3 (1 red, 2 green)`: the ratings in words, so the meaning never rests on colour."""
        if not self.total:
            return "0"
        parts = [f"{self.of(rag)} {rag.value}" for rag in _WORST_FIRST if self.of(rag)]
        if self.of(COMPLETE):
            parts.append(f"{self.of(COMPLETE)} complete")
        if self.of(None):
            parts.append(f"{self.of(None)} not rated")
        return f"{self.total} ({', '.join(parts)})"

    @property
    def worst(self) -> str | None:
        """The cell's overall rating: its worst open action's; complete when all are finished."""
        worst = next((rag.value for rag in _WORST_FIRST if self.of(rag)), None)
        if worst is None and self.total and self.of(COMPLETE) == self.total:
            return COMPLETE
        return worst


_WORST_FIRST = Rag.scale(5)


@dataclass
class Matrix:
    """Workstreams × priorities. `cells[(workstream_id, priority_id)]`; priority None holds the
    actions not mapped to any priority."""

    workstreams: list[tuple[int, str]]
    priorities: list[Priority]
    cells: dict[tuple[int, int | None], Tally] = field(default_factory=dict)

    def cell(self, workstream_id: int, priority_id: int | None) -> Tally:
        return self.cells.get((workstream_id, priority_id), Tally())

    def by_priority(self) -> list[tuple[Priority | None, Tally]]:
        """Totals per priority (None last: not mapped)."""
        out: list[tuple[Priority | None, Tally]] = []
        for p in [*self.priorities, None]:
            total = Tally()
            for (_, pid), t in self.cells.items():
                if pid == (p.id if p else None):
                    total.merge(t)
            out.append((p, total))
        return out


def matrix(session: Session, plan_id: int) -> Matrix:
    """Three statements whatever the size of the plan: one GROUP BY over actions outer-joined
    to their priorities, the workstreams' names, the priorities."""
    grouped = session.execute(
        select(
            Action.workstream_id,
            action_priorities.c.priority_id,
            Action.rag,
            Action.status,
            func.count(),
        )
        .select_from(Action)
        .outerjoin(action_priorities, action_priorities.c.action_id == Action.id)
        .where(Action.plan_id == plan_id)
        .group_by(Action.workstream_id, action_priorities.c.priority_id, Action.rag, Action.status)
    ).all()
    workstreams = [
        (wid, name)
        for wid, name in session.execute(
            select(Workstream.id, Workstream.name)
            .where(Workstream.plan_id == plan_id)
            .order_by(Workstream.position)
        ).all()
    ]
    result = Matrix(workstreams=workstreams, priorities=list(list_priorities(session, plan_id)))
    for workstream_id, priority_id, rag, status, n in grouped:
        result.cells.setdefault((workstream_id, priority_id), Tally()).add(rag, status, n)
    return result
