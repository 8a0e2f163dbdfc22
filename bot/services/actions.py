"""Actions: finding them, and the rules for changing them. Every change goes through the
history writer (bot/services/history.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import (
    MAX_NOTE_CHARS,
    Forbidden,
    Invalid,
    NotFound,
    Rag,
    Status,
    UpdateKind,
    UserError,
    clean_note,
    is_overdue,
    moment_text,
    nearest,
    normalise_ref,
    ref_sort_key,
)
from bot.plans.dates import parse_due  # the tracker reader's wordings: one rule for both
from bot.presenters import actor_label
from bot.services import history as history_writer
from bot.services.context import Ctx
from bot.services.history import ActionChange, Author
from bot.services.people import resolve_leads
from bot.services.plans import require_workstream
from bot.store.models import Action, Person, Update

# How long the author of an update may take it back with `undo` (or the reply's Undo button).
UNDO_WINDOW = timedelta(minutes=15)


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
    """A lead's (or an admin's) progress update: RAG and status optional, a note always.

    Everything that can be read or refused is done before the action's lock is taken (on
    SQLite, the one write lock of the whole database), so the lock is held only to re-read
    the action, write the row and commit."""
    action = find_action(ctx.session, ctx.plan.id, ref)
    require_can_update(ctx, action)
    if change.status is Status.SIGNED_OFF:
        raise Forbidden(
            "Signing off is for programme managers: "
            f"`signoff {action.ref} NOTE`. Use status `complete` when the work is done."
        )
    note = clean_note(change.note)
    author = author_of(ctx)
    action = history_writer.lock(ctx.session, action)
    require_can_update(ctx, action)  # its leads may have changed while we read
    return history_writer.write(
        ctx.session,
        action,
        UpdateKind.UPDATE,
        ActionChange(rag=change.rag, status=change.status),
        note=note,
        author=author,
        at=ctx.moment(),
    )


class SignOffNeedsConfirming(UserError):
    """A sign-off a board would question (the action is red, not started or overdue): said,
    with the reasons, and done only when confirmed."""

    def __init__(self, ref: str, reasons: list[str]) -> None:
        super().__init__(
            f"{ref} is {' and '.join(reasons)}: are you sure it is signed off? Nothing was "
            f"signed off yet. Confirm with the button, or `signoff {ref} confirm NOTE`."
        )
        self.ref = ref
        self.reasons = reasons


# what `undo` takes back: a progress update, and a sign-off made by mistake
UNDOABLE = (UpdateKind.UPDATE, UpdateKind.SIGNOFF)


def sign_off_doubts(ctx: Ctx, action: Action) -> list[str]:
    """Why signing `action` off would surprise a board: red, not started, overdue."""
    doubts = []
    if action.rag == Rag.RED:
        doubts.append("rated red")
    if action.status == Status.NOT_STARTED:
        doubts.append("not started")
    if is_overdue(action.due, action.status, ctx.today):
        doubts.append(f"overdue (due {action.due.isoformat()})")
    return doubts


def sign_off(ctx: Ctx, ref: str, note: str, *, confirmed: bool = False) -> Update:
    """Objective met, signed off: an admin's. An action that is red, not started or overdue
    is signed off only when `confirmed`."""
    ctx.require_admin("sign off an action")
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    if action.status == Status.SIGNED_OFF:
        raise Invalid(f"{action.ref} is already signed off.")
    note = clean_note(note)
    doubts = sign_off_doubts(ctx, action)
    if doubts and not confirmed:
        raise SignOffNeedsConfirming(action.ref, doubts)
    change = ActionChange(rag=Rag.GREEN, status=Status.SIGNED_OFF)
    return write_change(ctx, action, UpdateKind.SIGNOFF, change, note)


def assign(ctx: Ctx, ref: str, leads: Sequence[str], *, known: bool = True) -> Update:
    """Sets the leads. `known`: only people who can be found (what someone types); a caller
    that names leads as a plan file does passes False (see people.resolve_known_lead)."""
    ctx.require_admin("set an action's leads")
    if not leads:
        raise Invalid("Name at least one lead: `assign 11F @sam @priya`.")
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    people = resolve_leads(ctx.session, leads, ctx.plan.id, known=known)
    before = ", ".join(p.label for p in action.leads) or "none"
    note = f"Leads: {', '.join(p.label for p in people)} (were: {before})"
    return write_change(ctx, action, UpdateKind.ASSIGN, ActionChange(leads=people), note)


def author_of(ctx: Ctx) -> Author:
    return Author(source=ctx.caller.source, person_id=ctx.actor_id)


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


def undoable_update(ctx: Ctx, ref: str | None, update_id: int | None) -> Update:
    """The update `undo` means: the one the button names, else the caller's newest progress
    update in this plan (to `ref` when given) within the undo window."""
    plan = ctx.plan
    if update_id is not None:
        found = ctx.session.get(Update, update_id)
        if found is None or found.plan_id != plan.id:
            raise NotFound("That update is not in this plan. Nothing was undone.")
        return found
    person = ctx.known_person  # someone the bot does not know has made no update
    stmt = select(Update).where(
        Update.plan_id == plan.id,
        Update.person_id == (person.id if person else -1),
        Update.kind.in_(UNDOABLE),
        Update.at >= ctx.moment() - UNDO_WINDOW,
    )
    if ref is not None:
        stmt = stmt.where(Update.action_id == find_action(ctx.session, plan.id, ref).id)
    found = ctx.session.scalars(stmt.order_by(Update.at.desc(), Update.id.desc()).limit(1)).first()
    if found is None:
        about = f" to {normalise_ref(ref)}" if ref else ""
        raise NotFound(
            f"You have made no update{about} in the last {_minutes(UNDO_WINDOW)} to undo. "
            "Nothing was undone."
        )
    return found


def undo(ctx: Ctx, target: Update) -> Update:
    """Take back a progress update: its author, within the window, while it is still the
    action's latest change. The RAG and status before it are restored through the history
    writer, as an `undo` row (so the trail keeps both the update and its undoing)."""
    action = history_writer.lock(ctx.session, ctx.session.get_one(Action, target.action_id))
    if target.kind not in UNDOABLE:
        raise Invalid(
            f"Only a progress update or a sign-off can be undone; this was a {target.kind}."
        )
    person = ctx.known_person
    if target.person_id is None or person is None or target.person_id != person.id:
        raise Forbidden("Only the person who made an update can undo it. Nothing was undone.")
    age = ctx.moment() - target.at
    if age > UNDO_WINDOW:
        raise Invalid(
            f"That update to {action.ref} was made over {_minutes(UNDO_WINDOW)} ago, so it "
            f"can no longer be undone. Make a new update instead: `update {action.ref} …`."
        )
    later = ctx.session.scalars(
        select(Update)
        .where(
            Update.action_id == action.id,
            (Update.at > target.at) | ((Update.at == target.at) & (Update.id > target.id)),
        )
        .order_by(Update.at, Update.id)
        .limit(1)
    ).first()
    if later is not None:
        who = "you" if later.person_id == person.id else _who(ctx.session, later)
        what = "undone it" if later.kind == UpdateKind.UNDO else f"changed {action.ref}"
        raise Invalid(
            f"{who.capitalize() if who == 'you' else who} {'have' if who == 'you' else 'has'} "
            f"{what} since, so that update can no longer be undone. Nothing was undone."
        )
    change = ActionChange(
        rag=Rag(target.rag_from) if target.rag_from else None,
        unrate=target.rag_from is None and target.rag_to is not None,
        status=Status(target.status_from) if target.status_from else None,
    )
    made = moment_text(target.at.astimezone(ctx.settings.tz))
    note = f"Undid the update of {made}: {target.note or ''}".strip()
    row = write_change(ctx, action, UpdateKind.UNDO, change, note[:MAX_NOTE_CHARS])
    _restore_latest_note(ctx.session, action, target)
    return row


def _restore_latest_note(session: Session, action: Action, undone: Update) -> None:
    """The action's latest note and last update are derived from its progress rows: with the
    undone one taken back, they are the newest progress row's before it (or none)."""
    before = session.scalars(
        select(Update)
        .where(
            Update.action_id == action.id,
            Update.kind.in_([k for k in UpdateKind if k.is_progress]),
            Update.id < undone.id,
        )
        .order_by(Update.at.desc(), Update.id.desc())
        .limit(1)
    ).first()
    action.last_note = before.note if before else None
    action.last_update_at = before.at if before else None
    session.flush()


