"""`board` meetings and `digest`s. Delivery on schedule is the scheduler's; these are the data."""

from __future__ import annotations

from collections import Counter

from bot.commands.registry import command
from bot.domain import Invalid
from bot.presenters import when
from bot.replies import Reply, Table, bold, plain, plural
from bot.services import boards as board_service
from bot.services import mailing
from bot.services.checkins import checkin_due_at
from bot.services.context import Ctx
from bot.services.digests import DigestFor, build_digest, record_manual_digest
from bot.store.models import ABANDONED, FAILED, SENT, SKIPPED, BoardMeeting, Delivery

BOARD_USAGE = [
    "board add YYYY-MM-DD HH:MM NAME [--reporting]",
    "board reporting ID on [DAYS]|off",
    "board public ID on|off",
    "board list",
    "board remove ID",
    "board move ID YYYY-MM-DD HH:MM",
    "board digest ID HOURS",
    "board email ID add EMAIL…",
    "board email ID remove EMAIL",
    "board email ID list",
]
DIGEST_USAGE = ["digest preview", "digest now", "digest weekly DAY HH:MM", "digest weekly off"]


@command(
    "board",
    BOARD_USAGE,
    "board meetings: the digest here 48 hours before, reminders to stale leads 5 days before; "
    "--reporting asks leads for highlight reports",
    [
        "board add 2027-03-04 14:00 SEND Improvement Board",
        "board digest B-3 72",
        "board public B-3 on",
        "board email B-3 add chair@council.example cllr.jones@council.example",
    ],
)
def board(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    if sub == "add":
        reporting = False
        words = rest.split()
        if "--reporting" in (w.lower() for w in words):
            reporting = True
            rest = " ".join(w for w in words if w.lower() != "--reporting")
        parts = rest.split(None, 2)
        if len(parts) < 3:
            raise Invalid(
                "Board add needs a date, a time and a name: "
                "`board add 2027-03-04 14:00 SEND Improvement Board`."
            )
        added = board_service.add(ctx, *parts, reporting=reporting)
        return Reply(summary=f"Added {added.name}").para(
            bold(f"Added B-{added.id}: {added.name}, {when(added.starts_at, ctx.settings.tz)}. "),
            plain(_digest_when(ctx, added) + _reporting_when(ctx, added)),
        )
    if sub == "reporting":
        parts = rest.split()
        if len(parts) not in (2, 3):
            raise Invalid(
                "Board reporting needs an id and on or off: `board reporting B-3 on` "
                "(or `on 14` to ask leads 14 days before)."
            )
        changed = board_service.set_reporting(
            ctx, parts[0], parts[1], parts[2] if len(parts) == 3 else None
        )
        if not changed.reporting:
            return Reply(summary="Not a reporting deadline").para(
                bold(f"B-{changed.id}: {changed.name} "),
                plain("is no longer a reporting deadline: leads will not be asked for reports."),
            )
        return Reply(summary="Reporting deadline").para(
            bold(f"B-{changed.id}: {changed.name} "),
            plain("is a reporting deadline." + _reporting_when(ctx, changed)),
        )
    if sub == "public":
        parts = rest.split()
        if len(parts) != 2:
            raise Invalid("Board public needs an id and on or off: `board public B-3 on`.")
        changed = board_service.set_public(ctx, *parts)
        return Reply(summary="Public papers" if changed.public else "Papers not public").para(
            bold(f"B-{changed.id}: {changed.name}. "),
            plain(
                "Its board pack is marked for publication with the meeting's papers."
                if changed.public
                else "Its board pack is marked not for publication."
            ),
        )
    if sub == "remove":
        removed = board_service.remove(ctx, rest)
        return Reply(summary="Removed").para(
            bold(f"Removed B-{removed.id}: {removed.name}."),
            plain(" No digest or reminders will be sent for it from now on."),
        )
    if sub == "move":
        parts = rest.split()
        if len(parts) != 3:
            raise Invalid(
                "Board move needs an id, a date and a time: `board move B-3 2027-03-11 14:00`."
            )
        moved = board_service.move(ctx, *parts)
        return Reply(summary=f"Moved {moved.name}").para(
            bold(f"Moved B-{moved.id}: {moved.name} to {when(moved.starts_at, ctx.settings.tz)}. "),
            plain(_digest_when(ctx, moved)),
        )
    if sub == "digest":
        parts = rest.split()
        if len(parts) != 2:
            raise Invalid(
                "Board digest needs an id and a number of hours before the meeting: "
                "`board digest B-3 72`."
            )
        changed = board_service.set_digest_hours(ctx, *parts)
        return Reply(summary=f"Digest for {changed.name}").para(
            bold(f"B-{changed.id}: {changed.name}. "),
            plain(
                f"Its digest goes {changed.digest_hours_before} hours before the meeting. "
                + _digest_when(ctx, changed)
            ),
        )
    if sub == "email":
        return _board_email(ctx, rest)
    if sub in ("list", ""):
        return _board_list(ctx)
    raise Invalid(f"`board {sub[:20]}` is not a board command. Use: " + "; ".join(BOARD_USAGE))


def _board_email(ctx: Ctx, rest: str) -> Reply:
    words = rest.split()
    if len(words) < 2 or words[1].lower() not in ("add", "remove", "list"):
        raise Invalid(
            "Board email needs an id and add, remove or list: "
            "`board email B-3 add chair@council.example`."
        )
    meeting = board_service.find(ctx, words[0])
    action, addresses = words[1].lower(), words[2:]
    if action == "add":
        if not addresses:
            raise Invalid("Who? `board email B-3 add chair@council.example …`.")
        added, already = mailing.add_recipients(ctx, meeting, addresses)
        reply = Reply(summary=f"{plural(len(added), 'recipient')} added").para(
            bold(f"B-{meeting.id}: {meeting.name}. "),
            plain(
                (f"Added {', '.join(added)}. " if added else "")
                + (f"Already getting its papers: {', '.join(already)}. " if already else "")
                + "Each gets the pre-board digest and the board pack by e-mail when the digest "
                "is due."
            ),
        )
        if not ctx.settings.mail_enabled:
            reply.para(
                bold("E-mail is not set up, so nothing will be sent to them yet. "),
                plain(
                    "Ask whoever runs the bot to set WSOA_SMTP_URL and WSOA_MAIL_FROM, or "
                    "GOV.UK Notify's WSOA_NOTIFY_API_KEY and WSOA_NOTIFY_TEMPLATE_ID."
                ),
            )
        return reply
    if action == "remove":
        if len(addresses) != 1:
            raise Invalid("One address at a time: `board email B-3 remove chair@council.example`.")
        removed = mailing.remove_recipient(ctx, meeting, addresses[0])
        return Reply(summary=f"Removed {removed}").para(
            bold(f"Removed {removed}"), plain(f" from B-{meeting.id}'s papers.")
        )
    found = mailing.recipients(ctx.session, meeting.id)
    reply = Reply(summary=plural(len(found), "recipient")).heading(
        f"B-{meeting.id}: {meeting.name}: papers by e-mail"
    )
    if not found:
        return reply.para("Nobody yet: `board email B-", str(meeting.id), " add EMAIL…`.")
    stopped = {a for a in found if mailing.unsubscribed(ctx.session, a, mailing.BOARD_PAPERS)}
    return reply.add(
        Table(
            columns=["E-mail", "Receives"],
            rows=[[a, "no: unsubscribed" if a in stopped else "yes"] for a in found],
        )
    )


def _reporting_when(ctx: Ctx, meeting: BoardMeeting) -> str:
    if not meeting.reporting:
        return ""
    due = checkin_due_at(meeting)
    at = "straight away" if due <= ctx.now else f"on {when(due, ctx.settings.tz)}"
    return (
        f" Leads with open actions are asked for their highlight reports {at} "
        f"({meeting.checkin_days} days before); the late ones are nudged two days before."
    )


def _digest_when(ctx: Ctx, meeting: BoardMeeting) -> str:
    due = board_service.digest_due_at(meeting)
    at = "straight away" if due <= ctx.now else f"at {when(due, ctx.settings.tz)}"
    if meeting.channel_id == ctx.caller.channel_id:
        return f"This channel gets the pre-board digest {at}."
    return f"Its channel ({meeting.channel_id}) gets the pre-board digest {at}."


def _board_list(ctx: Ctx) -> Reply:
    tz = ctx.settings.tz
    rows = []
    upcoming = board_service.upcoming(ctx)
    emails = board_service.email_deliveries(ctx, [meeting for meeting, _ in upcoming])
    for meeting, delivery in upcoming:
        rows.append(
            [
                f"B-{meeting.id}",
                when(meeting.starts_at, tz),
                meeting.name + (" (reporting deadline)" if meeting.reporting else ""),
                meeting.channel_id,
                when(board_service.digest_due_at(meeting), tz),
                _digest_state(ctx, meeting, delivery) + _email_state(ctx, meeting, emails),
            ]
        )
    reply = Reply(summary=f"{len(rows)} board meetings").heading("Board meetings")
    if not rows:
        return reply.para(plain("None scheduled. `board add YYYY-MM-DD HH:MM NAME` adds one."))
    return reply.add(
        Table(columns=["Id", "When", "Meeting", "Channel", "Digest at", "Digest"], rows=rows)
    )


def _email_state(
    ctx: Ctx, meeting: BoardMeeting, emails: dict[int, tuple[int, list[Delivery]]]
) -> str:
    """`; by e-mail to 4 recipients: 3 delivered, 1 retrying`."""
    count, deliveries = emails.get(meeting.id, (0, []))
    if not count:
        return ""
    tally = Counter(EMAIL_WORDS.get(d.state, "sending") for d in deliveries)
    if count > len(deliveries):
        tally["not yet sent"] += count - len(deliveries)
    said = ", ".join(f"{n} {word}" for word, n in tally.items())
    return f"; by e-mail to {plural(count, 'recipient')}: {said}"


EMAIL_WORDS = {
    SENT: "delivered",
    FAILED: "retrying",
    ABANDONED: "not delivered (admins told)",
    SKIPPED: "not sent",
}


def _digest_state(ctx: Ctx, meeting: BoardMeeting, delivery: Delivery | None) -> str:
    """What became of the meeting's digest, in words, from its delivery row."""
    tz = ctx.settings.tz
    if delivery is None:
        return "due now" if board_service.digest_due_at(meeting) <= ctx.now else "not yet due"
    if delivery.state == SENT and delivery.sent_at:
        return f"delivered {when(delivery.sent_at, tz)}"
    if delivery.state == FAILED:
        return f"failed {delivery.attempts}×, retrying"
    if delivery.state == ABANDONED:
        return "not delivered (admins told)"
    if delivery.state == SKIPPED:
        return f"not sent: {delivery.last_error or 'skipped'}"
    return "sending"


@command(
    "digest",
    DIGEST_USAGE,
    "the digest: to you only (preview), to this channel (now), or weekly here (admins)",
    ["digest preview", "digest weekly Monday 09:00"],
)
def digest(ctx: Ctx, args: str) -> Reply:
    words = args.split()
    sub = words[0].lower() if words else "preview"
    channel = ctx.address.conversation
    if sub == "preview":
        reply = build_digest(
            ctx.session,
            ctx.settings,
            ctx.now,
            DigestFor(channel_id=channel, plan_id=ctx.plan.id, prefix=ctx.prefix),
        )
        reply.visibility = "private"
        return reply
    if sub == "now":
        reply = build_digest(
            ctx.session,
            ctx.settings,
            ctx.now,
            DigestFor(channel_id=channel, plan_id=ctx.plan.id, prefix=ctx.prefix),
        )
        record_manual_digest(ctx.session, ctx.address, ctx.now, ctx.caller.user_id)
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
                f"every {board_service.DAYS[weekly.weekday].capitalize()} at {weekly.time:%H:%M} "
                f"({ctx.settings.timezone}) in this channel."
            ),
        )
    raise Invalid(f"`digest {sub[:20]}` is not a digest command. Use: " + "; ".join(DIGEST_USAGE))
