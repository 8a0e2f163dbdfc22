"""The App Home: what a person needs to see when they open the bot, without typing anything.

Not a `/wsoa` verb: platforms show it on their own page (Slack's Home tab). It is a Reply like
any other, so its limits are the renderer's budget and a Teams adapter could show it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot.domain import day_text
from bot.presenters import action_line, rag_columns, shorten, when
from bot.replies import ActionList, Button, ButtonId, Buttons, Reply, bold, code, plain
from bot.services import followups as followup_service
from bot.services.context import Ctx
from bot.store import queries
from bot.store.models import Action, FollowUp, Person, action_leads

# Lines shown before pointing at `/wsoa mine`; the renderer may show fewer to fit the view.
ACTIONS_LIMIT = 60
FOLLOWUPS_LIMIT = 15
# Buttons for the actions most in need of an update, and for follow-ups awaiting an answer.
UPDATE_BUTTONS = 5
ANSWER_BUTTONS = 5


def home_reply(ctx: Ctx) -> Reply:
    """The caller's actions (RAG, due, last update), their open follow-ups, the next board."""
    plan = ctx.plan
    reply = Reply(summary=f"{plan.name}: your actions").heading(plan.name)
    person = ctx.known_person
    if ctx.is_admin:
        reply.para(
            bold("Across the plan: "),
            plain(_plan_totals(ctx, plan.id) + " "),
            code(f"{ctx.prefix}summary"),
        )

    buttons: list[Button] = []
    if person is None:
        reply.para(
            plain("You do not lead any actions yet. A programme manager can add you with "),
            code(f"{ctx.prefix}assign REF @you"),
            plain("."),
        )
    else:
        found, total = queries.find_actions(
            ctx.session, plan.id, queries.Filter(lead_person_id=person.id), limit=ACTIONS_LIMIT
        )
        lines = [action_line(a).model_copy(update={"note": _last_update(ctx, a)}) for a in found]
        reply.add(
            ActionList(
                title=f"Actions you lead ({total})",
                items=lines,
                more=max(total - len(lines), 0),
                more_hint=f"{ctx.prefix}mine",
                empty="None yet.",
            )
        )
        buttons += [
            Button(label=f"Update {a.ref}", action_id=ButtonId.UPDATE, value=a.ref)
            for a in _least_recently_updated(ctx, person, plan.id)
        ]
        followups, n_followups = _open_followups(ctx, person, plan.id)
        reply.para(bold(f"Open follow-ups on your actions ({n_followups})"))
        if not followups:
            reply.para(plain("None."))
        for f in followups:
            answers = len(f.answers)
            state = f"{answers} answer{'s' if answers > 1 else ''}" if answers else "no answer yet"
            reply.para(
                bold(f"{followup_service.label(f)} · {followup_service.about(f)}: "),
                plain(f"{shorten(f.question, 300)} ({state})"),
            )
        if n_followups > len(followups):
            reply.para(
                plain(f"…and {n_followups - len(followups)} more: "),
                code(f"{ctx.prefix}followup list"),
            )
        buttons += [
            Button(
                label=f"Answer {followup_service.label(f)}",
                action_id=ButtonId.ANSWER,
                value=followup_service.label(f),
            )
            for f in followups[:ANSWER_BUTTONS]
        ]

    board = queries.next_board(ctx.session, plan.id, ctx.now)
    reply.para(
        bold("Next board meeting: "),
        plain(f"{board.name}, {when(board.starts_at, ctx.settings.tz)}" if board else "none set"),
    )
    if buttons:
        reply.add(Buttons(buttons=buttons))
    reply.para(
        plain("Type "), code(f"{ctx.prefix}help"), plain(" in any channel for every command.")
    )
    return reply


def _last_update(ctx: Ctx, action: Action) -> str:
    if action.last_update_at is None:
        return "No update yet."
    stamp = day_text(action.last_update_at.astimezone(ctx.settings.tz).date())
    return f"Last update {stamp}: {action.last_note}" if action.last_note else f"Updated {stamp}."


def _plan_totals(ctx: Ctx, plan_id: int) -> str:
    counts = queries.rag_counts(ctx.session, plan_id)
    return (
        " · ".join(
            f"{sum(c.of(rag) for c in counts)} {label.lower()}"
            for label, rag in rag_columns(ctx.plan.rag_scale)
        )
        + "."
    )


def _least_recently_updated(ctx: Ctx, person: Person, plan_id: int) -> Sequence[Action]:
    """The caller's open actions that have waited longest for an update: one statement."""
    led = select(action_leads.c.action_id).where(action_leads.c.person_id == person.id)
    return ctx.session.scalars(
        select(Action)
        .where(Action.plan_id == plan_id, Action.id.in_(led), queries.is_open())
        .order_by(func.coalesce(Action.last_update_at, Action.created_at), Action.sort_key)
        .limit(UPDATE_BUTTONS)
    ).all()


def _open_followups(ctx: Ctx, person: Person, plan_id: int) -> tuple[Sequence[FollowUp], int]:
    """Open follow-ups the caller can answer as a lead: on an action they lead, or on a
    workstream where they lead an action (the rule `followups.can_answer` applies)."""
    where = [
        FollowUp.plan_id == plan_id,
        FollowUp.closed_at.is_(None),
        followup_service.answerable_by(person.id),
    ]
    found = ctx.session.scalars(
        select(FollowUp).where(*where).order_by(FollowUp.id).limit(FOLLOWUPS_LIMIT)
    ).all()
    if len(found) < FOLLOWUPS_LIMIT:
        return found, len(found)
    total = ctx.session.scalar(select(func.count()).select_from(FollowUp).where(*where)) or 0
    return found, total
