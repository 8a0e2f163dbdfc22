"""Loading a parsed plan file into the store: create by ref, update by ref, never delete.

A RAG or status change is recorded as an update from "import"; other changed fields (title,
due date, leads…) as an "edit" update naming them, so the history shows every change.

A re-import is a merge, never a silent overwrite. Each action keeps what the last import read
of each field (`Action.imported`). A field whose cell changed since then is applied; a field
changed only in the bot (a sign-off in chat) is kept; a field changed in both is a conflict,
the bot's value kept unless the file is preferred. A blank cell clears nothing. Actions loaded
before imports were remembered take the history's word: a field last set by an import is the
import's, anything else was changed in the bot.

What a tracker says in words is recorded too, once: its progress-update column and a status
written as a sentence become a note from the import, and a sign-off sentence makes the status
change a sign-off. A cell the reader could not read leaves that field as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.domain import (
    FIVE_POINT_RAGS,
    Status,
    Surface,
    UpdateKind,
    UserError,
    day_text,
    ref_sort_key,
)
from bot.plans.leads import is_named_only
from bot.plans.read import ParsedPlan, PlanRow, RowProblem
from bot.services import history, priorities
from bot.services.context import Ctx
from bot.services.history import ActionChange, Author
from bot.services.people import of_plan, resolve_lead, unresolved_people
from bot.services.plans import (
    DEFAULT_PLAN_NAME,
    get_or_create_workstream,
    record_impact,
    workstream_key,
)
from bot.store.models import Action, Person, Plan, Priority, Update, Workstream


@dataclass(frozen=True)
class Conflict:
    """A field changed both in the bot and in the file since the last import."""

    field: str
    bot: str | None
    file: str | None
    # which one stands: "bot" unless the file was preferred
    kept: str

    def __str__(self) -> str:
        bot, file = self.bot or "none", self.file or "none"
        if self.kept == "bot":
            return f"{self.field}: kept “{bot}” from the bot; the file says “{file}”"
        return f"{self.field}: the file's “{file}” applied over the bot's “{bot}”"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    # fields changed in the bot since the last import, the file's cell unchanged: kept
    kept: dict[str, list[str]] = field(default_factory=dict)
    conflicts: dict[str, list[Conflict]] = field(default_factory=dict)
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
    # workstreams whose "The difference it made" rows said something new
    impacts_recorded: list[str] = field(default_factory=list)


class OtherPlan(UserError):
    """The file is another partnership's plan: loading it would overwrite this one's actions."""


def apply_plan(
    ctx: Ctx, parsed: ParsedPlan, source_name: str, *, prefer_file: bool = False
) -> ImportReport:
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
    by_import = _last_set_by_import(ctx, [a for a in existing.values() if a.imported is None])
    made = _make_actions(ctx, plan, [row for row in rows if row.ref not in existing])
    with ctx.session.no_autoflush:  # one flush at the end, not one a row
        _apply_rows(ctx, rows, existing, made, report, noted, by_import, note, prefer_file)
    for name, text in parsed.impacts.items():
        workstream, _ = get_or_create_workstream(ctx.session, plan, name)
        if record_impact(ctx.session, workstream, text, IMPORT, ctx.now):
            report.impacts_recorded.append(workstream.name)
    in_file = {row.ref for row in parsed.rows}
    report.not_in_file = sorted(set(existing) - in_file, key=ref_sort_key)
    ctx.session.flush()
    report.unlinked_leads = [p.email or p.name for p in unresolved_people(ctx.session, ctx.plan.id)]
    return report


def _apply_rows(
    ctx: Ctx,
    rows: list[PlanRow],
    existing: dict[str, Action],
    made: dict[str, Action],
    report: ImportReport,
    noted: dict[int, list[str]],
    by_import: dict[int, set[str]],
    note: str,
    prefer_file: bool,
) -> None:
    people: dict[str, Person] = {}  # each lead as the file writes it, looked up once
    for row in rows:
        # each lead cell read once: the row's people, and their organisation if it names one
        for text in row.leads:
            if text not in people:
                # the leads given so far are written first: a name finds a person this file
                # already named (spelt with other capitals, say) only once they are
                ctx.session.flush()
                people[text] = resolve_lead(ctx.session, text, ctx.plan.id)
        leads = list({people[text].id: people[text] for text in row.leads}.values())
        _organise(leads, row.organisation)
        action = existing.get(row.ref)
        if action is None:
            action = _create(ctx, made[row.ref], row, leads, note)
            report.created.append(row.ref)
            if _record_notes(ctx, action, row, noted):
                report.notes_recorded.append(row.ref)
            _map_priorities(ctx, action, row, note)
            continue
        merge = _merge(ctx, action, row, leads, by_import.get(action.id, set()), prefer_file)
        if merge.kept:
            report.kept[row.ref] = merge.kept
        if merge.conflicts:
            report.conflicts[row.ref] = merge.conflicts
        changes = _update(ctx, action, row, merge.apply, note)
        if _record_notes(ctx, action, row, noted):
            report.notes_recorded.append(row.ref)
            changes.append("note")
        if _map_priorities(ctx, action, row, note):
            changes.append("priorities")
        if changes:
            report.changed[row.ref] = changes
        else:
            report.unchanged += 1


IMPORT = Author(source=Surface.IMPORT)


def _make_actions(ctx: Ctx, plan: Plan, rows: list[PlanRow]) -> dict[str, Action]:
    """The file's new actions, made together in one flush (their ids are needed by their
    history rows): by ref."""
    made: dict[str, Action] = {}
    workstreams: dict[str, Workstream] = {}
    for row in rows:  # the reader refuses a ref seen before: each is new once
        workstream = workstreams.get(row.workstream)
        if workstream is None:
            workstream, _ = get_or_create_workstream(ctx.session, plan, row.workstream)
            workstreams[row.workstream] = workstream
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
            status=row.status or Status.NOT_STARTED,
            created_at=ctx.now,
            leads=[],  # set by its created row; loaded as empty, so never read back
        )
        action.workstream = workstream
        made[row.ref] = action
    ctx.session.add_all(made.values())
    ctx.session.flush()
    return made


def _create(ctx: Ctx, action: Action, row: PlanRow, leads: list[Person], note: str) -> Action:
    """The created row of an action `_make_actions` made."""
    workstream = action.workstream
    status = action.status
    change = ActionChange(
        rag=row.rag,
        status=status,
        title=row.title,
        measure=row.measure or "",
        due=(row.due, row.due_text),
        workstream=workstream,
        leads=leads,
    )
    if status is Status.SIGNED_OFF:
        note += _signed_off(row)
    history.write(
        ctx.session,
        action,
        UpdateKind.CREATED,
        change,
        note=note,
        author=IMPORT,
        at=ctx.now,
        flush=False,
    )
    action.imported = _values(action)
    return action


# The fields a re-import merges, as text (what `Action.imported` keeps of each).
MERGED = ("title", "measure", "due", "workstream", "leads", "rag", "status")


def _values(action: Action) -> dict[str, str | None]:
    """The action's merged fields as text: leads by person number, sorted."""
    return {
        "title": action.title,
        "measure": action.measure,
        "due": history.due_words(action.due, action.due_text),
        "workstream": workstream_key(action.workstream.name),
        "leads": ",".join(str(i) for i in sorted(p.id for p in action.leads)) or None,
        "rag": action.rag.value if action.rag else None,
        "status": action.status.value,
    }


