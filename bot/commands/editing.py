"""Commands that change an action's plan fields: edit and add (programme managers)."""

from __future__ import annotations

import re

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import describe_change, shorten
from bot.replies import Reply, bold, code, plain
from bot.services import actions as action_service
from bot.services.context import Ctx
from bot.services.plans import find_workstream, workstreams
from bot.store.models import Action

EDIT_USAGE = "edit REF due|title|measure|workstream VALUE [because REASON]"
# "edit 11F due June 2027 because the pilot starts in April": the reason follows the first
# "because".
_BECAUSE = re.compile(r"\s+because\s+", re.IGNORECASE)
ADD_USAGE = "add REF WORKSTREAM TITLE"


@command(
    "edit",
    EDIT_USAGE,
    "changes an action's due date, title, measure or workstream; history keeps the old value",
    [
        "edit 11F due June 2027 because the pilot moved to the summer term",
        "edit 2A.3 workstream joint working",
    ],
    admin=True,
)
def edit(ctx: Ctx, args: str) -> Reply:
    parts = args.split(None, 2)
    if len(parts) < 3:
        raise Invalid(f"Edit needs the ref, the field and the new value: `{EDIT_USAGE}`.")
    ref, field, rest = parts
    value, reason = [*_BECAUSE.split(rest, maxsplit=1), None][:2]
    update = action_service.edit(ctx, ref, field.lower(), value or "", reason)
    action = ctx.session.get_one(Action, update.action_id)
    changed = "; ".join(describe_change(update))
    return Reply(summary=f"Edited {action.ref}").para(
        bold(f"Edited {action.ref}"),
        plain(f" ({shorten(action.title, 80)}): {changed}. "),
        code(f"history {action.ref}"),
        plain(" keeps both."),
    )


@command(
    "add",
    ADD_USAGE,
    "adds an action to a workstream (then `assign` its leads, `edit` its due date)",
    ["add 11G graduated response Train SENCOs in the new toolkit"],
    admin=True,
)
def add(ctx: Ctx, args: str) -> Reply:
    parts = args.split(None, 1)
    if len(parts) < 2:
        raise Invalid(f"Add needs a ref, a workstream and a title: `{ADD_USAGE}`.")
    ref, rest = parts
    workstream_words, title = split_workstream(ctx, rest)
    action = action_service.add(ctx, ref, workstream_words, title)
    return Reply(summary=f"Added {action.ref}").para(
        bold(f"Added {action.ref}"),
        plain(f" to {action.workstream.name}: {shorten(action.title, 120)}. Next: "),
        code(f"assign {action.ref} @lead"),
        plain(" and "),
        code(f"edit {action.ref} due March 2027"),
        plain("."),
    )


def split_workstream(ctx: Ctx, text: str) -> tuple[str, str]:
    """`graduated response Train SENCOs…`: the workstream is the longest run of leading words
    that names one (in full or by an unambiguous part), the title what follows."""
    words = text.split()
    candidates = workstreams(ctx.session, ctx.plan)
    for n in range(len(words) - 1, 0, -1):
        head = " ".join(words[:n])
        if find_workstream(ctx.session, ctx.plan, head) is not None:
            return head, " ".join(words[n:])
    names = ", ".join(w.name for w in candidates)
    first = words[0] if words else ""
    raise Invalid(
        f"No workstream at the start of “{shorten(text, 60)}” (tried “{first}”). "
        f"Workstreams: {names}. `{ADD_USAGE}`."
    )
