"""Actions: finding them, and the rules for changing them. Every change is an Update row."""

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
    clean_note,
    nearest,
    normalise_ref,
)
from bot.services.context import Ctx
from bot.services.people import person_for_user, resolve_leads
from bot.store.models import Action, Update


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


def is_lead(action: Action, user_id: str) -> bool:
    return any(p.slack_user_id == user_id for p in action.leads)


def can_update(ctx: Ctx, action: Action) -> bool:
    return ctx.is_admin or is_lead(action, ctx.caller.user_id)


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
    action = find_action(ctx.session, plan.id, ref)
    require_can_update(ctx, action)
    if change.status is Status.SIGNED_OFF:
        raise Forbidden(
            "Signing off is for programme managers: "
            f"`signoff {action.ref} NOTE`. Use status `complete` when the work is done."
        )
    note = clean_note(change.note)
    return _apply(ctx, action, change.rag, change.status, note, kind="update")


def sign_off(ctx: Ctx, ref: str, note: str) -> Update:
    ctx.require_admin("sign off an action")
    plan = ctx.plan
    action = find_action(ctx.session, plan.id, ref)
    if action.status == Status.SIGNED_OFF:
        raise Invalid(f"{action.ref} is already signed off.")
    return _apply(ctx, action, Rag.GREEN, Status.SIGNED_OFF, clean_note(note), kind="signoff")


def assign(ctx: Ctx, ref: str, leads: Sequence[str]) -> Update:
    ctx.require_admin("set an action's leads")
    if not leads:
        raise Invalid("Name at least one lead: `assign 11F @sam @priya`.")
    plan = ctx.plan
    action = find_action(ctx.session, plan.id, ref)
    people = resolve_leads(ctx.session, leads)
    before = ", ".join(p.label for p in action.leads) or "none"
    action.leads = people
    note = f"Leads: {', '.join(p.label for p in people)} (were: {before})"
    return _apply(ctx, action, None, None, note, kind="assign")


def _apply(
    ctx: Ctx, action: Action, rag: Rag | None, status: Status | None, note: str, kind: str
) -> Update:
    """Write the update row and the action's current state in the same transaction."""
    person = person_for_user(ctx.session, ctx.caller.user_id, ctx.caller.name)
    update = Update(
        action_id=action.id,
        at=ctx.now,
        by=ctx.caller.user_id,
        person_id=person.id,
        source=ctx.caller.source,
        kind=kind,
        rag_from=action.rag,
        rag_to=rag.value if rag else action.rag,
        status_from=action.status,
        status_to=status.value if status else action.status,
        note=note,
    )
    ctx.session.add(update)
    action.rag = update.rag_to
    action.status = update.status_to or action.status
    # Leads, priorities and the board's escalation are not progress: they leave the latest note
    # and staleness as they were.
    if kind not in ("assign", "map", "escalation"):
        action.last_update_at = ctx.now
        action.last_note = note
    ctx.session.flush()
    return update


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
