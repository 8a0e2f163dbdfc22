"""Removing an update's note that should never have been stored (a child's details pasted by
mistake, before the bot refused them, or in wording the check does not catch).

History is append-only, with this one exception: the note's text is set to nothing, and a new
`redaction` row on the same action records who removed it, when, and which update (`changes`
names it as `{"field": "redacted", "new": "123"}`). The original text is gone from the database,
including the action's `last_note` when it was the latest; nothing else of the row changes, so
RAG and status moves still read as they were.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from bot.domain import Invalid, NotFound, UpdateKind
from bot.services import history as history_writer
from bot.services.actions import author_of
from bot.services.context import Ctx
from bot.store.models import Action, Update

REDACTED = "redacted"


def parse_update_id(text: str) -> int:
    """`123` or `#123`."""
    word = text.strip().lstrip("#")
    if not word.isdigit() or len(word) > 12:
        raise Invalid(
            f"“{text.strip()[:20]}” is not an update number. `history REF` shows each update's "
            "number (#123); then `redact 123`."
        )
    return int(word)


def redact(ctx: Ctx, update_id: int) -> tuple[Action, Update]:
    """Removes update `update_id`'s note; returns its action and the redaction row."""
    ctx.require_admin("redact an update")
    target = ctx.session.get(Update, update_id)
    if target is None or target.plan_id != ctx.plan.id:
        raise NotFound(f"No update #{update_id} in this plan. `history REF` shows their numbers.")
    if target.kind is UpdateKind.REDACTION:
        raise Invalid(f"#{update_id} is itself a redaction; it holds no note.")
    if target.note is None:
        raise Invalid(f"Update #{update_id} has no note to redact; nothing was changed.")
    action = history_writer.lock(ctx.session, ctx.session.get_one(Action, target.action_id))
    if action.last_note is not None and action.last_note == target.note:
        latest = ctx.session.scalar(
            select(Update.id)
            .where(Update.action_id == action.id, Update.kind.in_(_PROGRESS))
            .order_by(Update.at.desc(), Update.id.desc())
            .limit(1)
        )
        if latest == target.id:
            action.last_note = None
    target.note = None
    row = history_writer.write(
        ctx.session,
        action,
        UpdateKind.REDACTION,
        history_writer.ActionChange(),
        note=None,
        author=author_of(ctx),
        at=ctx.moment(),
    )
    row.changes = [{"field": REDACTED, "old": None, "new": str(target.id)}]
    ctx.session.flush()
    return action, row


def redacted_by(updates: Iterable[Update]) -> dict[int, Update]:
    """For an action's rows, the redaction row behind each redacted update, by its id."""
    found: dict[int, Update] = {}
    for row in updates:
        if row.kind is UpdateKind.REDACTION:
            for change in row.changes or []:
                target = change.get("new")
                if change.get("field") == REDACTED and target and target.isdigit():
                    found[int(target)] = row
    return found


_PROGRESS = [kind for kind in UpdateKind if kind.is_progress]
