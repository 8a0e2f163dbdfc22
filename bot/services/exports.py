"""The plan as export rows: current RAG and status, latest note, open follow-ups."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.plans.write import ExportRow
from bot.services.followups import label
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
    """How a lead is written in an export: as people read it, never a chat platform's user id,
    and so that it imports back as the same person: `Name <e-mail>`, else the name (which the
    import finds among the plan's people)."""
    if person.email and person.name and person.name.lower() != person.email:
        return f"{person.name} <{person.email}>"
    return person.email or person.name
