"""`priority`, `map` and `summary by priority`: the plan mapped to the strategic priorities."""

from __future__ import annotations

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import rag_columns
from bot.replies import Reply, Table, bold, code, plain
from bot.services import priorities as priority_service
from bot.services.context import Ctx

NOT_MAPPED = "Not mapped"


@command(
    "priority",
    ["priority list", "priority add NAME"],
    "the plan's strategic priorities (admins add them)",
    ["priority add Early identification of need"],
)
def priority(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    if sub == "add":
        added = priority_service.add_priority(ctx, rest)
        return Reply(summary=f"Added {added.key}").para(
            bold(f"Added {added.key}: {added.name}. "),
            plain("Map actions to it: "),
            code(f"map REF {added.key}"),
        )
    if sub in ("", "list"):
        return priority_list(ctx)
    raise Invalid("Use `priority list` or `priority add NAME`.")


def priority_list(ctx: Ctx) -> Reply:
    found = priority_service.matrix(ctx.session, ctx.plan.id)
    reply = Reply(summary="Strategic priorities").heading(f"{ctx.plan.name}: strategic priorities")
    if not found.priorities:
        return reply.para(
            plain("No strategic priorities yet. A programme manager adds them: "),
            code("priority add NAME"),
        )
    totals = dict((p.id if p else None, t) for p, t in found.by_priority())
    reply.add(
        Table(
            columns=["Key", "Priority", "Actions"],
            rows=[[p.key, p.name, totals[p.id].words()] for p in found.priorities],
        )
    )
    return reply.para(plain(f"{NOT_MAPPED} to any priority: {totals[None].words()}."))


@command(
    "map",
    "map REF PRIORITY…",
    "which strategic priorities an action serves (by key, number or name; `none` clears)",
    ["map 11F P1 P3", "map 2A.3 Early identification of need"],
    admin=True,
)
def map_(ctx: Ctx, args: str) -> Reply:
    ref, _, rest = args.strip().partition(" ")
    if not ref:
        raise Invalid("Map which action? `map 11F P1 P3`.")
    done = priority_service.map_action(ctx, ref, rest)
    names = ", ".join(f"{p.key} {p.name}" for p in done.after) or "no priority"
    if done.update is None:
        return Reply(summary="No change").para(
            plain(f"{done.action.ref} already maps to {names}. Nothing was changed.")
        )
    return Reply(summary=f"Mapped {done.action.ref}").para(
        bold(f"{done.action.ref} now maps to {names}."),
        plain(" `history " + done.action.ref + "` shows the change."),
    )


def summary_by_priority(ctx: Ctx) -> Reply:
    """RAG counts per priority, the actions mapped to none, and the workstream × priority matrix.
    Reached from `summary by priority` (see commands/reading.py)."""
    found = priority_service.matrix(ctx.session, ctx.plan.id)
    title = f"{ctx.plan.name}: summary by strategic priority"
    reply = Reply(visibility="channel", summary=title).heading(title)
    if not found.priorities:
        return reply.para(
            plain("No strategic priorities yet. A programme manager adds them: "),
            code("priority add NAME"),
            plain(", then maps actions: "),
            code("map REF PRIORITY"),
        )
    columns = rag_columns(ctx.plan.rag_scale)
    rows = []
    for p, t in found.by_priority():
        label = f"{p.key} {p.name}" if p else f"{NOT_MAPPED} to a priority"
        counts = (*(t.of(rag) for _, rag in columns), t.closed, t.total)
        rows.append([label, *(str(n) for n in counts)])
    reply.add(
        Table(
            columns=["Priority", *(label for label, _ in columns), "Closed", "Actions"],
            rows=rows,
        )
    )
    reply.para(
        plain("An action mapped to two priorities counts under both. "),
        bold("Workstreams × priorities"),
        plain(": actions in each, with their ratings."),
    )
    reply.add(matrix_table(found))
    return reply


def matrix_table(found: priority_service.Matrix) -> Table:
    return Table(
        columns=["Workstream", *(p.key for p in found.priorities), NOT_MAPPED],
        rows=[
            [
                name,
                *(found.cell(wid, p.id).words() for p in [*found.priorities]),
                found.cell(wid, None).words(),
            ]
            for wid, name in found.workstreams
        ],
    )
