"""Everything a board pack says, gathered in a constant number of statements whatever the size
of the plan (about fifteen: see `gather`). The document and the chart only shape it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from bot.domain import (
    COMPLETE,
    Rag,
    Rating,
    Status,
    UpdateKind,
    day_text,
    is_overdue,
    ref_sort_key,
)
from bot.impact import Standing
from bot.services import escalations as escalation_service
from bot.services import kpis as kpi_service
from bot.services import priorities as priority_service
from bot.services.checkins import checkin_due_at
from bot.services.history import field_changes
from bot.services.people import organisation_of
from bot.store import chain, queries
from bot.store.models import (
    Action,
    Answer,
    BoardMeeting,
    FollowUp,
    HighlightReport,
    Person,
    Plan,
    Update,
    action_leads,
)

# The chart shows the RAG counts at this many earlier board meetings, and now.
CHART_POINTS = 8
FLAGGED = ("red", "amber")
# Actions and measures about working with families: the pack's co-production section.
CO_PRODUCTION = re.compile(
    r"co-?produc|parent\s+carer|carers'?\s+forum|\bvoice\b|participation|you said",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PackOptions:
    """What the pack needs beyond the plan: who prepares it, and the plan's flag thresholds."""

    tz: ZoneInfo
    prepared_by: str = "the programme team"
    contact: str | None = None
    due_soon_days: int = 14
    stale_days: int = 42


@dataclass(frozen=True)
class ActionRow:
    id: int
    ref: str
    title: str
    workstream_id: int
    rag: str | None
    status: str
    due: date | None
    due_text: str | None
    last_note: str | None
    last_update_at: datetime | None
    created_at: datetime
    measure: str | None
    leads: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Highlight:
    """A flagged action's latest highlight report, or its latest note (`progress`) where it
    has none, with who wrote it."""

    at: datetime
    no_change: bool
    progress: str | None
    planned: str | None
    barriers: str | None
    by: str | None = None


@dataclass(frozen=True)
class Barrier:
    """A barrier a lead's latest highlight report since the previous board names."""

    ref: str
    title: str
    text: str
    by: str | None
    at: datetime
    escalate: bool


@dataclass(frozen=True)
class OrganisationReporting:
    """An organisation's leads with open actions: who has reported this cycle and who not."""

    organisation: str
    reported: list[str]
    not_reported: list[str]


@dataclass(frozen=True)
class RagMove:
    ref: str
    title: str
    rag_from: str | None
    rag_to: str | None


@dataclass(frozen=True)
class Change:
    """A row of history since the previous board worth the board's attention."""

    ref: str
    title: str
    at: datetime
    note: str | None
    # the action's due date now (for a due-date change: the date in force)
    due: date | None
    due_text: str | None
    # for a due-date change, the dates before and after it, as history recorded them
    due_was: str | None = None
    due_became: str | None = None


@dataclass(frozen=True)
class ChartPoint:
    label: str
    at: datetime
    red: int
    amber: int
    green: int
    unrated: int
    # finished by then: BRAG's Complete
    complete: int = 0


@dataclass
class PackData:
    plan_name: str
    board: BoardMeeting
    # the pack describes the plan as it was at this instant: now, or the meeting if sooner
    at: datetime
    cycle: escalation_service.Cycle
    workstreams: list[queries.WorkstreamCounts]
    flagged: list[ActionRow]
    moves: list[RagMove]
    signoffs: list[Change]
    due_changes: list[Change]
    for_escalation: list[escalation_service.ForEscalation]
    escalations: Sequence[Update]
    followups: Sequence[FollowUp]
    matrix: priority_service.Matrix
    chart: list[ChartPoint]
    tz: ZoneInfo
    workstream_names: dict[int, str] = field(default_factory=dict)
    # the flagged actions' latest highlight reports (or notes), by action id
    reports: dict[int, Highlight] = field(default_factory=dict)
    measures: list[Standing] = field(default_factory=list)
    # three- or five-point: the columns of its rating tables
    rag_scale: int = 3
    options: PackOptions | None = None
    # open actions past their due date, due within the due-soon window, and with no update for
    # the stale window, in ref order
    overdue: list[ActionRow] = field(default_factory=list)
    due_soon: list[ActionRow] = field(default_factory=list)
    stale: list[ActionRow] = field(default_factory=list)
    barriers: list[Barrier] = field(default_factory=list)
    # since when a lead's report counts for this cycle
    reporting_since: datetime | None = None
    reporting: list[OrganisationReporting] = field(default_factory=list)
    # workstream id -> the measures of impact that evidence its actions ("K3 Timeliness")
    evidence: dict[int, list[str]] = field(default_factory=dict)
    # the actions and measures about co-production and parent voice
    coproduction: list[ActionRow] = field(default_factory=list)
    coproduction_measures: list[Standing] = field(default_factory=list)
    # the first characters of the history's chain head: the pack witnesses the record
    record_head: str = ""


