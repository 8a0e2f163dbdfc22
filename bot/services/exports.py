"""The plan as export rows: current RAG and status, latest note, open follow-ups."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.plans.write import ExportRow
from bot.services.followups import label
from bot.services.people import CONSOLE
from bot.store.models import Action, FollowUp, Person, Plan


def export_rows(session: Session, plan: Plan, tz: ZoneInfo) -> list[ExportRow]:
    """Times in the partnership's timezone: a spreadsheet cell has none of its own."""
    open_followups: dict[int, list[str]] = {}
    for f in session.scalars(
        select(FollowUp)
        .where(
            FollowUp.plan_id == plan.id,
            FollowUp.closed_at.is_(None),
            FollowUp.action_id.is_not(None),
        )
        .order_by(FollowUp.id)
    ):
        assert f.action_id is not None
        open_followups.setdefault(f.action_id, []).append(f"{label(f)}: {f.question}")
    actions = session.scalars(
        select(Action).where(Action.plan_id == plan.id).order_by(Action.sort_key)
    )
    return [
        ExportRow(
            ref=a.ref,
            title=a.title,
            workstream=a.workstream.name,
            workstream_position=a.workstream.position,
            leads=[_lead_cell(p) for p in a.leads],
            due=a.due,
            due_text=a.due_text,
            status=a.status,
            rag=a.rag,
            measure=a.measure,
            latest_note=a.last_note,
            latest_update_at=a.last_update_at.astimezone(tz) if a.last_update_at else None,
            open_followups=open_followups.get(a.id, []),
        )
        for a in actions
    ]


def _lead_cell(person: Person) -> str:
    """How a lead is written in an export, so that it imports back as the same person: a chat
    user id of theirs, else their e-mail, else their name."""
    handles = [h for platform, h in person.handles.items() if platform != CONSOLE]
    return next(iter(handles), None) or person.email or person.name
