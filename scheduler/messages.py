"""What each occurrence says, built when it is sent from the data as it is then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.boardpack import snapshots
from bot.boardpack.data import gather
from bot.boardpack.document import MEDIA_TYPE, build_docx
from bot.commands.reports import checkin_reply, participation_reply
from bot.config import Settings
from bot.domain import Surface
from bot.presenters import shorten, when
from bot.replies import Attachment, Reply, bold, code, plain
from bot.services import checkins, kpis
from bot.services.digests import DigestFor, build_digest, build_lead_reminder
from bot.services.escalations import NEWLY_RED, for_escalation
from bot.services.history import Author
from bot.store.models import (
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
    Person,
    Plan,
)
from scheduler.occurrences import Occurrence

# A digest names this many actions for escalation; the pack has them all.
ESCALATION_LINES = 10

KIND_WORDS = {
    BOARD_DIGEST: "pre-board digest",
    REMINDER: "reminder to a lead",
    WEEKLY: "weekly digest",
    ADMIN_NOTICE: "notice to an admin",
    CHECKIN: "check-in to a lead",
    NUDGE: "nudge to a lead",
    PARTICIPATION: "list of who has reported",
    KPI_COMMENTARY: "request for a measure's commentary",
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
        digest = build_digest(
            session,
            settings,
            at,
            DigestFor(
                channel_id=occurrence.target, plan_id=board.plan_id, board=board, prefix=prefix
            ),
        )
        for_escalation_section(session, board, at, digest, prefix)
        digest.files.append(board_pack(session, settings, board, at))
        return digest
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
    if occurrence.kind == KPI_COMMENTARY:
        if occurrence.plan_id is None:
            return None
        asks = kpis.commentary_needed(session, occurrence.plan_id)
        ask = next((a for a in asks if a.key == occurrence.key), None)
        return None if ask is None else kpis.commentary_request(ask)
    if occurrence.kind == ADMIN_NOTICE:
        given_up = session.get(Delivery, occurrence.delivery_id) if occurrence.delivery_id else None
        return None if given_up is None else abandoned_notice(settings, given_up, prefix)
    raise ValueError(f"no message for a delivery of kind {occurrence.kind!r}")


def for_escalation_section(
    session: Session, board: BoardMeeting, at: datetime, reply: Reply, prefix: str = ""
) -> None:
    """The actions the board must hear about (newly red, red for two cycles, or asked for by
    their lead), each with the barrier its latest highlight report gave."""
    _, found = for_escalation(session, board.plan_id, at)
    # The newly red first: the board has not heard of them.
    found.sort(key=lambda item: not item.reason.startswith(NEWLY_RED))
    reply.heading(f"For escalation ({len(found)})")
    if not found:
        reply.para(
            plain("No action is newly red or red for two cycles, and no lead asks for escalation.")
        )
        return
    for item in found[:ESCALATION_LINES]:
        report = checkins.latest_report(session, item.action.id)
        barrier = report.barriers if report and report.barriers else "no barrier reported yet"
        considered = " Considered by the board." if item.considered else ""
        reply.para(
            bold(f"{item.action.ref} "),
            plain(f"{shorten(item.action.title, 100)} — {item.reason}. "),
            plain(f"Barrier and recovery: {shorten(barrier, 300)}.{considered}"),
        )
    if len(found) > ESCALATION_LINES:
        reply.para(
            plain(f"…and {len(found) - ESCALATION_LINES} more: the board pack lists them all.")
        )


def board_pack(
    session: Session, settings: Settings, board: BoardMeeting, at: datetime
) -> Attachment:
    """The board's pack as it stands when its digest goes, kept as a snapshot (what the board
    was sent can be produced again) and attached to the digest. Every copy of the digest sent
    in one tick (the channel, each recipient by e-mail) attaches the same pack: made and kept
    by the first, found by the rest."""
    kept = snapshots.made_by_at(session, board.id, Surface.SCHEDULER, at)
    if kept is None:
        plan = session.get_one(Plan, board.plan_id)
        day = board.starts_at.astimezone(settings.tz).date()
        kept = snapshots.keep(
            session,
            board,
            build_docx(gather(session, plan, board, at, settings.tz)),
            filename=f"board-pack-{day.isoformat()}-B{board.id}.docx",
            by=Author(source=Surface.SCHEDULER),
            at=at,
        )
    return Attachment(
        filename=kept.filename,
        media_type=MEDIA_TYPE,
        data=kept.content,
        title=f"Board pack: {board.name}",
        snapshot_id=kept.id,
    )


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
