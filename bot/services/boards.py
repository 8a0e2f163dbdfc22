"""Board meetings (each with a pre-board digest to its channel and reminders to stale leads) and
weekly digest subscriptions: the data, and the rules for when each delivery falls due.

Each delivery has a claim key (see scheduler/deliveries.py). Keys name the occurrence, not the
row that caused it: a moved meeting has a new key, so it gets a new digest; a weekly digest's key
is its ISO week in WSOA_TIMEZONE, so a week has one however the clocks change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain import Invalid, NotFound, clean_note
from bot.services.checkins import DEFAULT_CHECKIN_DAYS, MAX_CHECKIN_DAYS
from bot.services.context import Ctx
from bot.services.history import Author
from bot.store.models import (
    BOARD_DIGEST,
    CHECKIN,
    NUDGE,
    PARTICIPATION,
    REMINDER,
    WEEKLY,
    BoardEvent,
    BoardMeeting,
    BoardRecipient,
    Delivery,
    Subscription,
)

DEFAULT_DIGEST_HOURS = 48
# A digest more than two weeks ahead of its meeting would be stale by the time the board sits.
MAX_DIGEST_HOURS = 14 * 24
# Leads are nudged this long before each meeting: time to send an update before the papers go out.
REMINDER_DAYS_BEFORE = 5
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def parse_time(text: str) -> tuple[int, int]:
    match = _TIME.match(text.strip())
    if not match:
        raise Invalid(f"“{text}” is not a time: use 24-hour HH:MM, like 09:00 or 14:30.")
    return int(match.group(1)), int(match.group(2))


def parse_day(text: str) -> int:
    word = text.strip().lower()
    for number, day in enumerate(DAYS):
        if len(word) >= 3 and day.startswith(word):
            return number
    raise Invalid(f"“{text}” is not a day of the week: use Monday … Sunday (or Mon, Tue …).")


def parse_local(ctx: Ctx, day_text: str, time_text: str) -> datetime:
    """A date and time typed by a person, in WSOA_TIMEZONE, as an aware UTC instant."""
    try:
        day = datetime.strptime(day_text.strip(), "%Y-%m-%d")
    except ValueError:
        raise Invalid(f"“{day_text}” is not a date: use YYYY-MM-DD, like 2027-03-04.") from None
    hour, minute = parse_time(time_text)
    local = day.replace(hour=hour, minute=minute, tzinfo=ctx.settings.tz)
    # A time that does not exist (the spring gap) or happens twice (the autumn hour) takes the
    # first reading; round-tripping through UTC normalises it.
    return local.astimezone(UTC)


_STAMP = "%Y%m%dT%H%MZ"


def starts_stamp(starts_at: datetime) -> str:
    """A meeting's start in UTC as it appears in claim keys: `20261125T1400Z`."""
    return f"{starts_at.astimezone(UTC):{_STAMP}}"


def parse_stamp(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def board_digest_key(board: BoardMeeting) -> str:
    """The claim key of a board's digest: a moved meeting is a new occurrence."""
    return f"{BOARD_DIGEST}:{board.id}:{starts_stamp(board.starts_at)}"


def reminder_key(board: BoardMeeting, lead: str) -> str:
    """One lead's reminder before one meeting (`lead` is their user id on the platform they
    are reminded on, or `person-<id>`)."""
    return f"{REMINDER}:{board.id}:{starts_stamp(board.starts_at)}:{lead}"


def cycle_key(kind: str, board: BoardMeeting, who: str) -> str:
    """A check-in, nudge or participation list for one person before one reporting board."""
    return f"{kind}:{board.id}:{starts_stamp(board.starts_at)}:{who}"


def weekly_key(channel_id: str, local_day: date) -> str:
    """A channel's weekly digest for the ISO week of `local_day`: at most one a week."""
    year, week, _ = local_day.isocalendar()
    return f"{WEEKLY}:{channel_id}:{year}-W{week:02d}"


def meeting_start_in_key(key: str) -> datetime | None:
    """The meeting start recorded in a board digest's or reminder's key (its deadline)."""
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] in (BOARD_DIGEST, REMINDER, CHECKIN, NUDGE, PARTICIPATION):
        return parse_stamp(parts[2])
    return None


def digest_due_at(board: BoardMeeting) -> datetime:
    return board.starts_at - timedelta(hours=board.digest_hours_before)


def reminder_due_at(board: BoardMeeting) -> datetime:
    return board.starts_at - timedelta(days=REMINDER_DAYS_BEFORE)


