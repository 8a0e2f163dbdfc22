"""What is due at an instant, computed from the database: board meetings, subscriptions and
abandoned deliveries are the schedule.

An `Occurrence` is one message that should exist: a board's digest, one lead's reminder before
one meeting, a channel's weekly digest for one ISO week, one admin's notice of a delivery given
up on. Its key is its identity (see bot/services/boards.py); the deliveries table records what
became of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.addresses import Address, console_address
from bot.config import Settings
from bot.platforms import EMAIL, address_for, handle_of, personal_address, why_unreachable
from bot.services import boards, checkins, kpis, mailing, people
from bot.services.context import CONSOLE_CHANNEL
from bot.services.people import CONSOLE, Who
from bot.store import queries
from bot.store.models import (
    ABANDONED,
    ADMIN_NOTICE,
    BOARD_DIGEST,
    CHECKIN,
    KPI_COMMENTARY,
    NUDGE,
    PARTICIPATION,
    REMINDER,
    WEEKLY,
    BoardMeeting,
    Delivery,
    MailUnsubscribe,
    Person,
    Plan,
    Subscription,
)

SCHEDULED = (BOARD_DIGEST, REMINDER, WEEKLY, CHECKIN, NUDGE, PARTICIPATION, KPI_COMMENTARY)
# A commentary ask not delivered within a week is given up: the next figure asks again.
COMMENTARY_GRACE = timedelta(days=7)

# A weekly digest more than a day late is old news: the next one is not far off.
WEEKLY_GRACE = timedelta(hours=24)
NOTICE_GRACE = timedelta(days=7)
# Meetings this far past are still looked at, so that what fell due while nothing was running
# is recorded as skipped rather than forgotten.
LOOK_BACK = timedelta(days=7)
# How far ahead a meeting can be and still have something due (its digest, at the earliest).
LOOK_AHEAD = timedelta(
    hours=max(
        boards.MAX_DIGEST_HOURS,
        boards.REMINDER_DAYS_BEFORE * 24,
        checkins.MAX_CHECKIN_DAYS * 24,
    )
)


@dataclass(frozen=True)
class Occurrence:
    key: str
    kind: str
    # the conversation, as reports name it (a channel id, a person's user id)
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
    # why it can never be sent, when it cannot (a lead with no chat account)
    unreachable: str | None = None
    # an unreachable occurrence the admins can put right (a Teams lead who never installed
    # the bot): recorded as abandoned, so they are told, rather than skipped quietly
    tell_admins: bool = False
    # where it goes; the sender is chosen by its platform
    address: Address | None = None
    # the plan it speaks of (a weekly digest's subscription's; a board's is its board's)
    plan_id: int | None = None


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
            found.extend(board_emails(session, meeting))
        if boards.reminder_due_at(meeting) <= at:
            found.extend(reminders(session, settings, meeting))
        if meeting.reporting:
            found.extend(cycle_occurrences(session, settings, meeting, at))
    subscriptions = session.scalars(
        select(Subscription).where(Subscription.active).order_by(Subscription.id)
    ).all()
    found.extend(weekly_digests(subscriptions, settings, at))
    found.extend(commentary_asks(session, at))
    return by_email(session, found)


def commentary_asks(session: Session, at: datetime) -> list[Occurrence]:
    """One direct message to a measure's owner per new off-trajectory figure (bot/services/
    kpis.py decides which). Its key names the measure and the latest period off, so the same
    figure never asks twice and a newer one still off asks again. First seen is its due time."""
    found = []
    for plan_id in session.scalars(select(Plan.id).order_by(Plan.id)):
        for ask in kpis.commentary_needed(session, plan_id):
            if ask.owner is None:
                continue  # nobody to ask: the digest and the pack still show it off course
            address = personal_address(ask.owner)
            found.append(
                Occurrence(
                    key=ask.key,
                    kind=KPI_COMMENTARY,
                    target=address.conversation if address else f"person-{ask.owner.id}",
                    address=address,
                    due_at=at,
                    deadline=at + COMMENTARY_GRACE,
                    person_id=ask.owner.id,
                    plan_id=plan_id,
                    unreachable=None if address else f"{ask.owner.label} has no chat account",
                )
            )
    return found


def board_digest(meeting: BoardMeeting) -> Occurrence:
    return Occurrence(
        key=boards.board_digest_key(meeting),
        kind=BOARD_DIGEST,
        target=meeting.channel_id,
        due_at=boards.digest_due_at(meeting),
        deadline=meeting.starts_at,
        board_id=meeting.id,
        address=_address(meeting.address, meeting.channel_id),
        plan_id=meeting.plan_id,
    )


def board_emails(session: Session, meeting: BoardMeeting) -> list[Occurrence]:
    """The pre-board digest and pack to each of the board's e-mail recipients, each its own
    delivery: one address failing holds up no other."""
    digest = board_digest(meeting)
    return [
        Occurrence(
            key=f"{digest.key}:email:{email}",
            kind=BOARD_DIGEST,
            target=email,
            due_at=digest.due_at,
            deadline=digest.deadline,
            board_id=meeting.id,
            address=Address(platform=EMAIL, conversation=email),
            plan_id=meeting.plan_id,
        )
        for email in mailing.recipients(session, meeting.id)
    ]


def by_email(session: Session, found: list[Occurrence]) -> list[Occurrence]:
    """E-mail occurrences made ready: their address names the plan (its pages are where the
    message's links lead), and one to an address that unsubscribed from its kind of e-mail is
    not sent."""
    if not any(o.address is not None and o.address.platform == EMAIL for o in found):
        return found
    slugs: dict[int, str] = {
        row.id: row.slug for row in session.execute(select(Plan.id, Plan.slug))
    }
    stopped = {(u.email, u.kind) for u in session.scalars(select(MailUnsubscribe))}
    ready = []
    for occurrence in found:
        address = occurrence.address
        if address is not None and address.platform == EMAIL:
            kind = mailing.mail_kind(occurrence.key)
            unreachable = occurrence.unreachable
            if (address.conversation.lower(), kind) in stopped:
                unreachable = f"{address.conversation} unsubscribed from {mailing.KIND_WORDS[kind]}"
            slug = slugs.get(occurrence.plan_id or 0, "")
            occurrence = replace(
                occurrence,
                address=address.model_copy(update={"workspace": slug}),
                unreachable=unreachable,
            )
        ready.append(occurrence)
    return ready


def reminders(session: Session, settings: Settings, meeting: BoardMeeting) -> list[Occurrence]:
    """One per lead with open actions that had gone without an update for `stale_days` when
    the reminder fell due. An update since then takes the lead off the list."""
    due = boards.reminder_due_at(meeting)
    stale_before = due - timedelta(days=settings.stale_days)
    found = []
    for person in queries.stale_leads(session, meeting.plan_id, stale_before):
        address = personal_address(person)
        user_id = address.conversation if address else None
        unreachable = None if address else why_unreachable(person)
        found.append(
            Occurrence(
                key=boards.reminder_key(meeting, user_id or f"person-{person.id}"),
                kind=REMINDER,
                target=user_id or f"person-{person.id}",
                address=address,
                due_at=due,
                deadline=meeting.starts_at,
                board_id=meeting.id,
                person_id=person.id,
                plan_id=meeting.plan_id,
                stale_before=stale_before,
                unreachable=unreachable.reason if unreachable else None,
                tell_admins=unreachable is not None and unreachable.tell_admins,
            )
        )
    return found


def cycle_occurrences(
    session: Session, settings: Settings, meeting: BoardMeeting, at: datetime
) -> list[Occurrence]:
    """A reporting board's check-ins (every lead with open actions), nudges (the leads who
    have not reported on all of them when the nudge falls due) and the participation list for
    each admin, each once. Who is nudged is decided when it falls due; the message itself
    lists what is still missing when it is sent."""
    found: list[Occurrence] = []
    checkin_due = checkins.checkin_due_at(meeting)
    nudge_due = checkins.nudge_due_at(meeting)
    if checkin_due <= at:
        standings = checkins.participation(session, meeting)
        for standing in standings:
            found.append(_personal(meeting, CHECKIN, standing.person, checkin_due))
        if nudge_due <= at:
            for standing in standings:
                if not standing.reported:
                    found.append(_personal(meeting, NUDGE, standing.person, nudge_due))
    list_due = checkins.participation_due_at(meeting, settings.tz)
    if list_due <= at:
        for admin in sorted(settings.admins):
            address = _admin_address(session, admin)
            found.append(
                Occurrence(
                    key=boards.cycle_key(PARTICIPATION, meeting, admin),
                    kind=PARTICIPATION,
                    target=admin,
                    address=address,
                    due_at=list_due,
                    deadline=meeting.starts_at,
                    board_id=meeting.id,
                    plan_id=meeting.plan_id,
                    unreachable=None if address else f"{admin} has no chat account linked",
                )
            )
    return found


def _personal(meeting: BoardMeeting, kind: str, person: Person, due: datetime) -> Occurrence:
    address = personal_address(person)
    user_id = address.conversation if address else None
    who = user_id or f"person-{person.id}"
    return Occurrence(
        key=boards.cycle_key(kind, meeting, who),
        kind=kind,
        target=who,
        address=address,
        due_at=due,
        deadline=meeting.starts_at,
        board_id=meeting.id,
        person_id=person.id,
        plan_id=meeting.plan_id,
        unreachable=None if address else why_unreachable(person).reason,
    )


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
                address=_address(subscription.address, subscription.channel_id),
                plan_id=subscription.plan_id,
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
    addresses = {admin: _admin_address(session, admin) for admin in settings.admins}
    notices = [
        Occurrence(
            key=f"notice:{row.id}:{admin}",
            kind=ADMIN_NOTICE,
            target=admin,
            due_at=row.claimed_at,
            deadline=row.claimed_at + NOTICE_GRACE,
            delivery_id=row.id,
            address=addresses[admin],
            unreachable=None if addresses[admin] else f"{admin} has no chat account linked",
        )
        for row in abandoned
        for admin in sorted(settings.admins)
    ]
    return by_email(session, notices)


def _admin_address(session: Session, admin: str) -> Address | None:
    """An admin's personal chat: WSOA_ADMINS names them by a user id or an e-mail."""
    person = people.find(session, Who(platform=CONSOLE, external_id=admin))
    if person is not None:
        return personal_address(person)
    handle = handle_of(admin)
    if handle is not None:
        return address_for(handle)
    # an admin known only by the e-mail WSOA_ADMINS gives
    return Address(platform=EMAIL, conversation=admin.lower()) if people.is_email(admin) else None


def _address(stored: Address | None, conversation: str) -> Address | None:
    """A row's address (migration 0003 gave every older row one)."""
    if stored is None and conversation == CONSOLE_CHANNEL:
        return console_address(conversation)
    return stored


def deadline_of(row: Delivery) -> datetime:
    """The instant after which a recorded delivery may no longer be sent."""
    if row.kind == WEEKLY:
        return row.due_at + WEEKLY_GRACE
    if row.kind == ADMIN_NOTICE:
        return row.due_at + NOTICE_GRACE
    if row.kind == KPI_COMMENTARY:
        return row.due_at + COMMENTARY_GRACE
    return boards.meeting_start_in_key(row.key) or row.due_at
