"""`redact UPDATE-ID`: an admin removes an update's note (see bot/services/redaction.py)."""

from __future__ import annotations

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import when
from bot.replies import Reply, bold, plain
from bot.services import redaction
from bot.services.context import Ctx


@command(
    "redact",
    "redact UPDATE-ID",
    "removes an update's note for good (a child's details stored by mistake); `history REF` "
    "shows the numbers",
    ["redact 123"],
    admin=True,
)
def redact(ctx: Ctx, args: str) -> Reply:
    if not args.strip():
        raise Invalid("Which update? `redact 123`; `history REF` shows each update's number.")
    action, row = redaction.redact(ctx, redaction.parse_update_id(args))
    target = (row.changes or [{}])[0].get("new")
    return Reply(summary=f"Redacted #{target}").para(
        bold(f"Redacted #{target}"),
        plain(
            f" on {action.ref}: its note is gone from the database, and history shows it as "
            f"redacted by you on {when(row.at, ctx.settings.tz)}."
        ),
    )
