"""The reporting cycle: a board meeting marked as the reporting deadline asks every lead with
open actions for a highlight report on each, `checkin_days` before it. A lead reports by one
click (No change), by the report form, by a plain reply to the check-in, or by any progress
update: every one of them is a progress update through the history writer, so it counts as
reported and resets staleness. Participation is read from those updates, never kept apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import Forbidden, Invalid, NotFound, Rag, Status, UpdateKind, clean_note
from bot.replies import FormPurpose
from bot.services import actions as action_service
from bot.services import escalations
from bot.services import history as history_writer
from bot.services.context import Ctx
from bot.services.forms import FieldError
from bot.services.history import ActionChange
from bot.store.models import (
    Action,
    BoardMeeting,
    HighlightReport,
    Person,
    Update,
    action_leads,
)

DEFAULT_CHECKIN_DAYS = 10
MAX_CHECKIN_DAYS = 28
# The missing leads are nudged this long before the deadline.
NUDGE_DAYS_BEFORE = 2
# The programme managers get the participation list at this local time on the deadline's day.
PARTICIPATION_HOUR = 9
NO_CHANGE_NOTE = "No change since the last report."
MAX_FIELD_CHARS = 3000
REPORT = FormPurpose.REPORT


def checkin_due_at(board: BoardMeeting) -> datetime:
    return board.starts_at - timedelta(days=board.checkin_days)


def nudge_due_at(board: BoardMeeting) -> datetime:
    return board.starts_at - timedelta(days=NUDGE_DAYS_BEFORE)


def participation_due_at(board: BoardMeeting, tz: ZoneInfo) -> datetime:
    """09:00 local on the deadline's day; an hour before a meeting that starts earlier."""
    local = board.starts_at.astimezone(tz)
    morning = local.replace(hour=PARTICIPATION_HOUR, minute=0, second=0, microsecond=0)
    due = morning if morning < local else local - timedelta(hours=1)
    return due.astimezone(board.starts_at.tzinfo)


def open_actions(session: Session, plan_id: int, person_id: int) -> Sequence[Action]:
    """The open actions `person_id` leads, in ref order."""
    closed = [s for s in Status if s.is_closed]
    return session.scalars(
        select(Action)
        .join(action_leads, action_leads.c.action_id == Action.id)
        .where(
            Action.plan_id == plan_id,
            action_leads.c.person_id == person_id,
            Action.status.not_in(closed),
        )
        .order_by(Action.sort_key)
    ).all()


def unreported(action: Action, board: BoardMeeting) -> bool:
    """No progress update since the cycle's check-ins went out."""
    return action.last_update_at is None or action.last_update_at < checkin_due_at(board)


@dataclass(frozen=True)
class LeadStanding:
    person: Person
    actions: list[Action]
    missing: list[Action]

    @property
    def reported(self) -> bool:
        return not self.missing


def participation(session: Session, board: BoardMeeting) -> list[LeadStanding]:
    """Each lead with open actions, by name, and which of them have not been reported this
    cycle: the open actions and their leads in a few statements, however many leads."""
    closed = [s for s in Status if s.is_closed]
    actions = session.scalars(
        select(Action)
        .where(Action.plan_id == board.plan_id, Action.status.not_in(closed))
        .order_by(Action.sort_key)
    ).all()
    by_person: dict[int, tuple[Person, list[Action]]] = {}
    for action in actions:
        for person in action.leads:
            by_person.setdefault(person.id, (person, []))[1].append(action)
    standings = [
        LeadStanding(person, mine, [a for a in mine if unreported(a, board)])
        for person, mine in by_person.values()
    ]
    return sorted(standings, key=lambda s: (s.person.name, s.person.id))


def current_board(session: Session, plan_id: int, at: datetime) -> BoardMeeting | None:
    """The cycle now running: the next reporting board that has not started."""
    return session.scalars(
        select(BoardMeeting)
        .where(
            BoardMeeting.plan_id == plan_id,
            BoardMeeting.reporting,
            BoardMeeting.removed_at.is_(None),
            BoardMeeting.starts_at > at,
        )
        .order_by(BoardMeeting.starts_at, BoardMeeting.id)
    ).first()


def _board_for(ctx: Ctx, board_text: str | None) -> BoardMeeting | None:
    if board_text:
        digits = board_text.strip().upper().removeprefix("B-")
        board = ctx.session.get(BoardMeeting, int(digits)) if digits.isdigit() else None
        if board is not None and board.plan_id == ctx.plan.id and board.removed_at is None:
            return board
    return current_board(ctx.session, ctx.plan.id, ctx.now)


def _leader_action(ctx: Ctx, ref: str) -> Action:
    action = history_writer.lock(
        ctx.session, action_service.find_action(ctx.session, ctx.plan.id, ref)
    )
    action_service.require_can_update(ctx, action)
    return action


def _keep(
    ctx: Ctx, update: Update, board: BoardMeeting | None, **fields: str | bool | None
) -> HighlightReport:
    report = HighlightReport(
        plan_id=update.plan_id,
        action_id=update.action_id,
        update_id=update.id,
        board_id=board.id if board else None,
        person_id=update.person_id,
        at=update.at,
        **fields,
    )
    ctx.session.add(report)
    ctx.session.flush()
    return report


