"""Loading a parsed plan file into the store: create by ref, update by ref, never delete.

A RAG or status change is recorded as an update from "import"; other changed fields (title,
due date, leads…) as an "edit" update naming them, so the history shows every change.

What a tracker says in words is recorded too, once: its progress-update column and a status
written as a sentence become a note from the import, and a sign-off sentence makes the status
change a sign-off. A cell the reader could not read leaves that field as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.domain import FIVE_POINT_RAGS, Rag, Status, Surface, UpdateKind, UserError, ref_sort_key
from bot.plans.leads import is_named_only
from bot.plans.read import ParsedPlan, PlanRow, RowProblem
from bot.services import history, priorities
from bot.services.context import Ctx
from bot.services.history import ActionChange, Author
from bot.services.people import resolve_leads, unresolved_people
from bot.services.plans import DEFAULT_PLAN_NAME, get_or_create_workstream
from bot.store.models import Action, Person, Plan, Priority, Update


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    not_in_file: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    unlinked_leads: list[str] = field(default_factory=list)
    problems_left_off: int = 0  # problems beyond those listed in `problems`
    notes_recorded: list[str] = field(default_factory=list)  # refs given a note from the file
    # Leads named only by name that matched no one already known: new people, by name alone.
    unmatched_leads: list[str] = field(default_factory=list)
    # Five-point ratings the store could not keep and stored as the nearer three-point one.
    ratings_narrowed: list[str] = field(default_factory=list)


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
    report = ImportReport(
        problems=list(parsed.problems), problems_left_off=parsed.problems_left_off
    )
    report.unmatched_leads = _unmatched_names(ctx, parsed.rows)
    if parsed.rag_scale == 5:
        # A five-point tracker makes a five-point plan (never back: a later file with no
        # in-between rating that term is the same scale).
        plan.rag_scale = 5
    rows = _narrow_ratings(parsed.rows, report, plan.rag_scale)
    noted = _notes_already_imported(ctx, plan)
    note = f"Imported from {source_name}"
    for row in rows:
        action = existing.get(row.ref)
        if action is None:
            action = _create(ctx, plan, row, note)
            report.created.append(row.ref)
            if _record_notes(ctx, action, row, noted):
                report.notes_recorded.append(row.ref)
            _map_priorities(ctx, action, row, note)
            continue
        changes = _update(ctx, action, row, note)
        if _record_notes(ctx, action, row, noted):
            report.notes_recorded.append(row.ref)
            changes.append("note")
        if _map_priorities(ctx, action, row, note):
            changes.append("priorities")
        if changes:
            report.changed[row.ref] = changes
        else:
            report.unchanged += 1
    in_file = {row.ref for row in parsed.rows}
    report.not_in_file = sorted(set(existing) - in_file, key=ref_sort_key)
    ctx.session.flush()
    report.unlinked_leads = [p.email or p.name for p in unresolved_people(ctx.session, ctx.plan.id)]
    return report


IMPORT = Author(source=Surface.IMPORT)


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
    """Apply a row to an existing action. Blank RAG, status or leads cells, and cells the reader
    could not read, leave them as they are: a tracker with an empty cell is not taken to mean
    "clear the rating".

    Two history rows at most: an edit (title, measure, due, workstream, leads, with their old
    values) and an update (RAG or status, which counts as progress)."""
    unread = set(row.unread)
    workstream, _ = get_or_create_workstream(ctx.session, ctx.plan, row.workstream)
    leads = resolve_leads(ctx.session, row.leads) if row.leads else None
    edit = ActionChange(
        title=row.title,
        measure=None if "measure" in unread else row.measure or "",
        due=None if "due" in unread else (row.due, row.due_text),
        workstream=None if "workstream" in unread else workstream,
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
    # A move to signed off that the tracker states as a sign-off is recorded as one.
    signs_off = row.status is Status.SIGNED_OFF and action.status != Status.SIGNED_OFF
    moved = history.write_if_changed(
        ctx.session,
        action,
        UpdateKind.SIGNOFF if signs_off else UpdateKind.UPDATE,
        ActionChange(rag=row.rag, status=row.status),
        note=note,
        author=IMPORT,
        at=ctx.now,
    )
    return edits + ([c.field for c in history.field_changes(moved)] if moved else [])


def _map_priorities(ctx: Ctx, action: Action, row: PlanRow, note: str) -> bool:
    """The tracker's "Strategic priority" column: the action serves the priorities it names (a
    name the plan does not have yet becomes a priority). A blank cell leaves the mapping as it
    was, like other blank cells; a change is recorded in history, old and new."""
    if not row.priorities:
        return False
    before = priorities.mapped(ctx.session, [action.id])[action.id]
    after = priorities.map_priorities(ctx.session, ctx.plan.id, action, row.priorities, now=ctx.now)
    if [p.id for p in before] == [p.id for p in after]:
        return False

    def names(chosen: list[Priority]) -> str:
        return ", ".join(f"{p.key} {p.name}" for p in chosen) or "none"

    history.write(
        ctx.session,
        action,
        UpdateKind.MAP,
        ActionChange(),
        note=f"{note}: strategic priorities {names(after)} (were: {names(before)})",
        author=IMPORT,
        at=ctx.now,
    )
    return True


def _notes_already_imported(ctx: Ctx, plan: Plan) -> dict[int, list[str]]:
    """The notes imports have recorded, by action, so an unchanged file adds none again."""
    found = ctx.session.execute(
        select(Update.action_id, Update.note)
        .join(Action, Action.id == Update.action_id)
        .where(
            Action.plan_id == plan.id,
            Update.source == Surface.IMPORT,
            Update.kind == UpdateKind.NOTE,
        )
    )
    noted: dict[int, list[str]] = {}
    for action_id, note in found:
        if note:
            noted.setdefault(action_id, []).append(note)
    return noted


def _record_notes(ctx: Ctx, action: Action, row: PlanRow, noted: dict[int, list[str]]) -> bool:
    """Records what the row says in words (the status sentence, then the progress update) as the
    action's latest note, once: only when some part of it is in no note an import recorded for
    the action before, and it is not already the latest note (an export read back)."""
    parts = list(dict.fromkeys(text for text in (row.status_note, row.note) if text))
    before = noted.get(action.id, [])
    text = "\n".join(parts)
    if not parts or text == action.last_note:
        return False
    if all(any(part in old for old in before) for part in parts):
        return False
    history.write(
        ctx.session, action, UpdateKind.NOTE, ActionChange(), note=text, author=IMPORT, at=ctx.now
    )
    noted.setdefault(action.id, []).append(text)
    return True


def _unmatched_names(ctx: Ctx, rows: list[PlanRow]) -> list[str]:
    """Leads named by name alone (after the reader paired names with e-mails in the file) that
    match nobody the bot already knows: they become new people known only by name."""
    names = {lead for row in rows for lead in row.leads if is_named_only(lead)}
    if not names:
        return []
    known = {
        name.lower()
        for name in ctx.session.scalars(
            select(Person.name).where(func.lower(Person.name).in_([n.lower() for n in names]))
        )
    }
    return sorted(name for name in names if name.lower() not in known)


# Whether actions may hold the five-point ratings: they do in a five-point plan (Plan.rag_scale),
# whose summaries, digests and exports count five; a three-point plan still narrows them.
STORE_FIVE_POINT = True


def _narrow_ratings(rows: list[PlanRow], report: ImportReport, scale: int) -> list[PlanRow]:
    """In a three-point plan, the rows with the nearer three-point rating (red/amber → red,
    amber/green → amber: the cautious side), said so."""
    narrowed: list[PlanRow] = []
    for row in rows:
        if row.rag in FIVE_POINT_RAGS and not (STORE_FIVE_POINT and scale == 5):
            narrower = Rag.RED if row.rag == Rag.RED_AMBER else Rag.AMBER
            report.ratings_narrowed.append(f"{row.ref} ({row.rag.value} → {narrower.value})")
            row = row.model_copy(update={"rag": narrower})
        narrowed.append(row)
    return narrowed
