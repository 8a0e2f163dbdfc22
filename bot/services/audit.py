"""The whole trail for an inspector: every change to every action of a plan, one row per changed
field, from the one history table, with the redactions of follow-up answers, the changes to the
measures of impact and every figure recorded for them among them. People by name and e-mail,
never a platform's raw id."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload, lazyload

from bot.domain import Surface
from bot.impact import period_text, value_text
from bot.services.followups import about
from bot.services.history import field_changes
from bot.store.models import (
    Action,
    Answer,
    AnswerRedaction,
    BoardEvent,
    BoardMeeting,
    BoardPackSnapshot,
    ChainLink,
    FollowUp,
    HighlightReport,
    Measure,
    MeasureActual,
    MeasureEdit,
    Person,
    Plan,
    Update,
)

AUDIT_COLUMNS = (
    "When",
    "Who",
    "Action",
    "Kind",
    "Field",
    "Old",
    "New",
    "Note",
    "Source",
    "Record",
    "Chain hash",
)
# Rows read from the database at a time: a plan with 200,000 updates is streamed, not loaded.
BATCH = 2000


@dataclass(frozen=True)
class AuditRow:
    when: datetime  # in the partnership's timezone
    who: str
    action: str  # the ref
    kind: str
    field: str
    old: str
    new: str
    note: str
    source: str
    # the history row it comes from ("update #123") and that row's link in the hash chain
    record: str = ""
    hash: str = ""

    def cells(self) -> list[str | datetime]:
        return [
            self.when,
            self.who,
            self.action,
            self.kind,
            self.field,
            self.old,
            self.new,
            self.note,
            self.source,
            self.record,
            self.hash,
        ]


def audit_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """Oldest first. A change of several fields gives a row for each (the note on each, so a
    filtered sheet still reads); a note alone gives one row with no field. A redacted answer
    gives a `redaction` row on what its follow-up is about, naming the answer, its reason as the
    note. A measure's rows name it (`K1`) where an action's name the ref: a change to its
    definition is a `measure` row, each figure a `figure` row for its month, with the figure it
    corrected as the old value."""
    return heapq.merge(
        _update_rows(session, plan, tz),
        _highlight_rows(session, plan, tz),
        _followup_rows(session, plan, tz),
        _answer_rows(session, plan, tz),
        _answer_redaction_rows(session, plan, tz),
        _measure_edit_rows(session, plan, tz),
        _figure_rows(session, plan, tz),
        _board_rows(session, plan, tz),
        key=_when,
    )


def _when(row: AuditRow) -> datetime:
    return row.when


def _update_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    stmt = (
        select(Update, Action.ref, Person.id, Person.name, Person.email, ChainLink.hash)
        .join(Action, Action.id == Update.action_id)
        .outerjoin(Person, Person.id == Update.person_id)
        .outerjoin(ChainLink, _link("updates", Update.id))
        .where(Action.plan_id == plan.id)
        .order_by(Update.at, Update.id)
        .execution_options(yield_per=BATCH)
    )
    for update, ref, person_id, name, email, link in session.execute(stmt):
        when = update.at.astimezone(tz)
        who = _who(update.source, person_id, name, email)
        changes = [(c.field, c.old, c.new) for c in field_changes(update)]
        if not update.changes:  # rows from before fields were recorded: the two columns
            if update.rag_from != update.rag_to:
                changes.append(("rag", update.rag_from, update.rag_to))
            if update.status_from != update.status_to:
                changes.append(("status", update.status_from, update.status_to))
        for field, old, new in changes or [("", None, None)]:
            yield AuditRow(
                when=when,
                who=who,
                action=ref,
                kind=str(update.kind),
                field=field,
                old=old or "",
                new=new or "",
                note=update.note or "",
                source=update.source,
                record=f"update #{update.id}",
                hash=link or "",
            )


def _highlight_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """What a highlight report holds beside its update's note (the progress): what is planned,
    the barriers, and whether the lead asks for escalation."""
    stmt = (
        select(HighlightReport, Action.ref, Person.id, Person.name, Person.email, ChainLink.hash)
        .join(Action, Action.id == HighlightReport.action_id)
        .outerjoin(Person, Person.id == HighlightReport.person_id)
        .outerjoin(ChainLink, _link("highlight_reports", HighlightReport.id))
        .where(HighlightReport.plan_id == plan.id)
        .order_by(HighlightReport.at, HighlightReport.id)
        .execution_options(yield_per=BATCH)
    )
    for report, ref, person_id, name, email, link in session.execute(stmt):
        parts = [
            (part, text)
            for part, text in (
                ("planned", report.planned),
                ("barriers", report.barriers),
                ("escalate", "yes" if report.escalate else None),
            )
            if text
        ]
        for part, text in parts or [("no change" if report.no_change else "report", "")]:
            yield AuditRow(
                when=report.at.astimezone(tz),
                who=_who(Surface.UNKNOWN, person_id, name, email),
                action=ref,
                kind="highlight report",
                field=part,
                old="",
                new=text,
                note="",
                source="",
                record=f"highlight report #{report.id}",
                hash=link or "",
            )


def _followup_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """Each follow-up question raised, and each closed. A plan has a few hundred: read whole."""
    raised_by, closed_by = aliased(Person), aliased(Person)
    found = session.execute(
        select(
            FollowUp,
            raised_by.id,
            raised_by.name,
            raised_by.email,
            closed_by.id,
            closed_by.name,
            closed_by.email,
        )
        # what it is about is shown, not its action's leads or its answers (read below)
        .options(joinedload(FollowUp.action).lazyload(Action.leads), lazyload(FollowUp.answers))
        .outerjoin(raised_by, raised_by.id == FollowUp.raised_by_person_id)
        .outerjoin(closed_by, closed_by.id == FollowUp.closed_by_person_id)
        .where(FollowUp.plan_id == plan.id)
    ).all()
    rows = []
    for followup, raiser_id, raiser, raiser_email, closer_id, closer, closer_email in found:
        label = f"FU-{followup.id}"
        rows.append(
            AuditRow(
                when=followup.raised_at.astimezone(tz),
                who=_who(followup.source, raiser_id, raiser, raiser_email),
                action=about(followup),
                kind="follow-up",
                field="raised",
                old="",
                new=followup.question,
                note="",
                source=followup.source,
                record=label,
            )
        )
        if followup.closed_at is not None:
            rows.append(
                AuditRow(
                    when=followup.closed_at.astimezone(tz),
                    who=_who(Surface.UNKNOWN, closer_id, closer, closer_email),
                    action=about(followup),
                    kind="follow-up",
                    field="closed",
                    old="open",
                    new="closed",
                    note="",
                    source="",
                    record=label,
                )
            )
    yield from sorted(rows, key=_when)


def _answer_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """Each answer, named as people name it (FU-12/2: FU-12's second answer)."""
    found = session.execute(
        select(Answer, FollowUp, Person.id, Person.name, Person.email, ChainLink.hash)
        .options(
            contains_eager(Answer.followup).joinedload(FollowUp.action).lazyload(Action.leads),
            lazyload(Answer.followup, FollowUp.answers),
        )
        .join(FollowUp, FollowUp.id == Answer.followup_id)
        .outerjoin(Person, Person.id == Answer.person_id)
        .outerjoin(ChainLink, _link("answers", Answer.id))
        .where(FollowUp.plan_id == plan.id)
        .order_by(Answer.followup_id, Answer.at, Answer.id)
    ).all()
    rows = []
    number: dict[int, int] = {}
    for answer, followup, person_id, name, email, link in found:
        number[followup.id] = number.get(followup.id, 0) + 1
        rows.append(
            AuditRow(
                when=answer.at.astimezone(tz),
                who=_who(answer.source, person_id, name, email),
                action=about(followup),
                kind="answer",
                field=f"FU-{followup.id}/{number[followup.id]}",
                old="",
                new=answer.text or "[redacted]",
                note="",
                source=answer.source,
                record=f"answer #{answer.id}",
                hash=link or "",
            )
        )
    yield from sorted(rows, key=_when)


def _board_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    """Each board meeting's own history (added, moved, removed, its settings, a kept pack
    rewritten after a redaction, SHA-256 before and after), and every board pack kept."""
    found = session.execute(
        select(BoardEvent, BoardMeeting.name, Person.id, Person.name, Person.email)
        .join(BoardMeeting, BoardMeeting.id == BoardEvent.board_id)
        .outerjoin(Person, Person.id == BoardEvent.person_id)
        .where(BoardEvent.plan_id == plan.id)
    ).all()
    rows = []
    for event, meeting, person_id, name, email in found:
        rows.append(
            AuditRow(
                when=event.at.astimezone(tz),
                who=_who(event.source, person_id, name, email)
                if person_id is not None or event.source is not Surface.UNKNOWN
                else "not recorded",
                action=f"B-{event.board_id} {meeting}",
                kind="board",
                field=event.event,
                old=event.old or "",
                new=event.new or "",
                note="",
                source=event.source,
                record=f"B-{event.board_id}",
            )
        )
    packs = session.execute(
        select(
            BoardPackSnapshot.id,
            BoardPackSnapshot.board_id,
            BoardPackSnapshot.created_at,
            BoardPackSnapshot.source,
            BoardPackSnapshot.filename,
            BoardPackSnapshot.sha256,
            Person.id,
            Person.name,
            Person.email,
        )
        .outerjoin(Person, Person.id == BoardPackSnapshot.created_by_person_id)
        .where(BoardPackSnapshot.plan_id == plan.id)
    ).all()
    for (
        pack_id,
        board_id,
        created_at,
        source,
        filename,
        sha256,
        maker_id,
        maker,
        maker_email,
    ) in packs:
        rows.append(
            AuditRow(
                when=created_at.astimezone(tz),
                who=_who(source, maker_id, maker, maker_email),
                action=f"B-{board_id}",
                kind="board pack",
                field="kept",
                old="",
                new=f"{filename}, SHA-256 {sha256}",
                note="",
                source=source,
                record=f"board pack #{pack_id}",
            )
        )
    yield from sorted(rows, key=_when)


def _answer_redaction_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    stmt = (
        select(AnswerRedaction, FollowUp, Person.id, Person.name, Person.email, ChainLink.hash)
        .join(Answer, Answer.id == AnswerRedaction.answer_id)
        .join(FollowUp, FollowUp.id == Answer.followup_id)
        .outerjoin(Person, Person.id == AnswerRedaction.person_id)
        .outerjoin(ChainLink, _link("answer_redactions", AnswerRedaction.id))
        .where(AnswerRedaction.plan_id == plan.id)
        .order_by(AnswerRedaction.at, AnswerRedaction.id)
    )
    for redaction, followup, person_id, name, email, link in session.execute(stmt):
        yield AuditRow(
            when=redaction.at.astimezone(tz),
            who=_who(redaction.source, person_id, name, email),
            action=about(followup),
            kind="redaction",
            field="answer",
            old="",
            new=redaction.label,
            note=redaction.reason or "",
            source=redaction.source,
            record=f"answer redaction #{redaction.id}",
            hash=link or "",
        )


def _measure_edit_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    # A plan's measures change a few times a year: read whole.
    edits = session.execute(
        select(MeasureEdit, Measure.short_id, Person.id, Person.name, Person.email, ChainLink.hash)
        .join(Measure, Measure.id == MeasureEdit.measure_id)
        .outerjoin(Person, Person.id == MeasureEdit.person_id)
        .outerjoin(ChainLink, _link("measure_edits", MeasureEdit.id))
        .where(Measure.plan_id == plan.id)
        .order_by(MeasureEdit.at, MeasureEdit.id)
    ).all()
    for edit, short_id, person_id, name, email, link in edits:
        yield AuditRow(
            when=edit.at.astimezone(tz),
            who=_who(edit.source, person_id, name, email),
            action=short_id,
            kind="measure",
            field=edit.field,
            old=edit.old or "",
            new=edit.new or "",
            note="",
            source=edit.source,
            record=f"measure change #{edit.id}",
            hash=link or "",
        )


def _figure_rows(session: Session, plan: Plan, tz: ZoneInfo) -> Iterator[AuditRow]:
    stmt = (
        select(
            MeasureActual,
            Measure.short_id,
            Measure.unit,
            Person.id,
            Person.name,
            Person.email,
            ChainLink.hash,
        )
        .join(Measure, Measure.id == MeasureActual.measure_id)
        .outerjoin(Person, Person.id == MeasureActual.person_id)
        .outerjoin(ChainLink, _link("measure_actuals", MeasureActual.id))
        .where(Measure.plan_id == plan.id)
        .order_by(MeasureActual.recorded_at, MeasureActual.id)
        .execution_options(yield_per=BATCH)
    )
    figures: dict[tuple[int, date], str] = {}  # the month's figure so far: what a row corrects
    for actual, short_id, unit, person, name, email, link in session.execute(stmt):
        value = value_text(actual.value, unit)
        month = (actual.measure_id, actual.period)
        yield AuditRow(
            when=actual.recorded_at.astimezone(tz),
            who=_who(actual.source, person, name, email),
            action=short_id,
            kind="figure",
            field=period_text(actual.period),
            old=figures.get(month, ""),
            new=value,
            note=actual.note or "",
            source=actual.source,
            record=f"figure #{actual.id}",
            hash=link or "",
        )
        figures[month] = value


def _link(table: str, row_id: Any) -> Any:
    """The join to a history row's link in the hash chain (bot/store/chain.py)."""
    return and_(ChainLink.source_table == table, ChainLink.row_id == row_id)


def _who(source: Surface, person_id: int | None, name: str | None, email: str | None) -> str:
    if person_id is not None:
        if name and email:
            return f"{name} <{email}>"
        return name or email or f"person {person_id}"
    return source.label
