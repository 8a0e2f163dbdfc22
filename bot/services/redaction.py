"""Removing an update's note that should never have been stored (a child's details pasted by
mistake, before the bot refused them, or in wording the check does not catch).

History is append-only, with this one exception: the note's text is set to nothing, and a new
`redaction` row on the same action records who removed it, when, and which update (`changes`
names it as `{"field": "redacted", "new": "123"}`). The original text is gone from the database,
including the action's `last_note` when it was the latest, the highlight report recorded with
the update (its progress, plans and barriers) and every kept board pack that shows any of them
in a row about the action ("[redacted]" there); nothing else of the row changes, so RAG and status
moves still read as they were. A reason, when given, is the redaction row's note.

A follow-up answer (`FU-12/2`: FU-12's second answer, oldest first) is redacted the same way:
its text is emptied, and an `AnswerRedaction` row records who, when and why; `wsoa audit` lists
it. Kept board packs that show the answer have it replaced by "[redacted]".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.boardpack import snapshots
from bot.domain import Invalid, NotFound, UpdateKind, clean_note
from bot.replies import plural
from bot.services import history as history_writer
from bot.services.actions import author_of
from bot.services.context import Ctx
from bot.services.followups import answer_label
from bot.store import chain
from bot.store.models import Action, Answer, AnswerRedaction, FollowUp, HighlightReport, Update

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


def parse_answer_id(text: str) -> tuple[int, int] | None:
    """`FU-12/2` (or `fu12/2`): the follow-up's number and the answer's; None for anything that
    does not start with FU (an update number)."""
    word = text.strip()
    if not word.upper().startswith("FU"):
        return None
    match = _ANSWER_ID.match(word)
    if not match:
        raise Invalid(
            f"“{word[:20]}” is not an answer's id: FU-12/2 is FU-12's second answer, and "
            "`followup list all` shows each one's."
        )
    return int(match.group(1)), int(match.group(2))


def _reason(text: str) -> str | None:
    """Why, as the admin gave it (optional); checked like every free text."""
    return clean_note(text, "reason") if text.strip() else None


def redact(ctx: Ctx, update_id: int, why: str = "") -> tuple[Action, Update, list[int]]:
    """Removes update `update_id`'s note; returns its action, the redaction row and the ids of
    the kept board packs it was taken out of."""
    ctx.require_admin("redact an update")
    reason = _reason(why)
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
    removed = [target.note]
    target.note = None
    # A highlight report keeps its progress (the note again), plans and barriers beside the
    # update it was recorded with: free text of the same report, so it goes too.
    report = ctx.session.scalar(
        select(HighlightReport).where(HighlightReport.update_id == target.id)
    )
    if report is not None:
        removed += [report.progress or "", report.planned or "", report.barriers or ""]
        report.progress = report.planned = report.barriers = None
    row = history_writer.write(
        ctx.session,
        action,
        UpdateKind.REDACTION,
        history_writer.ActionChange(),
        note=reason,
        author=author_of(ctx),
        at=ctx.moment(),
    )
    row.changes = [{"field": REDACTED, "old": None, "new": str(target.id)}]
    packs = snapshots.scrub_note(
        ctx.session, ctx.plan.id, action.ref, removed, author_of(ctx), row.at
    )
    # The chain keeps what the text committed to, not the salt that could check it again.
    chain.erase_salt(ctx.session, "updates", target.id)
    if report is not None:
        chain.erase_salt(ctx.session, "highlight_reports", report.id)
    return action, row, packs


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


def redact_answer(
    ctx: Ctx, followup_id: int, number: int, why: str = ""
) -> tuple[FollowUp, AnswerRedaction, list[int]]:
    """Empties answer `number` of follow-up `followup_id`; returns the follow-up, the redaction
    row and the ids of the kept board packs it was taken out of."""
    ctx.require_admin("redact an answer")
    reason = _reason(why)
    label = answer_label(followup_id, number)
    followup = ctx.session.get(FollowUp, followup_id)
    if followup is None or followup.plan_id != ctx.plan.id:
        raise NotFound(
            f"No follow-up FU-{followup_id} in this plan, so no answer {label}. "
            "`followup list all` shows each answer's id."
        )
    answers = ctx.session.scalars(
        select(Answer)
        .where(Answer.followup_id == followup_id)
        .order_by(Answer.at, Answer.id)
        .with_for_update()
    ).all()
    if not 1 <= number <= len(answers):
        raise NotFound(
            f"FU-{followup_id} has {plural(len(answers), 'answer')}, so no {label}. "
            "`followup list all` shows each answer's id."
        )
    target = answers[number - 1]
    if answer_redactions(ctx.session, [target.id]):
        raise Invalid(f"{label} is already redacted; nothing was changed.")
    removed, target.text = target.text, ""
    row = AnswerRedaction(
        plan_id=ctx.plan.id,
        answer_id=target.id,
        label=label,
        at=ctx.moment(),
        person_id=ctx.actor_id,
        source=ctx.caller.source,
        reason=reason,
    )
    ctx.session.add(row)
    packs = snapshots.scrub_answer(
        ctx.session, ctx.plan.id, f"FU-{followup_id}", removed, author_of(ctx), row.at
    )
    chain.erase_salt(ctx.session, "answers", target.id)
    return followup, row, packs


def answer_redactions(session: Session, answer_ids: Sequence[int]) -> dict[int, AnswerRedaction]:
    """The redaction of each of these answers that has one, by answer id."""
    if not answer_ids:
        return {}
    return {
        row.answer_id: row
        for row in session.scalars(
            select(AnswerRedaction).where(AnswerRedaction.answer_id.in_(answer_ids))
        )
    }


_ANSWER_ID = re.compile(r"^FU-?(\d{1,9})/(\d{1,4})$", re.IGNORECASE)
_PROGRESS = [kind for kind in UpdateKind if kind.is_progress]