def gather(
    session: Session,
    plan: Plan,
    board: BoardMeeting,
    now: datetime,
    tz: ZoneInfo,
    options: PackOptions | None = None,
) -> PackData:
    options = options or PackOptions(tz=tz)
    at = min(now, board.starts_at)
    cycle = escalation_service.cycle_at(session, plan.id, at)
    timeline = escalation_service.rag_timeline(session, plan.id, at)
    workstreams = queries.rag_counts(session, plan.id)
    catalogue = _catalogue(session, plan.id)
    flagged = [a for a in catalogue.values() if a.rag in FLAGGED]
    _add_leads(session, plan.id, flagged)
    flagged.sort(key=lambda a: (FLAGGED.index(a.rag or "red"), _order(a, workstreams)))
    moves = [
        RagMove(a.ref, a.title, before, after)
        for a in catalogue.values()
        if (before := timeline.rag_at(a.id, cycle.previous)) != (after := timeline.rag_at(a.id, at))
    ]
    _, escalate = escalation_service.for_escalation(session, plan.id, at, timeline)
    today = at.astimezone(tz).date()
    open_actions = [a for a in catalogue.values() if not Status(a.status).is_closed]
    measures = kpi_service.standings(session, plan.id)
    names = {w.workstream_id: w.name for w in workstreams}
    reporting_since = checkin_due_at(board) if board.reporting else cycle.previous
    return PackData(
        rag_scale=plan.rag_scale,
        plan_name=plan.name,
        board=board,
        at=at,
        cycle=cycle,
        workstreams=workstreams,
        flagged=flagged,
        moves=moves,
        signoffs=_changes(session, plan.id, cycle.previous, at, "signoff"),
        due_changes=_due_changes(session, plan.id, cycle.previous, at),
        for_escalation=escalate,
        escalations=escalation_service.recorded(session, plan.id, cycle.previous, at),
        followups=_followups(session, plan.id, cycle.previous),
        matrix=priority_service.matrix(session, plan.id),
        chart=_chart(session, plan.id, at, tz, timeline, catalogue),
        tz=tz,
        workstream_names=names,
        reports=_reports(session, plan.id, at),
        measures=measures,
        options=options,
        overdue=[a for a in open_actions if is_overdue(a.due, a.status, today)],
        due_soon=[
            a
            for a in open_actions
            if a.due is not None and today <= a.due <= today + timedelta(options.due_soon_days)
        ],
        stale=[
            a
            for a in open_actions
            if (a.last_update_at or a.created_at) < at - timedelta(days=options.stale_days)
        ],
        barriers=_barriers(session, plan.id, cycle.previous, at),
        reporting_since=reporting_since,
        reporting=_reporting(session, plan.id, catalogue, reporting_since),
        evidence=_evidence(measures),
        coproduction=[
            a
            for a in catalogue.values()
            if CO_PRODUCTION.search(a.title) or CO_PRODUCTION.search(names.get(a.workstream_id, ""))
        ],
        record_head=chain.short_head(session, plan.id),
        coproduction_measures=[
            m
            for m in measures
            if CO_PRODUCTION.search(m.measure.name)
            or any(CO_PRODUCTION.search(w.name) for w in m.measure.workstreams)
        ],
    )


def _order(action: ActionRow, workstreams: list[queries.WorkstreamCounts]) -> int:
    """The action's workstream's place in the plan (the sort is stable: refs stay in order)."""
    return next(
        (i for i, w in enumerate(workstreams) if w.workstream_id == action.workstream_id), 0
    )


def _catalogue(session: Session, plan_id: int) -> dict[int, ActionRow]:
    """Every action's plain columns, in ref order: one statement, no ORM objects."""
    rows = session.execute(
        select(
            Action.id,
            Action.ref,
            Action.title,
            Action.workstream_id,
            Action.rag,
            Action.status,
            Action.due,
            Action.due_text,
            Action.last_note,
            Action.last_update_at,
            Action.created_at,
            Action.measure,
        )
        .where(Action.plan_id == plan_id)
        .order_by(Action.sort_key)
    ).all()
    return {r.id: ActionRow(**r._mapping) for r in rows}