@dataclass
class Merge:
    # the file's value for each field to apply
    apply: ActionChange
    kept: list[str]
    conflicts: list[Conflict]


def _merge(
    ctx: Ctx,
    action: Action,
    row: PlanRow,
    leads: list[Person],
    by_import: set[str],
    prefer_file: bool,
) -> Merge:
    """What of `row` to apply to `action`, field by field, against what the last import read.
    A blank cell or one the reader could not read says nothing, and changes nothing."""
    unread = set(row.unread)
    said = ActionChange(
        title=row.title,
        measure=None if "measure" in unread or not row.measure else row.measure,
        due=None
        if "due" in unread or (row.due is None and not row.due_text)
        else (row.due, row.due_text),
        leads=leads or None,
        rag=row.rag,
        status=row.status,
    )
    file = {
        "title": said.title,
        "measure": said.measure,
        "due": history.due_words(*said.due) if said.due else None,
        "workstream": None if "workstream" in unread else workstream_key(row.workstream),
        "leads": ",".join(str(i) for i in sorted(p.id for p in leads)) if leads else None,
        "rag": row.rag.value if row.rag else None,
        "status": row.status.value if row.status else None,
    }
    bot = _values(action)
    last = action.imported
    if last is None:
        # Loaded before imports were remembered: what an import set last is the import's.
        last = {name: bot[name] for name in by_import}
    apply: dict[str, object] = {}
    kept: list[str] = []
    conflicts: list[Conflict] = []
    for name in MERGED:
        value = file[name]
        if value is None or value == bot[name]:
            continue
        if name in last and value == last[name]:
            kept.append(name)  # changed in the bot only
            continue
        applies = name in last and bot[name] == last[name]  # changed in the file only
        if not applies:
            shown: tuple[str | None, str | None] = (bot[name], value)
            if name == "leads":
                shown = (history.names(action.leads), history.names(leads))
            conflicts.append(Conflict(name, *shown, kept="file" if prefer_file else "bot"))
        if applies or prefer_file:
            apply[name] = (
                get_or_create_workstream(ctx.session, ctx.plan, row.workstream)[0]
                if name == "workstream"
                else getattr(said, name)
            )
    # What this import read becomes the last reading; a conflict the bot's value won stays one
    # (named at every import) until someone settles it, in chat or with --prefer-file.
    unsettled = {c.field for c in conflicts if c.kept == "bot"}
    remembered = dict(action.imported or {})
    remembered.update(
        {name: value for name, value in file.items() if value is not None and name not in unsettled}
    )
    action.imported = remembered
    return Merge(apply=ActionChange(**apply), kept=kept, conflicts=conflicts)  # type: ignore[arg-type]


