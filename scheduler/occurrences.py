"""What is due at an instant, computed from the database: board meetings, subscriptions and
abandoned deliveries are the schedule.

An `Occurrence` is one message that should exist: a board's digest, one lead's reminder before
one meeting, a channel's weekly digest for one ISO week, one admin's notice of a delivery given
up on. Its key is its identity (see bot/services/boards.py); the deliveries table records what
became of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.services import boards
from bot.services.people import CONSOLE
from bot.store import queries
from bot.store.models import (
    ABANDONED,
    ADMIN_NOTICE,
    BOARD_DIGEST,
    REMINDER,
    WEEKLY,
    BoardMeeting,
    Delivery,
    Subscription,
)

SCHEDULED = (BOARD_DIGEST, REMINDER, WEEKLY)

# A weekly digest more than a day late is old news: the next one is not far off.
WEEKLY_GRACE = timedelta(hours=24)
NOTICE_GRACE = timedelta(days=7)
# Meetings this far past are still looked at, so that what fell due while nothing was running
# is recorded as skipped rather than forgotten.
LOOK_BACK = timedelta(days=7)
# How far ahead a meeting can be and still have something due (its digest, at the earliest).
LOOK_AHEAD = timedelta(hours=max(boards.MAX_DIGEST_HOURS, boards.REMINDER_DAYS_BEFORE * 24))

# Slack conversation and user ids. Meetings and subscriptions set up at the console have the
# channel "console", which Slack cannot deliver to.
_SLACK_ID = re.compile(r"^[CGDUW][A-Z0-9_]{2,}$")


@dataclass(frozen=True)
class Occurrence:
    key: str
    kind: str
    # a channel id, or a user id for a direct message
    target: str
    due_at: datetime
    # never sent at or after this instant (a pre-board digest: once the meeting has started)
    deadline: datetime
    board_id: int | None = None
    person_id: int | None = None
    # a reminder lists the lead's open actions with no update since this instant
    stale_before: datetime | None = None
    # an admin notice's abandoned delivery
    delivery_id: int | None = None
    # why it can never be sent, when it cannot (a lead with no Slack id)
    unreachable: str | None = None


def scheduled_occurrences(session: Session, settings: Settings, at: datetime) -> list[Occurrence]:
    """Board digests, reminders and weekly digests whose due time is at or before `at`: those
    still within their time, and recent ones past it (to be recorded as skipped)."""
    meetings = session.scalars(
        select(BoardMeeting)
        .where(
            BoardMeeting.removed_at.is_(None),
            BoardMeeting.starts_at > at - LOOK_BACK,
            BoardMeeting.starts_at <= at + LOOK_AHEAD,
        )
        .order_by(BoardMeeting.starts_at, BoardMeeting.id)
    ).all()
    found: list[Occurrence] = []
    for meeting in meetings:
        if boards.digest_due_at(meeting) <= at:
            found.append(board_digest(meeting))
        if boards.reminder_due_at(meeting) <= at:
            found.extend(reminders(session, settings, meeting))
    subscriptions = session.scalars(
        select(Subscription).where(Subscription.active).order_by(Subscription.id)
    ).all()
    found.extend(weekly_digests(subscriptions, settings, at))
    return found


def board_digest(meeting: BoardMeeting) -> Occurrence:
    return Occurrence(
        key=boards.board_digest_key(meeting),
        kind=BOARD_DIGEST,
        target=meeting.channel_id,
        due_at=boards.digest_due_at(meeting),
        deadline=meeting.starts_at,
        board_id=meeting.id,
        unreachable=_unreachable_channel(meeting.channel_id),
    )


def reminders(session: Session, settings: Settings, meeting: BoardMeeting) -> list[Occurrence]:
    """One per lead with open actions that had gone without an update for `stale_days` when
    the reminder fell due. An update since then takes the lead off the list."""
    due = boards.reminder_due_at(meeting)
    stale_before = due - timedelta(days=settings.stale_days)
    found = []
    for person in queries.stale_leads(session, meeting.plan_id, stale_before):
        user_id = next((h for p, h in person.handles.items() if p != CONSOLE), None)
        found.append(
            Occurrence(
                key=boards.reminder_key(meeting, user_id or f"person-{person.id}"),
                kind=REMINDER,
                target=user_id or f"person-{person.id}",
                due_at=due,
                deadline=meeting.starts_at,
                board_id=meeting.id,
                person_id=person.id,
                stale_before=stale_before,
                unreachable=None if user_id else f"{person.label} has no chat account linked",
            )
        )
    return found


def weekly_digests(
    subscriptions: Iterable[Subscription], settings: Settings, at: datetime
) -> list[Occurrence]:
    tz = settings.tz
    found = []
    for subscription in subscriptions:
        due = boards.weekly_due_at(subscription, at, tz)
        if due is None:
            continue
        found.append(
            Occurrence(
                key=boards.weekly_key(subscription.channel_id, due.astimezone(tz).date()),
                kind=WEEKLY,
                target=subscription.channel_id,
                due_at=due,
                deadline=due + WEEKLY_GRACE,
                unreachable=_unreachable_channel(subscription.channel_id),
            )
        )
    return found


def admin_notices(session: Session, settings: Settings, at: datetime) -> list[Occurrence]:
    """One direct message per admin for every delivery given up on in the last week.

    Found from the abandoned rows themselves, not handed over by whoever gave up, so a crash
    between giving up and telling cannot lose the notice; the notice's own key makes it once.
    """
    if not settings.admins:
        return []
    abandoned: Sequence[Delivery] = session.scalars(
        select(Delivery)
        .where(
            Delivery.state == ABANDONED,
            Delivery.kind.in_(SCHEDULED),
            Delivery.claimed_at > at - NOTICE_GRACE,
            Delivery.claimed_at <= at,
        )
        .order_by(Delivery.claimed_at, Delivery.id)
    ).all()
    return [
        Occurrence(
            key=f"notice:{row.id}:{admin}",
            kind=ADMIN_NOTICE,
            target=admin,
            due_at=row.claimed_at,
            deadline=row.claimed_at + NOTICE_GRACE,
            delivery_id=row.id,
        )
        for row in abandoned
        for admin in sorted(settings.admins)
    ]


def deadline_of(row: Delivery) -> datetime:
    """The instant after which a recorded delivery may no longer be sent."""
    if row.kind == WEEKLY:
        return row.due_at + WEEKLY_GRACE
    if row.kind == ADMIN_NOTICE:
        return row.due_at + NOTICE_GRACE
    return boards.meeting_start_in_key(row.key) or row.due_at


def _unreachable_channel(channel_id: str) -> str | None:
    if _SLACK_ID.match(channel_id):
        return None
    return f"“{channel_id}” is not a Slack channel (set up at the console?)"