def no_change(ctx: Ctx, ref: str, board_text: str | None = None) -> Update:
    """One click: the action is as it was, and the lead has reported on it."""
    action = _leader_action(ctx, ref)
    board = _board_for(ctx, board_text)
    if board is not None and not unreported(action, board) and action.last_note == NO_CHANGE_NOTE:
        # A second click (or a click on an older copy of the message) adds nothing.
        raise Invalid(
            f"{action.ref} is already reported for this cycle: no change. Nothing more "
            "was recorded."
        )
    update = action_service.write_change(
        ctx, action, UpdateKind.UPDATE, ActionChange(), NO_CHANGE_NOTE
    )
    _keep(ctx, update, board, no_change=True)
    return update


@dataclass(frozen=True)
class HighlightFields:
    rag: Rag | None
    status: Status | None
    progress: str
    planned: str | None = None
    barriers: str | None = None
    escalate: bool = False


# A refusal the form shows beside the field it concerns.
ReportFieldError = FieldError


def needs_escalation_note(session: Session, action: Action, rag: Rag | None, at: datetime) -> bool:
    """A report that leaves the action red when it is for escalation (newly red, or red for two
    cycles: bot/services/escalations.py) must say what blocks it and how it will recover."""
    if (rag or action.rag) != Rag.RED:
        return False
    if action.rag != Rag.RED:
        return True  # newly red by this report
    cycle = escalations.cycle_at(session, action.plan_id, at)
    since = escalations.rag_timeline(session, action.plan_id, at).red_since(action.id, at)
    return since is None or since > cycle.previous or since <= cycle.before


def record_report(ctx: Ctx, ref: str, fields: HighlightFields, board_text: str | None) -> Update:
    """A highlight report from the form: an update of RAG, status and note (the progress), with
    what is planned, the barriers and the escalation kept beside it."""
    action = _leader_action(ctx, ref)
    if fields.status is Status.SIGNED_OFF:
        raise ReportFieldError("status", "Signing off is for programme managers.")
    progress = _text(fields.progress, "progress", required=True)
    planned = _text(fields.planned, "planned")
    barriers = _text(fields.barriers, "barriers")
    escalation = needs_escalation_note(ctx.session, action, fields.rag, ctx.now)
    if escalation and not barriers:
        raise ReportFieldError(
            "barriers",
            f"{action.ref} is red: say what the barrier is and how it will be recovered, so "
            "the board can consider it for escalation.",
        )
    update = action_service.write_change(
        ctx,
        action,
        UpdateKind.UPDATE,
        ActionChange(rag=fields.rag, status=fields.status),
        progress or "",
    )
    _keep(
        ctx,
        update,
        _board_for(ctx, board_text),
        progress=progress,
        planned=planned,
        barriers=barriers,
        escalate=fields.escalate or escalation,
    )
    return update


def _text(value: str | None, field: str, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ReportFieldError(field, "Say what has progressed since the last report.")
        return None
    if len(value) > MAX_FIELD_CHARS:
        raise ReportFieldError(field, f"Keep it to {MAX_FIELD_CHARS} characters.")
    try:
        return clean_note(value)
    except Invalid as refusal:
        raise ReportFieldError(field, str(refusal)) from refusal


def plain_reply(ctx: Ctx, text: str) -> Update:
    """A lead's reply in plain words ("11F amber – pilot live in 12 schools"), recorded as an
    update of that action; without a ref, of the one open action they lead."""
    from bot.commands.updating import parse_update

    text = text.strip()
    if not text:
        raise Invalid("Say what changed, starting with the action's ref: `11F amber pilot live`.")
    person = ctx.known_person
    mine = list(open_actions(ctx.session, ctx.plan.id, person.id)) if person else []
    first = text.split()[0].strip(",.:;–-")
    by_ref = _exists(ctx, first)
    if by_ref is None:
        if len(mine) != 1:
            if not mine:
                raise Forbidden(
                    "You lead no open actions, so there is nothing to report here. "
                    f"`{ctx.prefix}help` lists the commands."
                )
            refs = ", ".join(a.ref for a in mine)
            raise Invalid(
                f"You lead {len(mine)} open actions ({refs}): start with the ref, "
                f"like `{mine[0].ref} amber pilot live in 12 schools`."
            )
        text = f"{mine[0].ref} {text}"
        first = mine[0].ref
    rest = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
    rest = rest.lstrip(" –-:,")
    parsed = parse_update(f"{first} {rest}", ctx.plan.rag_scale)
    ref, change = parsed.ref, parsed.change
    if change is None:
        raise Invalid(f"Say what changed after the ref: `{first} amber pilot live in 12 schools`.")
    # "amber – pilot live": the dash is how people write, not part of the note.
    note = change.note.lstrip(" –—-:,;") or change.note
    change = action_service.Change(rag=change.rag, status=change.status, note=note)
    update = action_service.record_update(ctx, ref, change)
    _keep(ctx, update, _board_for(ctx, None), progress=update.note)
    return update


def _exists(ctx: Ctx, word: str) -> Action | None:
    try:
        return action_service.find_action(ctx.session, ctx.plan.id, word)
    except (NotFound, Invalid):
        return None


def latest_report(session: Session, action_id: int) -> HighlightReport | None:
    """The action's latest highlight report, for the board pack."""
    return session.scalars(
        select(HighlightReport)
        .where(HighlightReport.action_id == action_id)
        .order_by(HighlightReport.at.desc(), HighlightReport.id.desc())
    ).first()
