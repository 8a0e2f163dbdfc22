"""Loading a parsed plan file into the store: create by ref, update by ref, never delete.

A RAG or status change is recorded as an update from "import"; other changed fields (title,
due date, leads…) as an "edit" update naming them, so the history shows every change.

What a tracker says in words is recorded too, once: its progress-update column and a status
written as a sentence become a note from the import, and a sign-off sentence makes the status
change a sign-off. A cell the reader could not read leaves that field as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from bot.domain import FIVE_POINT_RAGS, Rag, Status, ref_sort_key
from bot.plans.leads import is_named_only
from bot.plans.read import ParsedPlan, PlanRow, RowProblem
from bot.services.context import Ctx
from bot.services.people import resolve_leads, unresolved_people
from bot.services.plans import get_or_create_workstream
from bot.store.models import Action, Person, Plan, Update


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


def apply_plan(ctx: Ctx, parsed: ParsedPlan, source_name: str) -> ImportReport:
    plan = ctx.plan
    if parsed.name and plan.name != parsed.name:
        plan.name = parsed.name
    existing = {
        a.ref: a for a in ctx.session.scalars(select(Action).where(Action.plan_id == plan.id))
    }
    report = ImportReport(
        problems=list(parsed.problems), problems_left_off=parsed.problems_left_off
    )
    report.unmatched_leads = _unmatched_names(ctx, parsed.rows)
    rows = _narrow_ratings(parsed.rows, report)
    noted = _notes_already_imported(ctx, plan)
    note = f"Imported from {source_name}"
    for row in rows:
        action = existing.get(row.ref)
        if action is None:
            action = _create(ctx, plan, row, note)
            report.created.append(row.ref)
            if _record_notes(ctx, action, row, noted):
                report.notes_recorded.append(row.ref)
            continue
        changes = _update(ctx, action, row, note)
        if _record_notes(ctx, action, row, noted):
            report.notes_recorded.append(row.ref)
            changes.append("note")
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
        if before != after and name not in row.unread:
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
        kind = _kind_of_status_change(row, status, action.status)
        ctx.session.add(
            _update_row(ctx, action, kind, action.rag, rag, action.status, status, note)
        )
        action.rag, action.status = rag, status
        action.last_update_at = ctx.now
        action.last_note = note
    return edits + moved


def _kind_of_status_change(row: PlanRow, status: str, before: str) -> str:
    """A move to signed off that the tracker states as a sign-off is recorded as one."""
    signed_off = status == Status.SIGNED_OFF.value and before != status
    return "signoff" if signed_off and row.status == Status.SIGNED_OFF else "update"


def _notes_already_imported(ctx: Ctx, plan: Plan) -> dict[int, list[str]]:
    """The notes imports have recorded, by action, so an unchanged file adds none again."""
    found = ctx.session.execute(
        select(Update.action_id, Update.note)
        .join(Action, Action.id == Update.action_id)
        .where(Action.plan_id == plan.id, Update.source == "import", Update.kind == "note")
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
    ctx.session.add(
        _update_row(ctx, action, "note", action.rag, action.rag, action.status, action.status, text)
    )
    noted.setdefault(action.id, []).append(text)
    action.last_note = text
    action.last_update_at = ctx.now
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


# Whether actions may hold the five-point ratings. Not yet: the summary's and digest's counts
# (store.queries.WorkstreamCounts) have three rating columns and fail on any other, and the
# rating column holds 10 characters ("amber/green" is 11). Until those change, a five-point
# tracker's ratings are stored as the nearer three-point one and the report says so.
STORE_FIVE_POINT = False


def _narrow_ratings(rows: list[PlanRow], report: ImportReport) -> list[PlanRow]:
    """Unless the store keeps five-point ratings, the rows with the nearer three-point rating
    (red/amber → red, amber/green → amber: the cautious side), said so."""
    width = getattr(Action.__table__.c.rag.type, "length", None)
    narrowed: list[PlanRow] = []
    for row in rows:
        fits = STORE_FIVE_POINT and (width is None or len(row.rag or "") <= width)
        if row.rag in FIVE_POINT_RAGS and not fits:
            narrower = Rag.RED if row.rag == Rag.RED_AMBER else Rag.AMBER
            report.ratings_narrowed.append(f"{row.ref} ({row.rag.value} → {narrower.value})")
            row = row.model_copy(update={"rag": narrower})
        narrowed.append(row)
    return narrowed


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