def weekly_due_at(subscription: Subscription, at: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest instant at or before `at` when this subscription's digest fell due, or None
    if that was before the subscription was set (a new subscription starts from its next slot).

    The day and time are wall-clock time in `tz`, so 09:00 stays 09:00 across the clock changes.
    A time the spring change skips is read with the offset before the change (01:30 becomes
    02:30 BST); a time the autumn change repeats is its first reading. Either way the ISO-week
    key makes it one digest a week.
    """
    wall_clock = subscription.time
    today = at.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - subscription.weekday) % 7)
    due = datetime.combine(day, wall_clock, tzinfo=tz).astimezone(UTC)
    if due > at:  # later today: the latest slot was a week ago
        due = datetime.combine(day - timedelta(days=7), wall_clock, tzinfo=tz).astimezone(UTC)
    return due if due >= subscription.changed_at else None


def add(
    ctx: Ctx, day_text: str, time_text: str, name: str, *, reporting: bool = False
) -> BoardMeeting:
    ctx.require_admin("add board meetings")
    starts_at = parse_local(ctx, day_text, time_text)
    if starts_at <= ctx.now:
        raise Invalid("That meeting is in the past. Give a future date and time.")
    name = clean_note(name, "meeting name")
    if len(name) > 200:
        raise Invalid("A meeting name can be 200 characters at most.")
    board = BoardMeeting(
        plan_id=ctx.plan.id,
        name=name,
        starts_at=starts_at,
        channel_id=ctx.address.conversation,
        address=ctx.address,
        digest_hours_before=DEFAULT_DIGEST_HOURS,
        reporting=reporting,
        checkin_days=DEFAULT_CHECKIN_DAYS,
        created_by_person_id=ctx.actor_id,
        source=ctx.caller.source,
        created_at=ctx.now,
    )
    ctx.session.add(board)
    ctx.session.flush()
    _event(ctx, board, "added", None, utc_text(starts_at))
    return board


def remove(ctx: Ctx, text_id: str) -> BoardMeeting:
    ctx.require_admin("remove board meetings")
    board = find(ctx, text_id)
    board.removed_at = ctx.now
    _event(ctx, board, "removed", utc_text(board.starts_at), None)
    return board


def move(ctx: Ctx, text_id: str, day_text: str, time_text: str) -> BoardMeeting:
    """A new date and time. Its digest and reminders are due afresh for the new time, even when
    the old time's were already sent: the papers for a moved meeting are a new set."""
    ctx.require_admin("move board meetings")
    board = find(ctx, text_id)
    starts_at = parse_local(ctx, day_text, time_text)
    if starts_at <= ctx.now:
        raise Invalid("That time is in the past. Give a future date and time.")
    _event(ctx, board, "moved", utc_text(board.starts_at), utc_text(starts_at))
    board.starts_at = starts_at
    ctx.session.flush()
    return board


def set_reporting(ctx: Ctx, text_id: str, switch: str, days_text: str | None) -> BoardMeeting:
    """Make a meeting the reporting deadline of a cycle (leads are asked for highlight reports
    `days` before it), or stop it being one."""
    ctx.require_admin("set reporting deadlines")
    board = find(ctx, text_id)
    was = _reporting_text(board)
    word = switch.strip().lower()
    if word not in ("on", "off"):
        raise Invalid(f"“{switch}” is neither on nor off: `board reporting B-3 on [DAYS]`.")
    if days_text is not None:
        if word == "off":
            raise Invalid("A number of days goes with `on`: `board reporting B-3 on 10`.")
        days = days_text.strip().lower().removesuffix("days").removesuffix("d").strip()
        if not days.isdigit() or not 1 <= int(days) <= MAX_CHECKIN_DAYS:
            raise Invalid(
                f"“{days_text}” is not a number of days: give 1 to {MAX_CHECKIN_DAYS} "
                f"(leads are asked {DEFAULT_CHECKIN_DAYS} days before by default)."
            )
        board.checkin_days = int(days)
    board.reporting = word == "on"
    if _reporting_text(board) != was:
        _event(ctx, board, "reporting", was, _reporting_text(board))
    ctx.session.flush()
    return board


def set_public(ctx: Ctx, text_id: str, switch: str) -> BoardMeeting:
    """Whether the meeting's papers are published with its agenda (its board pack says so)."""
    ctx.require_admin("say whether a board's papers are public")
    board = find(ctx, text_id)
    word = switch.strip().lower()
    if word not in ("on", "off"):
        raise Invalid(f"“{switch[:20]}” is neither on nor off: `board public B-3 on`.")
    if board.public != (word == "on"):
        _event(ctx, board, "public", _on(board.public), word)
    board.public = word == "on"
    ctx.session.flush()
    return board


def set_digest_hours(ctx: Ctx, text_id: str, hours_text: str) -> BoardMeeting:
    """How many hours before the meeting its digest goes to the channel."""
    ctx.require_admin("change when a board's digest is sent")
    board = find(ctx, text_id)
    text = hours_text.strip().lower().removesuffix("hours").removesuffix("h").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DIGEST_HOURS:
        raise Invalid(
            f"“{hours_text}” is not a number of hours: give 1 to {MAX_DIGEST_HOURS} "
            "(48 is two days before)."
        )
    if board.digest_hours_before != int(text):
        _event(ctx, board, "digest hours", str(board.digest_hours_before), text)
    board.digest_hours_before = int(text)
    ctx.session.flush()
    return board


def utc_text(moment: datetime) -> str:
    """A meeting's time as its history keeps it: unambiguous, whatever the zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _reporting_text(board: BoardMeeting) -> str:
    return f"on, {board.checkin_days} days" if board.reporting else "off"


def _event(ctx: Ctx, board: BoardMeeting, event: str, old: str | None, new: str | None) -> None:
    record_event(
        ctx.session, board, Author(ctx.caller.source, ctx.actor_id), ctx.now, event, old, new
    )


def record_event(
    session: Session,
    board: BoardMeeting,
    author: Author,
    at: datetime,
    event: str,
    old: str | None,
    new: str | None,
) -> None:
    """One row of a board meeting's own history (see BoardEvent)."""
    session.add(
        BoardEvent(
            plan_id=board.plan_id,
            board_id=board.id,
            at=at,
            person_id=author.person_id,
            source=author.source,
            event=event,
            old=old,
            new=new,
        )
    )


def find(ctx: Ctx, text_id: str) -> BoardMeeting:
    """A meeting of this plan by its id (`B-3`), or a refusal naming the way to find it."""
    digits = text_id.strip().upper().removeprefix("B-").removeprefix("#")
    board = ctx.session.get(BoardMeeting, int(digits)) if digits.isdigit() else None
    if board is None or board.removed_at is not None or board.plan_id != ctx.plan.id:
        raise NotFound(f"No board meeting {text_id}. `board list` shows them with their ids.")
    return board


def upcoming(ctx: Ctx) -> list[tuple[BoardMeeting, Delivery | None]]:
    """Meetings not yet started, each with its digest's delivery if it has been claimed."""
    plan = ctx.plan
    boards = ctx.session.scalars(
        select(BoardMeeting)
        .where(
            BoardMeeting.plan_id == plan.id,
            BoardMeeting.removed_at.is_(None),
            BoardMeeting.starts_at > ctx.now,
        )
        .order_by(BoardMeeting.starts_at)
    ).all()
    keys = [board_digest_key(b) for b in boards]
    deliveries = {
        d.key: d for d in ctx.session.scalars(select(Delivery).where(Delivery.key.in_(keys)))
    }
    return [(b, deliveries.get(board_digest_key(b))) for b in boards]


def email_deliveries(
    ctx: Ctx, meetings: list[BoardMeeting]
) -> dict[int, tuple[int, list[Delivery]]]:
    """For each meeting with e-mail recipients: how many it has, and its e-mailed digests'
    deliveries so far (two statements)."""
    if not meetings:
        return {}
    counts = dict(
        ctx.session.execute(
            select(BoardRecipient.board_id, func.count())
            .where(
                BoardRecipient.board_id.in_([m.id for m in meetings]),
                BoardRecipient.removed_at.is_(None),
            )
            .group_by(BoardRecipient.board_id)
        ).all()
    )
    prefixes = {m.id: f"{board_digest_key(m)}:email:" for m in meetings if counts.get(m.id)}
    found: dict[int, tuple[int, list[Delivery]]] = {
        board_id: (counts[board_id], []) for board_id in prefixes
    }
    if prefixes:
        rows = ctx.session.scalars(
            select(Delivery).where(or_(*(Delivery.key.startswith(p) for p in prefixes.values())))
        )
        for row in rows:
            for board_id, prefix in prefixes.items():
                if row.key.startswith(prefix):
                    found[board_id][1].append(row)
    return found


def set_weekly(ctx: Ctx, day_text: str, time_text: str) -> Subscription:
    ctx.require_admin("set up weekly digests")
    weekday = parse_day(day_text)
    hour, minute = parse_time(time_text)
    channel = ctx.address.conversation
    subscription = ctx.session.scalars(
        select(Subscription).where(Subscription.channel_id == channel)
    ).first()
    if subscription is None:
        subscription = Subscription(
            plan_id=ctx.plan.id,
            channel_id=channel,
            address=ctx.address,
            created_by_person_id=ctx.actor_id,
            source=ctx.caller.source,
            weekday=weekday,
            time=time(hour, minute),
            changed_at=ctx.now,
        )
        ctx.session.add(subscription)
    subscription.address = ctx.address
    subscription.plan_id = ctx.plan.id
    subscription.weekday = weekday
    subscription.time = time(hour, minute)
    subscription.active = True
    subscription.changed_at = ctx.now
    ctx.session.flush()
    return subscription


def weekly_off(ctx: Ctx) -> Subscription:
    ctx.require_admin("turn off weekly digests")
    channel = ctx.address.conversation
    subscription = ctx.session.scalars(
        select(Subscription).where(Subscription.channel_id == channel, Subscription.active)
    ).first()
    if subscription is None:
        raise NotFound("This channel has no weekly digest.")
    subscription.active = False
    subscription.changed_at = ctx.now
    return subscription
