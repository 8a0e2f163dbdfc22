"""`boardpack` and `escalate`: the board's paper, and the red actions it must hear about."""

from __future__ import annotations

from bot.boardpack import MEDIA_TYPE
from bot.boardpack.service import produce
from bot.commands.registry import command
from bot.domain import Invalid, day_text
from bot.presenters import actor_label, when
from bot.replies import Attachment, Reply, Table, bold, code, plain
from bot.services import escalations as escalation_service
from bot.services.context import Ctx
from bot.store.models import Person


@command(
    "boardpack",
    "boardpack [BOARD]",
    "the board's highlight report as a Word document (the next board, or a past one's kept pack)",
    ["boardpack", "boardpack B-3"],
    slow=True,
)
def boardpack(ctx: Ctx, args: str) -> Reply:
    pack = produce(ctx, args)
    board, kept = pack.board, pack.snapshot
    meeting = f"B-{board.id} {board.name}, {when(board.starts_at, ctx.settings.tz)}"
    reply = Reply(summary=f"Board pack for {board.name}")
    if pack.fresh and pack.figures is not None:
        figures = pack.figures
        red = sum(w.red for w in figures.workstreams)
        amber = sum(w.amber for w in figures.workstreams)
        reply.para(
            bold(f"Board pack for {meeting}. "),
            plain(
                f"{red} red, {amber} amber, {len(figures.for_escalation)} for escalation, "
                f"{len(figures.moves)} RAG moves since the previous board. "
            ),
        )
        reply.para(
            plain(f"Kept as pack #{kept.id} (SHA-256 {kept.sha256}): once the meeting starts, "),
            code(f"boardpack B-{board.id}"),
            plain(" gives back exactly this file."),
        )
    else:
        maker = ctx.session.get(Person, kept.created_by_person_id or 0)
        who = actor_label(maker, kept.source)
        reply.para(
            bold(f"The pack {meeting} was given. "),
            plain(
                f"Made {when(kept.created_at, ctx.settings.tz)} by {who}; "
                f"pack #{kept.id}, SHA-256 {kept.sha256}."
            ),
        )
    reply.files.append(
        Attachment(
            filename=kept.filename,
            media_type=MEDIA_TYPE,
            data=pack.content,
            title=f"Board pack: {board.name}",
        )
    )
    return reply


@command(
    "escalate",
    ["escalate", "escalate REF NOTE"],
    "the actions for escalation (red, or asked for by their lead); with a ref, records that "
    "the board considered it",
    ["escalate", "escalate 11F Board agreed extra EP capacity; review in 6 weeks"],
)
def escalate(ctx: Ctx, args: str) -> Reply:
    ref, _, note = args.strip().partition(" ")
    if not ref:
        return escalation_list(ctx)
    if not note.strip():
        raise Invalid(f"Say what the board decided: `escalate {ref} NOTE`.")
    update = escalation_service.escalate(ctx, ref, note)
    return Reply(summary=f"Escalation of {ref.upper()} recorded").para(
        bold(f"Recorded: the board considered {ref.upper()}. "),
        plain(f"`history {ref.upper()}` shows it (#{update.id})."),
    )


def escalation_list(ctx: Ctx) -> Reply:
    cycle, items = escalation_service.for_escalation(ctx.session, ctx.plan.id, ctx.now)
    since = (
        f"the previous board ({cycle.previous_board.name}, "
        f"{when(cycle.previous_board.starts_at, ctx.settings.tz)})"
        if cycle.previous_board
        else f"{day_text(cycle.previous.astimezone(ctx.settings.tz).date())} (42 days ago)"
    )
    reply = Reply(summary=f"For escalation: {len(items)}").heading(f"For escalation ({len(items)})")
    reply.para(
        plain(
            "Every red action not yet considered by a board (until the board's decision is "
            f"recorded: `{ctx.prefix}escalate REF NOTE`), one the board decided on that has "
            f"stayed red for two more cycles, and every action whose lead asks for escalation "
            f"in a highlight report since {since}."
        )
    )
    if not items:
        return reply.para(plain("None."))
    tz = ctx.settings.tz
    reply.add(
        Table(
            columns=["Ref", "Why", "Red since", "Board last considered"],
            rows=[
                [
                    i.action.ref,
                    i.reason,
                    day_text(i.red_since.astimezone(tz).date()) if i.red_since else "not red",
                    (
                        f"{day_text(i.considered.at.astimezone(tz).date())}: {i.considered.note}"
                        if i.considered
                        else "not yet"
                    ),
                ]
                for i in items
            ],
        )
    )
    return reply