def _who(session: Session, update: Update) -> str:
    person = session.get(Person, update.person_id) if update.person_id else None
    return actor_label(person, update.source)


def _minutes(window: timedelta) -> str:
    return f"{int(window.total_seconds() // 60)} minutes"


EDITABLE = ("due", "title", "measure", "workstream")
# What a chat edit may hold: the tracker reader's limits, so an edit exports and imports back.
MAX_TITLE_CHARS = 500
MAX_MEASURE_CHARS = 2000
MAX_DUE_TEXT_CHARS = 100
CLEAR_WORDS = frozenset({"none", "-", "clear"})


def edit(ctx: Ctx, ref: str, field: str, value: str, reason: str | None = None) -> Update:
    """An admin's edit of one field, through the history writer: old and new are kept, so a
    due date that slipped shows both, with the reason (required for a due date: the board is
    asked to approve it). The same value again changes nothing and says so."""
    ctx.require_admin("edit an action")
    plan = ctx.plan
    action = history_writer.lock(ctx.session, find_action(ctx.session, plan.id, ref))
    change = _edit_change(ctx, field, value)
    reason = " ".join((reason or "").split()) or None
    if field == "due" and reason is None:
        raise Invalid(
            f"Say why {action.ref}'s due date moves, for the board to approve: "
            f"`edit {action.ref} due {' '.join(value.split())[:40]} because the pilot moved to "
            "the summer term`. Nothing was changed."
        )
    if reason is not None:
        reason = clean_note(_within(reason, MAX_NOTE_CHARS, "reason"), "reason")
    written = history_writer.write_if_changed(
        ctx.session,
        action,
        UpdateKind.EDIT,
        change,
        note=reason,
        author=author_of(ctx),
        at=ctx.moment(),
    )
    if written is None:
        raise Invalid(f"{action.ref}'s {field} is already that. Nothing was changed.")
    return written