def _signed_off(row: PlanRow) -> str:
    """When and by whom the tracker says the action was signed off: the history row is dated
    when the import recorded it (rows never go back in time), so its note keeps the real date."""
    if row.signed_off_on is None and not row.signed_off_by:
        return ""
    by = f" by {row.signed_off_by}" if row.signed_off_by else ""
    on = f" on {day_text(row.signed_off_on)}" if row.signed_off_on else ""
    return f"; signed off{by}{on}, as the tracker says"


def _organise(leads: list[Person], organisation: str | None) -> None:
    """A tracker's organisation column names its leads' organisation: given to each lead who
    has none yet (one set in chat, `person … org …`, is never overwritten)."""
    for person in leads if organisation else []:
        person.organisation = person.organisation or organisation


def _last_set_by_import(ctx: Ctx, actions: list[Action]) -> dict[int, set[str]]:
    """For actions loaded before imports were remembered: the fields whose latest change (or
    whose value when created) came from an import."""
    if not actions:
        return {}
    last: dict[int, dict[str, bool]] = {}
    rows = ctx.session.execute(
        select(
            Update.action_id,
            Update.source,
            Update.changes,
            Update.rag_from,
            Update.rag_to,
            Update.status_from,
            Update.status_to,
            Update.kind,
        )
        .where(Update.action_id.in_([a.id for a in actions]))
        .order_by(Update.at, Update.id)
    )
    for action_id, source, changes, rag_from, rag_to, status_from, status_to, kind in rows:
        fields = {str(c.get("field")) for c in changes or []}
        if changes is None:  # rows from before fields were recorded
            fields |= {"rag"} if rag_from != rag_to else set()
            fields |= {"status"} if status_from != status_to else set()
        if kind == UpdateKind.CREATED:
            fields |= set(MERGED)
        seen = last.setdefault(action_id, {})
        for name in fields & set(MERGED):
            seen[name] = source == Surface.IMPORT
    return {action_id: {n for n, ours in seen.items() if ours} for action_id, seen in last.items()}


def _update(ctx: Ctx, action: Action, row: PlanRow, merged: ActionChange, note: str) -> list[str]:
    """Apply what the merge took from a row to an existing action.

    Two history rows at most: an edit (title, measure, due, workstream, leads, with their old
    values) and an update (RAG or status, which counts as progress); none, and no lock taken,
    when the merge applies nothing (an unchanged row)."""
    if merged == ActionChange():
        return []
    edit = ActionChange(
        title=merged.title,
        measure=merged.measure,
        due=merged.due,
        workstream=merged.workstream,
        leads=merged.leads,
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
    signs_off = merged.status is Status.SIGNED_OFF and action.status != Status.SIGNED_OFF
    moved = history.write_if_changed(
        ctx.session,
        action,
        UpdateKind.SIGNOFF if signs_off else UpdateKind.UPDATE,
        ActionChange(rag=merged.rag, status=merged.status),
        note=note + _signed_off(row) if signs_off else note,
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
        ctx.session,
        action,
        UpdateKind.NOTE,
        ActionChange(),
        note=text,
        author=IMPORT,
        at=ctx.now,
        flush=False,
    )
    noted.setdefault(action.id, []).append(text)
    return True


def _unmatched_names(ctx: Ctx, rows: list[PlanRow]) -> list[str]:
    """Leads named by name alone (after the reader paired names with e-mails in the file) that
    match nobody this plan already knows: they become new people known only by name."""
    names = {lead for row in rows for lead in row.leads if is_named_only(lead)}
    if not names:
        return []
    known = {
        name.lower()
        for name in ctx.session.scalars(
            select(Person.name).where(
                func.lower(Person.name).in_([n.lower() for n in names]),
                Person.id.in_(of_plan(ctx.plan.id)),
            )
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
            narrower = row.rag.three_point
            report.ratings_narrowed.append(f"{row.ref} ({row.rag.value} → {narrower.value})")
            row = row.model_copy(update={"rag": narrower})
        narrowed.append(row)
    return narrowed
