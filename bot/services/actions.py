"""Actions: finding them, and the rules for changing them. Every change goes through the
history writer (bot/services/history.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import (
    Forbidden,
    Invalid,
    NotFound,
    Rag,
    Status,
    UpdateKind,
    clean_note,
    nearest,
    normalise_ref,
)
from bot.services import history as history_writer
from bot.services.context import Ctx
from bot.services.history import ActionChange, Author
from bot.services.people import resolve_leads
from bot.store.models import Action, Person, Update


def find_action(session: Session, plan_id: int, text: str) -> Action:
    ref = normalise_ref(text)
    action = session.scalars(
        select(Action).where(Action.plan_id == plan_id, Action.ref == ref)
    ).first()
    if action is None:
        refs = list(session.scalars(select(Action.ref).where(Action.plan_id == plan_id)))
        close = nearest(ref, refs)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"No action {ref}.{hint}")
    return action


def is_lead(action: Action, person: Person | None) -> bool:
    return person is not None and any(p.id == person.id for p in action.leads)


def can_update(ctx: Ctx, action: Action) -> bool:
    return ctx.is_admin or is_lead(action, ctx.known_person)


@dataclass(frozen=True)
class Change:
    rag: Rag | None = None
    status: Status | None = None
    note: str = ""


def require_can_update(ctx: Ctx, action: Action) -> None:
    if not can_update(ctx, action):
        leads = ", ".join(p.label for p in action.leads) or "nobody yet"
        raise Forbidden(
            f"Only {action.ref}'s leads ({leads}) or a programme manager can update it. "
            "Nothing was changed."
        )


def record_update(ctx: Ctx, ref: str, change: Change) -> Update:
    """A lead's (or an admin's) progress update: RAG and status optional, a note always."""
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    require_can_update(ctx, action)
    if change.status is Status.SIGNED_OFF:
        raise Forbidden(
            "Signing off is for programme managers: "
            f"`signoff {action.ref} NOTE`. Use status `complete` when the work is done."
        )
    note = clean_note(change.note)
    return write_change(
        ctx, action, UpdateKind.UPDATE, ActionChange(rag=change.rag, status=change.status), note
    )


def sign_off(ctx: Ctx, ref: str, note: str) -> Update:
    ctx.require_admin("sign off an action")
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    if action.status == Status.SIGNED_OFF:
        raise Invalid(f"{action.ref} is already signed off.")
    change = ActionChange(rag=Rag.GREEN, status=Status.SIGNED_OFF)
    return write_change(ctx, action, UpdateKind.SIGNOFF, change, clean_note(note))


def assign(ctx: Ctx, ref: str, leads: Sequence[str], *, known: bool = True) -> Update:
    """Sets the leads. `known`: only people who can be found (what someone types); a caller
    that names leads as a plan file does passes False (see people.resolve_known_lead)."""
    ctx.require_admin("set an action's leads")
    if not leads:
        raise Invalid("Name at least one lead: `assign 11F @sam @priya`.")
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    people = resolve_leads(ctx.session, leads, known=known)
    before = ", ".join(p.label for p in action.leads) or "none"
    note = f"Leads: {', '.join(p.label for p in people)} (were: {before})"
    return write_change(ctx, action, UpdateKind.ASSIGN, ActionChange(leads=people), note)


def author_of(ctx: Ctx) -> Author:
    return Author(by=ctx.caller.user_id, source=ctx.caller.source, person_id=ctx.person.id)


def write_change(
    ctx: Ctx, action: Action, kind: UpdateKind, change: ActionChange, note: str
) -> Update:
    return history_writer.write(
        ctx.session, action, kind, change, note=note, author=author_of(ctx), at=ctx.moment()
    )


def history(session: Session, action: Action, limit: int | None = None) -> Sequence[Update]:
    """Newest first."""
    stmt = (
        select(Update)
        .where(Update.action_id == action.id)
        .order_by(Update.at.desc(), Update.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()
