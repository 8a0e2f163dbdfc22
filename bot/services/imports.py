"""Loading a parsed plan file into the store: create by ref, update by ref, never delete.

A RAG or status change is recorded as an update from "import"; other changed fields (title,
due date, leads…) as an "edit" update naming them, so the history shows every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from bot.domain import Status, UpdateKind, UserError, ref_sort_key
from bot.plans.read import ParsedPlan, PlanRow, RowProblem
from bot.services import history
from bot.services.context import Ctx
from bot.services.history import ActionChange, Author
from bot.services.people import resolve_leads, unresolved_people
from bot.services.plans import DEFAULT_PLAN_NAME, get_or_create_workstream
from bot.store.models import Action, Plan


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    not_in_file: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    unlinked_leads: list[str] = field(default_factory=list)


class OtherPlan(UserError):
    """The file is another partnership's plan: loading it would overwrite this one's actions."""


def apply_plan(ctx: Ctx, parsed: ParsedPlan, source_name: str) -> ImportReport:
    plan = ctx.plan
    existing = {
        a.ref: a for a in ctx.session.scalars(select(Action).where(Action.plan_id == plan.id))
    }
    if parsed.name and plan.name != parsed.name:
        if existing or plan.name != DEFAULT_PLAN_NAME:
            raise OtherPlan(
                f"{source_name} is the plan “{parsed.name}”, but the plan here is "
                f"“{plan.name}” ({plan.slug}). Nothing was loaded. To load it into that plan, "
                f"give --plan {plan.slug} and rename it first (`wsoa plan rename {plan.slug} "
                "NAME`); to keep both, `wsoa plan create SLUG NAME` and import with --plan SLUG."
            )
        # An empty plan made on first use takes the name of the first file loaded into it.
        plan.name = parsed.name
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


IMPORT = Author(by="import", source="import")


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
        rag=row.rag,
        status=status,
        created_at=ctx.now,
    )
    ctx.session.add(action)
    ctx.session.flush()
    change = ActionChange(
        rag=row.rag,
        status=status,
        title=row.title,
        measure=row.measure or "",
        due=(row.due, row.due_text),
        workstream=workstream,
        leads=resolve_leads(ctx.session, row.leads),
    )
    history.write(
        ctx.session, action, UpdateKind.CREATED, change, note=note, author=IMPORT, at=ctx.now
    )
    return action


def _update(ctx: Ctx, action: Action, row: PlanRow, note: str) -> list[str]:
    """Apply a row to an existing action. Blank RAG, status or leads cells leave them as they
    are: a tracker with an empty cell is not taken to mean "clear the rating".

    Two history rows at most: an edit (title, measure, due, workstream, leads, with their old
    values) and an update (RAG or status, which counts as progress)."""
    workstream, _ = get_or_create_workstream(ctx.session, ctx.plan, row.workstream)
    leads = resolve_leads(ctx.session, row.leads) if row.leads else None
    edit = ActionChange(
        title=row.title,
        measure=row.measure or "",
        due=(row.due, row.due_text),
        workstream=workstream,
        leads=leads,
    )
    written = history.write_if_changed(
        ctx.session,
        action,
        UpdateKind.EDIT,
        edit,
        note=lambda changes: f"{note}: {', '.join(c.field for c in changes)} changed",
        author=IMPORT,
        at=ctx.now,
    )
    edits = [c.field for c in history.field_changes(written)] if written else []
    moved = history.write_if_changed(
        ctx.session,
        action,
        UpdateKind.UPDATE,
        ActionChange(rag=row.rag, status=row.status),
        note=note,
        author=IMPORT,
        at=ctx.now,
    )
    return edits + ([c.field for c in history.field_changes(moved)] if moved else [])
