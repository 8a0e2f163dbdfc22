"""What each occurrence says, built when it is sent from the data as it is then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.commands.reports import checkin_reply, participation_reply
from bot.config import Settings
from bot.presenters import when
from bot.replies import Reply, bold, code, plain
from bot.services import checkins
from bot.services.digests import DigestFor, build_digest, build_lead_reminder
from bot.store.models import (
    ADMIN_NOTICE,
    BOARD_DIGEST,
    CHECKIN,
    NUDGE,
    PARTICIPATION,
    REMINDER,
    WEEKLY,
    BoardMeeting,
    Delivery,
    Person,
)
from scheduler.occurrences import Occurrence

KIND_WORDS = {
    BOARD_DIGEST: "pre-board digest",
    REMINDER: "reminder to a lead",
    WEEKLY: "weekly digest",
    ADMIN_NOTICE: "notice to an admin",
    CHECKIN: "check-in to a lead",
    NUDGE: "nudge to a lead",
    PARTICIPATION: "list of who has reported",
}


def compose(
    session: Session, settings: Settings, occurrence: Occurrence, at: datetime, prefix: str = ""
) -> Reply | None:
    """The message, or None when there is no longer anything to say (the meeting went away,
    the lead has updated their actions)."""
    if occurrence.kind == BOARD_DIGEST:
        board = _current_board(session, occurrence)
        if board is None:
            return None
        return build_digest(
            session,
            settings,
            at,
            DigestFor(
                channel_id=occurrence.target, plan_id=board.plan_id, board=board, prefix=prefix
            ),
        )
    if occurrence.kind == WEEKLY:
        if occurrence.plan_id is None:
            return None
        return build_digest(
            session,
            settings,
            at,
            DigestFor(
                channel_id=occurrence.target,
                plan_id=occurrence.plan_id,
                weekly=True,
                prefix=prefix,
            ),
        )
    if occurrence.kind == REMINDER:
        board = _current_board(session, occurrence)
        lead = session.get(Person, occurrence.person_id) if occurrence.person_id else None
        if board is None or lead is None or occurrence.stale_before is None:
            return None
        return build_lead_reminder(
            session, settings, at, lead, board, occurrence.stale_before, prefix
        )
    if occurrence.kind in (CHECKIN, NUDGE):
        board = _current_board(session, occurrence)
        lead = session.get(Person, occurrence.person_id) if occurrence.person_id else None
        if board is None or lead is None or not board.reporting:
            return None
        mine = checkins.open_actions(session, board.plan_id, lead.id)
        if occurrence.kind == NUDGE:
            mine = [a for a in mine if checkins.unreported(a, board)]
        if not mine:
            return None  # nothing open, or everything reported since it fell due
        return checkin_reply(settings, board, lead, mine, prefix, nudge=occurrence.kind == NUDGE)
    if occurrence.kind == PARTICIPATION:
        board = _current_board(session, occurrence)
        if board is None or not board.reporting:
            return None
        return participation_reply(settings, board, checkins.participation(session, board), prefix)
    if occurrence.kind == ADMIN_NOTICE:
        given_up = session.get(Delivery, occurrence.delivery_id) if occurrence.delivery_id else None
        return None if given_up is None else abandoned_notice(settings, given_up, prefix)
    raise ValueError(f"no message for a delivery of kind {occurrence.kind!r}")


def _current_board(session: Session, occurrence: Occurrence) -> BoardMeeting | None:
    """The occurrence's meeting, if it is still on at the time the key names."""
    board = session.get(BoardMeeting, occurrence.board_id) if occurrence.board_id else None
    if board is None or board.removed_at is not None:
        return None
    if board.starts_at != occurrence.deadline:
        return None  # moved since it fell due: the new time is a new occurrence
    return board


def abandoned_notice(settings: Settings, given_up: Delivery, prefix: str = "") -> Reply:
    what = KIND_WORDS.get(given_up.kind, given_up.kind)
    tz = settings.tz
    attempts = "attempt" if given_up.attempts == 1 else "attempts"
    return (
        Reply(visibility="private", summary=f"A scheduled {what} was not delivered")
        .heading(f"A scheduled {what} was not delivered")
        .para(
            plain(f"The {what} to "),
            bold(given_up.target),
            plain(f", due {when(given_up.due_at, tz)}, was given up after "),
            plain(f"{given_up.attempts} {attempts}. "),
            plain(f"Last error: {given_up.last_error or 'none recorded'}."),
        )
        .para(
            plain("Check that the bot is in the channel and the platform is reachable; "),
            code(f"{prefix}digest now"),
            plain(" in the channel sends a digest by hand. Delivery key: "),
            code(given_up.key),
        )
    )