def _add_leads(session: Session, plan_id: int, actions: list[ActionRow]) -> None:
    """The flagged actions' leads: one statement."""
    by_id = {a.id: a for a in actions}
    rows = session.execute(
        select(action_leads.c.action_id, Person.name, Person.organisation, Person.email)
        .join(Person, Person.id == action_leads.c.person_id)
        .join(Action, Action.id == action_leads.c.action_id)
        .where(Action.plan_id == plan_id, Action.rag.in_(FLAGGED))
        .order_by(Person.name)
    ).all()
    for action_id, name, given, email in rows:
        organisation = organisation_of(given, email)
        if action_id in by_id:
            by_id[action_id].leads.append(f"{name} ({organisation})" if organisation else name)


def _reports(session: Session, plan_id: int, at: datetime) -> dict[int, Highlight]:
    """The latest highlight report (up to `at`) of each red or amber action, and for one with
    none its latest note, each with who wrote it: two statements."""
    flagged = (Action.plan_id == plan_id, Action.rag.in_(FLAGGED))
    rows = session.execute(
        select(
            HighlightReport.action_id,
            HighlightReport.at,
            HighlightReport.no_change,
            HighlightReport.progress,
            HighlightReport.planned,
            HighlightReport.barriers,
            Person.name,
        )
        .join(Action, Action.id == HighlightReport.action_id)
        .outerjoin(Person, Person.id == HighlightReport.person_id)
        .where(*flagged, HighlightReport.at <= at)
        .order_by(HighlightReport.action_id, HighlightReport.at, HighlightReport.id)
    ).all()
    # in (at, id) order, so each action's last row is its latest report
    found = {r.action_id: Highlight(*r[1:]) for r in rows}
    notes = session.execute(
        select(Update.action_id, Update.at, Update.note, Person.name)
        .join(Action, Action.id == Update.action_id)
        .outerjoin(Person, Person.id == Update.person_id)
        .where(
            *flagged,
            Update.at <= at,
            Update.note.is_not(None),
            # the rows that make an action's latest note: not an edit or a board's decision
            Update.kind.in_([kind for kind in UpdateKind if kind.is_progress]),
            Update.action_id.not_in(list(found)) if found else true(),
        )
        .order_by(Update.action_id, Update.at, Update.id)
    ).all()
    for action_id, noted_at, note, by in notes:
        found[action_id] = Highlight(noted_at, False, note, None, None, by)
    return found


def _barriers(session: Session, plan_id: int, since: datetime, until: datetime) -> list[Barrier]:
    """The barriers named in each action's latest highlight report since the previous board:
    one statement."""
    rows = session.execute(
        select(
            HighlightReport.action_id,
            Action.ref,
            Action.title,
            HighlightReport.barriers,
            Person.name,
            HighlightReport.at,
            HighlightReport.escalate,
        )
        .join(Action, Action.id == HighlightReport.action_id)
        .outerjoin(Person, Person.id == HighlightReport.person_id)
        .where(
            HighlightReport.plan_id == plan_id,
            HighlightReport.at > since,
            HighlightReport.at <= until,
        )
        .order_by(HighlightReport.at, HighlightReport.id)
    ).all()
    latest = {r.action_id: r for r in rows}
    barriers = [
        Barrier(r.ref, r.title, r.barriers, r.name, r.at, r.escalate)
        for r in latest.values()
        if r.barriers
    ]
    return sorted(barriers, key=lambda b: (not b.escalate, ref_sort_key(b.ref)))


def _reporting(
    session: Session, plan_id: int, catalogue: dict[int, ActionRow], since: datetime
) -> list[OrganisationReporting]:
    """Each lead of an open action, by organisation: reported (every open action they lead
    updated since `since`) or not. One statement."""
    rows = session.execute(
        select(action_leads.c.action_id, Person.id, Person.name, Person.organisation, Person.email)
        .join(Person, Person.id == action_leads.c.person_id)
        .join(Action, Action.id == action_leads.c.action_id)
        .where(Action.plan_id == plan_id)
        .order_by(Person.name, Person.id)
    ).all()
    leads: dict[int, tuple[str, str, bool]] = {}
    for action_id, person_id, name, given, email in rows:
        action = catalogue[action_id]
        if Status(action.status).is_closed:
            continue
        done = action.last_update_at is not None and action.last_update_at >= since
        organisation = organisation_of(given, email) or "No organisation given"
        _, _, so_far = leads.get(person_id, (name, organisation, True))
        leads[person_id] = (name, organisation, so_far and done)
    by_organisation: dict[str, OrganisationReporting] = {}
    for name, organisation, reported in leads.values():
        entry = by_organisation.setdefault(
            organisation, OrganisationReporting(organisation, [], [])
        )
        (entry.reported if reported else entry.not_reported).append(name)
    return [by_organisation[o] for o in sorted(by_organisation)]