def _edit_change(ctx: Ctx, field: str, value: str) -> ActionChange:
    text = " ".join(value.split())
    if field not in EDITABLE:
        raise Invalid(
            f"“{field[:30]}” cannot be edited. Edit one of: {', '.join(EDITABLE)} "
            "(`edit 11F due March 2027`)."
        )
    if not text:
        raise Invalid(f"Give the new {field}: `edit 11F {field} …`.")
    if field == "title":
        return ActionChange(title=clean_note(_within(text, MAX_TITLE_CHARS, "title"), "title"))
    if field == "measure":
        if text.lower() in CLEAR_WORDS:
            return ActionChange(measure="")
        return ActionChange(measure=clean_note(_within(value.strip(), MAX_MEASURE_CHARS, field)))
    if field == "workstream":
        return ActionChange(workstream=require_workstream(ctx.session, ctx.plan, text))
    due, wording = parse_due(text, today=ctx.today)
    if wording is not None and len(wording) > MAX_DUE_TEXT_CHARS:
        raise Invalid(f"That due date is over {MAX_DUE_TEXT_CHARS} characters.")
    return ActionChange(due=(due, wording))


def _within(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise Invalid(f"The {what} is {len(text):,} characters; the limit is {limit:,}.")
    return text


def add(ctx: Ctx, ref: str, workstream_words: str, title: str) -> Action:
    """A new action, created through the history writer (a `created` row with its fields)."""
    ctx.require_admin("add an action")
    plan = ctx.plan
    clean_ref = normalise_ref(ref)
    taken = ctx.session.scalars(
        select(Action).where(Action.plan_id == plan.id, Action.ref == clean_ref)
    ).first()
    if taken is not None:
        raise Invalid(
            f"{clean_ref} already exists ({taken.title[:60]}). Nothing was added; "
            f"`edit {clean_ref} title …` changes its title."
        )
    workstream = require_workstream(ctx.session, plan, workstream_words)
    title = clean_note(_within(" ".join(title.split()), MAX_TITLE_CHARS, "title"), "title")
    action = Action(
        plan_id=plan.id,
        workstream_id=workstream.id,
        ref=clean_ref,
        sort_key=ref_sort_key(clean_ref),
        title=title,
        status=Status.NOT_STARTED,
        created_at=ctx.moment(),
    )
    ctx.session.add(action)
    ctx.session.flush()
    change = ActionChange(status=Status.NOT_STARTED, title=title, workstream=workstream)
    write_change(ctx, action, UpdateKind.CREATED, change, "Added from chat")
    return action


def page_of_actions(
    session: Session, plan_id: int, *, offset: int, limit: int
) -> tuple[list[Action], int]:
    """Actions in ref order, `limit` from `offset`, and how many the plan has: a listing that
    stays quick at any size."""
    total = session.scalar(
        select(func.count()).select_from(Action).where(Action.plan_id == plan_id)
    )
    found = session.scalars(
        select(Action)
        .where(Action.plan_id == plan_id)
        .order_by(Action.sort_key)
        .offset(offset)
        .limit(limit)
    )
    return list(found), int(total or 0)
