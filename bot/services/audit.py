"""The whole trail for an inspector: every change to every action of a plan, one row per changed
field, from the one history table. People by name and e-mail, never a platform's raw id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.history import field_changes
from bot.store.models import Action, Person, Plan, Update

AUDIT_COLUMNS = ("When", "Who", "Action", "Kind", "Field", "Old", "New", "Note", "Source")
# Rows read from the database at a time: a plan with 200,000 updates is streamed, not loaded.
BATCH = 2000
# Who made changes no person made.
NOBODY = {"import": "import", "system": "the bot"}


@dataclass(frozen=True)
class AuditRow:
    when: datetime  # in the partnership's timezone
    who: str
    action: str  # the ref
    kind: str
    field: str
    old: str
    new: str
    note: str
    source: str

    def cells(self) -> list[str | datetime]:
        return [
            self.when,
            self.who,
            self.action,
            self.kind,
            self.field,
            self.old,
            self.new,
            self.note,
            self.source,
        ]


def audit_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """Oldest first. A change of several fields gives a row for each (the note on each, so a
    filtered sheet still reads); a note alone gives one row with no field."""
    stmt = (
        select(Update, Action.ref, Person.id, Person.name, Person.email)
        .join(Action, Action.id == Update.action_id)
        .outerjoin(Person, Person.id == Update.person_id)
        .where(Action.plan_id == plan.id)
        .order_by(Update.at, Update.id)
        .execution_options(yield_per=BATCH)
    )
    for update, ref, person_id, name, email in session.execute(stmt):
        when = update.at.astimezone(tz)
        who = _who(update, person_id, name, email)
        changes = [(c.field, c.old, c.new) for c in field_changes(update)]
        if not update.changes:  # rows from before fields were recorded: the two columns
            if update.rag_from != update.rag_to:
                changes.append(("rag", update.rag_from, update.rag_to))
            if update.status_from != update.status_to:
                changes.append(("status", update.status_from, update.status_to))
        for field, old, new in changes or [("", None, None)]:
            yield AuditRow(
                when=when,
                who=who,
                action=ref,
                kind=str(update.kind),
                field=field,
                old=old or "",
                new=new or "",
                note=update.note or "",
                source=update.source,
            )


def _who(update: Update, person_id: int | None, name: str | None, email: str | None) -> str:
    if person_id is not None:
        if name and email:
            return f"{name} <{email}>"
        return name or email or f"person {person_id}"
    if update.source in NOBODY:
        return NOBODY[update.source]
    # A change recorded before people were kept: the platform's id is no name to an inspector.
    return f"unknown ({update.source})"