def _evidence(measures: list[Standing]) -> dict[int, list[str]]:
    evidence: dict[int, list[str]] = {}
    for standing in measures:
        for workstream in standing.measure.workstreams:
            evidence.setdefault(workstream.id, []).append(
                f"{standing.measure.short_id} {standing.measure.name}"
            )
    return evidence


def _changes(
    session: Session, plan_id: int, since: datetime, until: datetime, kind: str
) -> list[Change]:
    rows = session.execute(
        select(Action.ref, Action.title, Update.at, Update.note, Action.due, Action.due_text)
        .join(Action, Action.id == Update.action_id)
        .where(
            Action.plan_id == plan_id, Update.at > since, Update.at <= until, Update.kind == kind
        )
        .order_by(Update.at, Update.id)
    ).all()
    return [Change(*r) for r in rows]


def _due_changes(session: Session, plan_id: int, since: datetime, until: datetime) -> list[Change]:
    """Edits since the previous board that moved a due date, with the dates before and after
    (from the history writer's field changes)."""
    found = session.execute(
        select(Update, Action.ref, Action.title, Action.due, Action.due_text)
        .join(Action, Action.id == Update.action_id)
        .where(
            Action.plan_id == plan_id,
            Update.at > since,
            Update.at <= until,
            Update.kind == UpdateKind.EDIT,
        )
        .order_by(Update.at, Update.id)
    ).all()
    changes = []
    for update, ref, title, due, due_text in found:
        for moved in field_changes(update):
            if moved.field == "due":
                changes.append(
                    Change(ref, title, update.at, update.note, due, due_text, moved.old, moved.new)
                )
    return changes


def _followups(session: Session, plan_id: int, since: datetime) -> Sequence[FollowUp]:
    """Open follow-ups, and those closed since the previous board, with their answers: two
    statements however many there are (the relationship's own loader would add one per 500)."""
    wanted = (
        FollowUp.plan_id == plan_id,
        or_(FollowUp.closed_at.is_(None), FollowUp.closed_at > since),
    )
    followups = session.scalars(
        select(FollowUp)
        # the action's ref is shown, not its leads (loading them is a statement per 500)
        .options(lazyload(FollowUp.answers), joinedload(FollowUp.action).lazyload(Action.leads))
        .where(*wanted)
        .order_by(FollowUp.raised_at, FollowUp.id)
    ).all()
    answers: dict[int, list[Answer]] = {f.id: [] for f in followups}
    for answer in session.scalars(
        select(Answer)
        .join(FollowUp, FollowUp.id == Answer.followup_id)
        .where(*wanted)
        .order_by(Answer.at, Answer.id)
    ):
        answers[answer.followup_id].append(answer)
    for f in followups:
        set_committed_value(f, "answers", answers[f.id])
    return followups


def _chart(
    session: Session,
    plan_id: int,
    at: datetime,
    tz: ZoneInfo,
    timeline: escalation_service.RagTimeline,
    catalogue: dict[int, ActionRow],
) -> list[ChartPoint]:
    """RAG counts at each of the last CHART_POINTS board meetings before `at`, and at `at`:
    one statement for the meetings; the counts come from the timeline already read."""
    boards = list(
        session.execute(
            select(BoardMeeting.name, BoardMeeting.starts_at)
            .where(
                BoardMeeting.plan_id == plan_id,
                BoardMeeting.removed_at.is_(None),
                BoardMeeting.starts_at < at,
            )
            .order_by(BoardMeeting.starts_at.desc())
            .limit(CHART_POINTS)
        ).all()
    )
    # each bar named by its meeting, as the board knows it, and dated
    moments = [
        (f"{name}, {day_text(starts.astimezone(tz).date())}", starts)
        for name, starts in reversed(boards)
    ]
    moments.append((f"{day_text(at.astimezone(tz).date())} (this pack)", at))
    points = []
    for label, moment in moments:
        tally: dict[Rating, int] = {"red": 0, "amber": 0, "green": 0, COMPLETE: 0, None: 0}
        for action_id, action in catalogue.items():
            if action.created_at > moment:
                continue
            rating = timeline.rating_at(action_id, moment)
            if rating not in (COMPLETE, None):  # a five-point rating counts with the nearer one
                rating = Rag(rating).three_point
            tally[rating if rating in tally else None] += 1
        points.append(
            ChartPoint(
                label,
                moment,
                tally["red"],
                tally["amber"],
                tally["green"],
                tally[None],
                complete=tally[COMPLETE],
            )
        )
    return points
