"""Loading a parsed plan file into the store: create by ref, update by ref, never delete.

A RAG or status change is recorded as an update from "import"; other changed fields (title,
due date, leads…) as an "edit" update naming them, so the history shows every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from bot.domain import Status, ref_sort_key
from bot.plans.read import ParsedPlan, PlanRow, RowProblem
from bot.services.context import Ctx
from bot.services.people import resolve_leads, unresolved_people
from bot.services.plans import get_or_create_workstream
from bot.store.models import Action, Plan, Update


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    not_in_file: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    unlinked_leads: list[str] = field(default_factory=list)


def apply_plan(ctx: Ctx, parsed: ParsedPlan, source_name: str) -> ImportReport:
    plan = ctx.plan
    if parsed.name and plan.name != parsed.name:
        plan.name = parsed.name
    existing = {
        a.ref: a for a in ctx.session.scalars(select(Action).where(Action.plan_id == plan.id))
    }
    report = ImportReport(problems=list(parsed.problems))
    note = f"Imported from {source_name}"
    for row in parsed.rows:
        action = existing.get(row.ref)
        if action is None:
            _create(ctx, plan, row, note)
            report.created.append(row.ref)
            continue
        changes = _update(ctx, action, row, note)
        if changes:
            report.changed[row.ref] = changes
        else:
            report.unchanged += 1
    in_file = {row.ref for row in parsed.rows}
    report.not_in_file = sorted(set(existing) - in_file, key=ref_sort_key)
    ctx.session.flush()
    report.unlinked_leads = [p.email or p.name for p in unresolved_people(ctx.session)]
    return report


def _create(ctx: Ctx, plan: Plan, row: PlanRow, note: str) -> Action:
    workstream, _ = get_or_create_workstream(ctx.session, plan, row.workstream)
    status = row.status or Status.NOT_STARTED
    action = Action(
        plan_id=plan.id,
        workstream_id=workstream.id,
        ref=row.ref,
        sort_key=ref_sort_key(row.ref),
        title=row.title,
        measure=row.measure,
        due=row.due,
        due_text=row.due_text,
        rag=row.rag.value if row.rag else None,
        status=status.value,
        created_at=ctx.now,
        leads=resolve_leads(ctx.session, row.leads),
    )
    ctx.session.add(action)
    ctx.session.flush()
    ctx.session.add(
        _update_row(ctx, action, "created", None, action.rag, None, action.status, note)
    )
    return action


def _update(ctx: Ctx, action: Action, row: PlanRow, note: str) -> list[str]:
    """Apply a row to an existing action. Blank RAG, status or leads cells leave them as they
    are: a tracker with an empty cell is not taken to mean "clear the rating"."""
    edits: list[str] = []
    workstream, _ = get_or_create_workstream(ctx.session, ctx.plan, row.workstream)
    fields: list[tuple[str, object, object]] = [
        ("title", action.title, row.title),
        ("measure", action.measure, row.measure),
        ("due", _due_label(action.due, action.due_text), _due_label(row.due, row.due_text)),
        ("workstream", action.workstream_id, workstream.id),
    ]
    for name, before, after in fields:
        if before != after:
            edits.append(name)
    if "title" in edits:
        action.title = row.title
    if "measure" in edits:
        action.measure = row.measure
    if "due" in edits:
        action.due, action.due_text = row.due, row.due_text
    if "workstream" in edits:
        action.workstream_id = workstream.id
    if row.leads:
        leads = resolve_leads(ctx.session, row.leads)
        if {p.id for p in leads} != {p.id for p in action.leads}:
            action.leads = leads
            edits.append("leads")
    if edits:
        ctx.session.add(
            _update_row(
                ctx,
                action,
                "edit",
                action.rag,
                action.rag,
                action.status,
                action.status,
                f"{note}: {', '.join(edits)} changed",
            )
        )

    rag = row.rag.value if row.rag else action.rag
    status = row.status.value if row.status else action.status
    moved = []
    if rag != action.rag:
        moved.append("rag")
    if status != action.status:
        moved.append("status")
    if moved:
        ctx.session.add(
            _update_row(ctx, action, "update", action.rag, rag, action.status, status, note)
        )
        action.rag, action.status = rag, status
        action.last_update_at = ctx.now
        action.last_note = note
    return edits + moved


def _due_label(due: date | None, text: str | None) -> str:
    return f"{due.isoformat() if due else ''}|{text or ''}"


def _update_row(
    ctx: Ctx,
    action: Action,
    kind: str,
    rag_from: str | None,
    rag_to: str | None,
    status_from: str | None,
    status_to: str | None,
    note: str,
) -> Update:
    return Update(
        action_id=action.id,
        at=ctx.now,
        by="import",
        source="import",
        kind=kind,
        rag_from=rag_from,
        rag_to=rag_to,
        status_from=status_from,
        status_to=status_to,
        note=note,
    )
