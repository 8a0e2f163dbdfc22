"""Defining a measure from chat (`kpi add`) and changing one (`kpi edit`): an admin's, checked
as strictly as an import's row (a unit, which way is better, a baseline and a target with their
dates, aggregates only), and stricter on names: an owner, workstream or action that cannot be
found is refused rather than created or left out. The definition, and each change to it with
its old and new value, is recorded in the measure's history (`measure_edits`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from bot.domain import Invalid, UserError, looks_like_ref
from bot.impact import measure_key, value_text
from bot.privacy import find_personal_data
from bot.services import kpis, measure_history
from bot.services.actions import find_action
from bot.services.context import Ctx
from bot.services.people import resolve_known_lead
from bot.services.plans import find_workstream, workstreams
from bot.store.models import Action, Measure, MeasureEdit, Workstream

MAX_NAME_CHARS = 300


@dataclass
class MeasureSpec:
    """A measure as someone typed it; the service checks it."""

    name: str
    unit: str
    better: str
    baseline: float
    baseline_date: date
    target: float
    target_date: date
    short_id: str | None = None
    definition: str | None = None
    owner: str | None = None
    # action refs and workstream names, in any mix (`evidences 2A.1, EHCP timeliness`)
    evidences: list[str] = field(default_factory=list)
    frequency: str | None = None
    source: str | None = None


def _check_value(spec: MeasureSpec, what: str, value: float) -> None:
    if spec.unit == "%" and not 0 <= value <= 100:
        raise Invalid(f"A percentage's {what} is between 0 and 100, not {value:g}.")
    if spec.unit in ("days", "weeks") and value < 0:
        raise Invalid(f"A {what} in {spec.unit} cannot be negative.")


@dataclass
class MeasureChange:
    """What `kpi edit` was given: only the fields to change (None: as it is)."""

    unit: str | None = None
    better: str | None = None
    baseline: tuple[float, date] | None = None
    target: tuple[float, date] | None = None
    definition: str | None = None
    owner: str | None = None
    evidences: list[str] | None = None
    frequency: str | None = None
    source: str | None = None


def _check_definition(spec: MeasureSpec, nothing: str) -> None:
    """What any definition must hold to, added or changed: aggregates only, values in the
    unit's range, a target date after the baseline's."""
    personal = find_personal_data(f"{spec.name}\n{spec.definition or ''}\n{spec.source or ''}")
    if personal:
        raise Invalid(
            f"The measure looks like it holds {personal}. Measures are aggregates only: nothing "
            f"about an individual child. {nothing}"
        )
    _check_value(spec, "baseline", spec.baseline)
    _check_value(spec, "target", spec.target)
    if spec.target_date <= spec.baseline_date:
        raise Invalid(
            f"The target date ({spec.target_date.isoformat()}) must come after the baseline "
            f"date ({spec.baseline_date.isoformat()}). {nothing}"
        )


def _evidence(
    ctx: Ctx, items: list[str], nothing: str = "Nothing was added."
) -> tuple[list[Workstream], list[Action]]:
    """Each item an action's ref, else a workstream's name (or an unambiguous part of it)."""
    found_workstreams: list[Workstream] = []
    found_actions: list[Action] = []
    for item in items:
        missing: UserError | None = None
        if looks_like_ref(item):
            try:
                action = find_action(ctx.session, ctx.plan.id, item)
            except UserError as not_found:
                missing = not_found
            else:
                if action not in found_actions:
                    found_actions.append(action)
                continue
        workstream = find_workstream(ctx.session, ctx.plan, item)
        if workstream is None and missing is not None:
            raise Invalid(f"{missing} {nothing}")
        if workstream is None:
            names = ", ".join(w.name for w in workstreams(ctx.session, ctx.plan))
            raise Invalid(
                f"“{item[:60]}” is neither an action's ref nor a workstream. "
                f"Workstreams: {names}. {nothing}"
            )
        if workstream not in found_workstreams:
            found_workstreams.append(workstream)
    return found_workstreams, found_actions


def add_measure(ctx: Ctx, spec: MeasureSpec) -> Measure:
    ctx.require_admin("define a measure")
    name = " ".join(spec.name.split())
    if not name:
        raise Invalid("Give the measure a name, e.g. `kpi add EHCPs issued within 20 weeks; …`.")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"A measure's name can be at most {MAX_NAME_CHARS} characters.")
    _check_definition(replace(spec, name=name), "Nothing was added.")
    existing = kpis.measures(ctx.session, ctx.plan.id)
    same = next((m for m in existing if m.key == measure_key(name)), None)
    if same is not None:
        raise Invalid(
            f"{same.short_id} is already called “{same.name}”: `kpi show {same.short_id}`. "
            "Nothing was added."
        )
    if spec.short_id and any(m.short_id == spec.short_id for m in existing):
        raise Invalid(f"{spec.short_id} is taken: leave the id out and the next one is given.")
    owner = resolve_known_lead(ctx.session, spec.owner, ctx.plan.id) if spec.owner else None
    linked_workstreams, linked_actions = _evidence(ctx, spec.evidences)
    number = kpis.next_number(ctx.session, ctx.plan.id)
    if spec.short_id:
        number = int(spec.short_id[1:])
    measure = Measure(
        plan_id=ctx.plan.id,
        short_id=spec.short_id or f"K{number}",
        number=number,
        name=name,
        key=measure_key(name),
        definition=spec.definition,
        unit=spec.unit,
        better=spec.better,
        baseline_value=spec.baseline,
        baseline_date=spec.baseline_date,
        target_value=spec.target,
        target_date=spec.target_date,
        trajectory=[],
        source=spec.source,
        frequency=spec.frequency,
        owner=owner,
        created_at=ctx.now,
    )
    measure.workstreams = linked_workstreams
    measure.actions = linked_actions
    measure_history.created(ctx, measure, definition_text(measure))
    ctx.session.flush()
    return measure


def edit_measure(ctx: Ctx, which: str, change: MeasureChange) -> tuple[Measure, list[MeasureEdit]]:
    """Changes what `change` gives of measure `which`, checked as a new definition is; returns
    the measure and one history row per changed field, old and new."""
    ctx.require_admin("change a measure")
    # locked and read again: two admins' edits at once are recorded one after the other, the
    # second's "old" the first's "new"
    measure = measure_history.locked(ctx, kpis.find_measure(ctx.session, ctx.plan.id, which))
    nothing = "Nothing was changed."
    spec = MeasureSpec(
        name=measure.name,
        unit=change.unit or measure.unit,
        better=change.better or measure.better,
        baseline=change.baseline[0] if change.baseline else measure.baseline_value,
        baseline_date=change.baseline[1] if change.baseline else measure.baseline_date,
        target=change.target[0] if change.target else measure.target_value,
        target_date=change.target[1] if change.target else measure.target_date,
        definition=change.definition or measure.definition,
        frequency=change.frequency or measure.frequency,
        source=change.source or measure.source,
    )
    _check_definition(spec, nothing)
    wanted: dict[str, object] = {
        "definition": spec.definition,
        "unit": spec.unit,
        "better": spec.better,
        "baseline_value": spec.baseline,
        "baseline_date": spec.baseline_date,
        "target_value": spec.target,
        "target_date": spec.target_date,
        "source": spec.source,
        "frequency": spec.frequency,
    }
    edits = measure_history.set_fields(ctx, measure, wanted)
    if change.owner:
        owner = resolve_known_lead(ctx.session, change.owner, ctx.plan.id)
        if owner.id != measure.owner_id:
            was = measure.owner.label if measure.owner else None
            edits.append(measure_history.record(ctx, measure, "owner", was, owner.label))
            measure.owner = owner
    if change.evidences:
        linked_workstreams, linked_actions = _evidence(ctx, change.evidences, nothing)
        was_text = evidence_text(measure.workstreams, measure.actions)
        now_text = evidence_text(linked_workstreams, linked_actions)
        if now_text != was_text:
            edits.append(
                measure_history.record(ctx, measure, "evidences", was_text or None, now_text)
            )
            measure.workstreams, measure.actions = linked_workstreams, linked_actions
    if not edits:
        raise Invalid(f"{measure.short_id} already says that. {nothing}")
    ctx.session.flush()
    return measure, edits


def evidence_text(linked_workstreams: list[Workstream], linked_actions: list[Action]) -> str:
    """What a measure evidences, as people read it: `Graduated Response, 11F, 12B`."""
    return ", ".join([w.name for w in linked_workstreams] + [a.ref for a in linked_actions])


def definition_text(measure: Measure) -> str:
    """`%, higher is better; baseline 42% at 2026-03-31; target 75% by 2027-03-31`."""
    unit = measure.unit
    return (
        f"{unit}, {measure.better} is better; "
        f"baseline {value_text(measure.baseline_value, unit)} at "
        f"{measure.baseline_date.isoformat()}; "
        f"target {value_text(measure.target_value, unit)} by {measure.target_date.isoformat()}"
    )
