"""`board` meetings and `digest`s. Delivery on schedule is the scheduler's; these are the data."""

from __future__ import annotations

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import when
from bot.replies import Reply, Table, bold, plain
from bot.services import boards as board_service
from bot.services.context import Ctx
from bot.services.digests import DigestFor, build_digest, record_manual_digest

BOARD_USAGE = ["board add YYYY-MM-DD HH:MM NAME", "board list", "board remove ID"]
DIGEST_USAGE = ["digest preview", "digest now", "digest weekly DAY HH:MM", "digest weekly off"]


@command(
    "board",
    BOARD_USAGE,
    "board meetings; this channel gets the digest 48 hours before (add/remove: admins)",
    ["board add 2027-03-04 14:00 SEND Improvement Board"],
)
def board(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    if sub == "add":
        parts = rest.split(None, 2)
        if len(parts) < 3:
            raise Invalid(
                "Board add needs a date, a time and a name: "
                "`board add 2027-03-04 14:00 SEND Improvement Board`."
            )
        added = board_service.add(ctx, *parts)
        tz = ctx.settings.tz
        return Reply(summary=f"Added {added.name}").para(
            bold(f"Added B-{added.id}: {added.name}, {when(added.starts_at, tz)}. "),
            plain(
                f"This channel gets the pre-board digest at "
                f"{when(board_service.digest_due_at(added), tz)}."
            ),
        )
    if sub == "remove":
        removed = board_service.remove(ctx, rest)
        return Reply(summary="Removed").para(
            bold(f"Removed B-{removed.id}: {removed.name}."), plain(" Its digest will not be sent.")
        )
    if sub in ("list", ""):
        return _board_list(ctx)
    raise Invalid(f"`board {sub[:20]}` is not a board command. Use: " + "; ".join(BOARD_USAGE))


def _board_list(ctx: Ctx) -> Reply:
    tz = ctx.settings.tz
    rows = []
    for meeting, delivery in board_service.upcoming(ctx):
        if delivery is None:
            state = "not yet due"
        elif delivery.state == "sent" and delivery.sent_at:
            state = f"delivered {when(delivery.sent_at, tz)}"
        else:
            state = delivery.state
        rows.append(
            [
                f"B-{meeting.id}",
                when(meeting.starts_at, tz),
                meeting.name,
                meeting.channel_id,
                when(board_service.digest_due_at(meeting), tz),
                state,
            ]
        )
    reply = Reply(summary=f"{len(rows)} board meetings").heading("Board meetings")
    if not rows:
        return reply.para(plain("None scheduled. `board add YYYY-MM-DD HH:MM NAME` adds one."))
    return reply.add(
        Table(columns=["Id", "When", "Meeting", "Channel", "Digest at", "Digest"], rows=rows)
    )


@command(
    "digest",
    DIGEST_USAGE,
    "the digest: to you only (preview), to this channel (now), or weekly here (admins)",
    ["digest preview", "digest weekly Monday 09:00"],
)
def digest(ctx: Ctx, args: str) -> Reply:
    words = args.split()
    sub = words[0].lower() if words else "preview"
    channel = ctx.caller.channel_id or "console"
    if sub == "preview":
        reply = build_digest(ctx.session, ctx.settings, ctx.now, DigestFor(channel_id=channel))
        reply.visibility = "private"
        return reply
    if sub == "now":
        reply = build_digest(ctx.session, ctx.settings, ctx.now, DigestFor(channel_id=channel))
        record_manual_digest(ctx.session, channel, ctx.now, ctx.caller.user_id)
        return reply
    if sub == "weekly":
        if len(words) == 2 and words[1].lower() == "off":
            board_service.weekly_off(ctx)
            return Reply(summary="Weekly digest off").para(
                plain("This channel's weekly digest is off.")
            )
        if len(words) not in (1, 3):
            raise Invalid(
                "Use `digest weekly DAY HH:MM` (e.g. `digest weekly Monday 09:00`) "
                "or `digest weekly off`."
            )
        day, time = (words[1], words[2]) if len(words) == 3 else ("monday", "09:00")
        weekly = board_service.set_weekly(ctx, day, time)
        return Reply(summary="Weekly digest set").para(
            bold("Weekly digest: "),
            plain(
                f"every {board_service.DAYS[weekly.weekday].capitalize()} at {weekly.time} "
                f"({ctx.settings.timezone}) in this channel."
            ),
        )
    raise Invalid(f"`digest {sub[:20]}` is not a digest command. Use: " + "; ".join(DIGEST_USAGE))
