"""Follow-up questions raised by advisers at monitoring visits, and the partnership's answers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from bot.domain import Forbidden, Invalid, NotFound, clean_note, looks_like_ref
from bot.services import partners
from bot.services.actions import find_action
from bot.services.context import Ctx
from bot.services.plans import find_workstream, require_workstream
from bot.store.models import Action, Answer, FollowUp, action_leads

_ID = re.compile(r"^(?:FU)?-?(\d{1,9})$", re.IGNORECASE)


def label(followup: FollowUp) -> str:
    return f"FU-{followup.id}"


def answer_label(followup_id: int, number: int) -> str:
    """An answer is named by its follow-up and its place among that follow-up's answers, oldest
    first: FU-12/2 is FU-12's second answer."""
    return f"FU-{followup_id}/{number}"


def answer_number(ctx: Ctx, answer: Answer) -> int:
    """`answer`'s place among its follow-up's answers (1 for the first)."""
    return (
        ctx.session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(
                Answer.followup_id == answer.followup_id,
                or_(Answer.at < answer.at, and_(Answer.at == answer.at, Answer.id <= answer.id)),
            )
        )
        or 1
    )


def parse_id(text: str) -> int:
    match = _ID.match(text.strip())
    if not match:
        raise Invalid(f"“{text}” is not a follow-up id: they look like FU-12.")
    return int(match.group(1))


def about(followup: FollowUp) -> str:
    if followup.action is not None:
        return followup.action.ref
    return followup.workstream.name if followup.workstream else "the plan"


def add(ctx: Ctx, target: str, question: str) -> FollowUp:
    """`target` is an action ref or a workstream name."""
    if not partners.is_adviser(ctx):
        ctx.require_admin("log follow-up questions (or advisers on the plan's partner list)")
    plan = ctx.plan
    question = clean_note(question, "question")
    action: Action | None = None
    workstream = find_workstream(ctx.session, plan, target)
    if workstream is None:
        if looks_like_ref(target):
            action = find_action(ctx.session, plan.id, target)
        else:
            workstream = require_workstream(ctx.session, plan, target)
    followup = FollowUp(
        plan_id=plan.id,
        action_id=action.id if action else None,
        workstream_id=workstream.id if workstream else None,
        question=question,
        raised_at=ctx.now,
        raised_by_person_id=ctx.actor_id,
        source=ctx.caller.source,
    )
    ctx.session.add(followup)
    ctx.session.flush()
    return followup


def get(ctx: Ctx, text_id: str) -> FollowUp:
    plan = ctx.plan
    followup = ctx.session.get(FollowUp, parse_id(text_id))
    if followup is None or followup.plan_id != plan.id:
        raise NotFound(
            f"No follow-up {text_id.upper()}. `{ctx.prefix}followup list` shows the open ones."
        )
    return followup


def answerable_by(person_id: int) -> ColumnElement[bool]:
    """Follow-ups a lead may answer: on an action they lead, or on a workstream where they lead
    an action. The one statement of the rule, for checks and for lists alike."""
    led = select(action_leads.c.action_id).where(action_leads.c.person_id == person_id)
    their_workstreams = select(Action.workstream_id).where(Action.id.in_(led))
    return or_(FollowUp.action_id.in_(led), FollowUp.workstream_id.in_(their_workstreams))


def can_answer(ctx: Ctx, followup: FollowUp) -> bool:
    if ctx.is_admin:
        return True
    person = ctx.known_person
    if person is None:
        return False
    return bool(
        ctx.session.scalar(
            select(exists().where(FollowUp.id == followup.id, answerable_by(person.id)))
        )
    )


def require_answerable(ctx: Ctx, followup: FollowUp) -> None:
    if followup.closed_at is not None:
        raise Invalid(f"{label(followup)} is closed. Ask a programme manager to reopen it.")
    if not can_answer(ctx, followup):
        raise Forbidden(
            f"Only the leads for {about(followup)} or a programme manager can answer "
            f"{label(followup)}. Nothing was changed."
        )


def answer(ctx: Ctx, text_id: str, text: str) -> Answer:
    followup = get(ctx, text_id)
    require_answerable(ctx, followup)
    reply = Answer(
        followup_id=followup.id,
        at=ctx.now,
        person_id=ctx.actor_id,
        source=ctx.caller.source,
        text=clean_note(text, "answer"),
    )
    ctx.session.add(reply)
    ctx.session.flush()
    return reply


def close(ctx: Ctx, text_id: str) -> FollowUp:
    ctx.require_admin("close follow-up questions")
    followup = get(ctx, text_id)
    if followup.closed_at is not None:
        raise Invalid(f"{label(followup)} is already closed.")
    followup.closed_at = ctx.now
    followup.closed_by_person_id = ctx.actor_id
    return followup


def listing(ctx: Ctx, which: str) -> tuple[str, Sequence[FollowUp]]:
    """(what was listed, the follow-ups): `open` (default), `answered`, `all`, or a ref."""
    title, stmt = _listed(ctx, which)
    return title, ctx.session.scalars(stmt).all()


def page(ctx: Ctx, which: str, *, offset: int, limit: int) -> tuple[str, Sequence[FollowUp], int]:
    """One page of a listing, and how many the whole listing holds: a page that stays quick
    however many questions a plan has gathered."""
    title, stmt = _listed(ctx, which)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return title, ctx.session.scalars(stmt.offset(offset).limit(limit)).all(), int(total or 0)


def _listed(ctx: Ctx, which: str) -> tuple[str, Select[FollowUp]]:
    plan = ctx.plan
    stmt = select(FollowUp).where(FollowUp.plan_id == plan.id).order_by(FollowUp.id)
    word = which.strip().lower() or "open"
    if word == "open":
        stmt = stmt.where(FollowUp.closed_at.is_(None))
        title = "Open follow-ups"
    elif word == "answered":
        stmt = stmt.where(FollowUp.answers.any())
        title = "Answered follow-ups"
    elif word == "all":
        title = "All follow-ups"
    elif looks_like_ref(which):
        action = find_action(ctx.session, plan.id, which)
        stmt = stmt.where(FollowUp.action_id == action.id)
        title = f"Follow-ups on {action.ref}"
    else:
        workstream = require_workstream(ctx.session, plan, which)
        stmt = stmt.where(FollowUp.workstream_id == workstream.id)
        title = f"Follow-ups on {workstream.name}"
    return title, stmt


def for_action(ctx: Ctx, action: Action) -> Sequence[FollowUp]:
    return ctx.session.scalars(
        select(FollowUp)
        .where(FollowUp.action_id == action.id, FollowUp.closed_at.is_(None))
        .order_by(FollowUp.id)
    ).all()
