"""What a submitted form means: which of its fields the person changed, and the change or
answer that follows. Adapters only translate their platform's form into a `FormSubmission`."""

from __future__ import annotations

from bot.domain import FieldError, Invalid, Rag, Status
from bot.replies import FormPurpose, FormSubmission
from bot.services import actions, followups
from bot.services.actions import Change
from bot.services.context import Ctx
from bot.store.models import Answer, Update

UPDATE = FormPurpose.UPDATE
ANSWER = FormPurpose.ANSWER
FIGURE = FormPurpose.FIGURE

__all__ = ["ANSWER", "FIGURE", "UPDATE", "FieldError", "changed", "save_answer", "save_update"]


def changed(submission: FormSubmission) -> dict[str, str]:
    """The fields the person changed: filled in, and not what the form was opened with."""
    return {
        field: value.strip()
        for field, value in submission.values.items()
        if value is not None and value.strip() and value != submission.initial.get(field)
    }


def save_update(ctx: Ctx, submission: FormSubmission) -> Update:
    """The update form: only what the person changed is a change (so a lead can add a note to
    a signed-off action, its status left as it was, without being refused for signing off)."""
    note = (submission.values.get("note") or "").strip()
    if not note:
        raise FieldError("note", "Add a note saying what changed, so the board can see why.")
    moved = changed(submission)
    try:
        change = Change(
            rag=Rag.parse(moved["rag"]) if "rag" in moved else None,
            status=Status.parse(moved["status"]) if "status" in moved else None,
            note=note,
        )
        return actions.record_update(ctx, submission.key, change)
    except FieldError:
        raise
    except Invalid as refusal:
        raise FieldError("note", str(refusal)) from refusal


def save_answer(ctx: Ctx, submission: FormSubmission) -> Answer:
    text = (submission.values.get("answer") or "").strip()
    if not text:
        raise FieldError("answer", "Write the answer first.")
    return followups.answer(ctx, submission.key, text)
