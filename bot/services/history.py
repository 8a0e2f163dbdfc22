"""The one writer of an action's history.

Every change to an action (a typed update, a form, an import, a sign-off, new leads, an edit of
its due date, its creation) comes here. `write` takes the action's row lock, reads the current
values after the lock, and in the same transaction appends the `Update` row (kind, who, source,
when, every changed field's old and new value, note) and sets the action's current state. Two
updates at once are therefore ordered: the second sees the first's "to" as its "from".

Locking: PostgreSQL takes `SELECT … FOR UPDATE`. SQLite has no row locks; the Python driver
opens the transaction at the first write, so a no-op UPDATE of the row takes the database's
write lock (waiting out `busy_timeout`) before anything is read, and what is read after it is
the latest committed state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, SessionTransaction, lazyload

from bot.domain import Rag, Status, Surface, UpdateKind
from bot.store.db import lock_row
from bot.store.models import Action, Person, Update, Workstream


@dataclass(frozen=True)
class Author:
    """Who made a change (no one, for an import), and through what."""

    source: Surface
    person_id: int | None = None


@dataclass(frozen=True)
class ActionChange:
    """What to change; None leaves a field as it is. `measure=""` clears the measure; `due`
    is the date and the timescale as written (`(None, "Ongoing")`)."""

    rag: Rag | None = None
    status: Status | None = None
    title: str | None = None
    measure: str | None = None
    due: tuple[date | None, str | None] | None = None
    workstream: Workstream | None = None
    leads: Sequence[Person] | None = None
    # back to "not rated" (an undo of a first rating): `rag=None` means "leave as it is"
    unrate: bool = False


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"field": self.field, "old": self.old, "new": self.new}


def field_changes(update: Update) -> list[FieldChange]:
    """The fields an update changed, old and new, as recorded."""
    return [
        FieldChange(str(c.get("field")), c.get("old"), c.get("new")) for c in update.changes or []
    ]


def lock(session: Session, action: Action) -> Action:
    """The action's row, locked until the transaction ends, re-read after the lock (so a rule
    checked on it, and the "from" of the next update, see the latest committed state). Its
    leads are read again when next used. Locking it again in the same transaction returns it
    as it is: it cannot have changed since."""
    held: dict[int, SessionTransaction] = session.info.setdefault(_LOCKED, {})
    transaction = session.get_transaction()
    if transaction is not None and held.get(action.id) is transaction:
        return action
    # What this transaction changed but has not written (an import's memory of its file, say)
    # is written first: re-reading the row under the lock would otherwise discard it.
    session.flush()
    locked = lock_row(session, Action, action.id, lazyload(Action.leads))
    if transaction is not None:
        held[action.id] = transaction
    return locked


_LOCKED = "wsoa_locked_actions"
# ids of the actions made in this session's transactions (see `_write`)
_MADE_HERE = "wsoa_actions_made_here"


def write(
    session: Session,
    action: Action,
    kind: UpdateKind,
    change: ActionChange,
    *,
    note: str | None,
    author: Author,
    at: datetime,
    flush: bool = True,
) -> Update:
    """Append one history row for `change` and apply it to the action, under the row lock.

    `at` is when the change is made; the row is never dated before the action's newest row, so
    the trail reads in the order the changes were committed even across machines' clocks.
    `flush=False` leaves the row for the caller's next flush (an import writes thousands)."""
    row = _write(
        session, action, kind, change, note=note, author=author, at=at, always=True, flush=flush
    )
    assert row is not None
    return row


def write_if_changed(
    session: Session,
    action: Action,
    kind: UpdateKind,
    change: ActionChange,
    *,
    note: str | Callable[[list[FieldChange]], str] | None,
    author: Author,
    at: datetime,
) -> Update | None:
    """As `write`, but nothing is written when no field would change (a re-imported row that
    says what the action already says). `note` may be worded from the fields that changed."""
    return _write(session, action, kind, change, note=note, author=author, at=at, always=False)


def _write(
    session: Session,
    action: Action,
    kind: UpdateKind,
    change: ActionChange,
    *,
    note: str | Callable[[list[FieldChange]], str] | None,
    author: Author,
    at: datetime,
    always: bool,
    flush: bool = True,
) -> Update | None:
    created = kind is UpdateKind.CREATED
    made_here: dict[int, SessionTransaction] = session.info.setdefault(_MADE_HERE, {})
    transaction = session.get_transaction()
    if created:
        # An action made in this transaction is seen by no one else until it commits: it is
        # as good as locked, and a later row for it in the same transaction needs no lock.
        if transaction is not None:
            session.info.setdefault(_LOCKED, {})[action.id] = transaction
            made_here[action.id] = transaction
    else:
        action = lock(session, action)
        # an action made in this transaction has no row later than its first
        if transaction is None or made_here.get(action.id) is not transaction:
            newest = session.scalar(
                select(func.max(Update.at)).where(Update.action_id == action.id)
            )
            if newest is not None and newest > at:
                at = newest
    was_rag, was_status = (None, None) if created else (action.rag, action.status)
    changes = _apply(action, change, created=created)
    if not changes and not always:
        return None
    text = note(changes) if callable(note) else note
    row = Update(
        plan_id=action.plan_id,
        action_id=action.id,
        at=at,
        person_id=author.person_id,
        source=author.source,
        kind=kind,
        rag_from=was_rag,
        rag_to=action.rag,
        status_from=was_status,
        status_to=action.status,
        note=text,
        changes=[c.as_json() for c in changes],
        action=action,
    )
    session.add(row)
    if kind.is_progress:
        action.last_update_at = at
        action.last_note = text
    if flush:
        session.flush()
    return row


def _apply(action: Action, change: ActionChange, *, created: bool) -> list[FieldChange]:
    """Set each field the change names, and say which ones moved (for a new action, every
    field it was created with)."""
    out: list[FieldChange] = []

    def moved(field: str, old: str | None, new: str | None) -> bool:
        if created:
            old = None
        if old == new:
            return False
        out.append(FieldChange(field, None if old is None else str(old), new))
        return True

    if change.title is not None and moved("title", action.title, change.title):
        action.title = change.title
    if change.measure is not None:
        measure = change.measure or None
        if moved("measure", action.measure, measure):
            action.measure = measure
    if change.due is not None:
        due, due_text = change.due
        if moved("due", due_words(action.due, action.due_text), due_words(due, due_text)):
            action.due, action.due_text = due, due_text
    if change.workstream is not None:
        old_name = None if created else action.workstream.name
        if created or action.workstream_id != change.workstream.id:
            out.append(FieldChange("workstream", old_name, change.workstream.name))
            action.workstream_id = change.workstream.id
            action.workstream = change.workstream
    if change.leads is not None:
        before = [] if created else list(action.leads)
        if created or {p.id for p in before} != {p.id for p in change.leads}:
            out.append(
                FieldChange("leads", names(before) if not created else None, names(change.leads))
            )
            action.leads = list(change.leads)
    if change.rag is not None and moved("rag", action.rag, change.rag.value):
        action.rag = change.rag
    if change.unrate and moved("rag", action.rag, None):
        action.rag = None
    if change.status is not None and moved("status", action.status, change.status.value):
        action.status = change.status
    return out


def due_words(due: date | None, text: str | None) -> str | None:
    """A due date as history shows it: the date, with the timescale as written beside it."""
    if due is None:
        return text
    return f"{due.isoformat()} ({text})" if text and text != due.isoformat() else due.isoformat()


def names(people: Sequence[Person]) -> str | None:
    return ", ".join(p.label for p in people) or None
