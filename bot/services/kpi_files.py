"""Measures and their figures in files: loading them into the store, and the rows an export
writes.

Measures are matched by short id (when the file gives one) or by name; figures are appended
only when they differ from the period's current figure, so importing the same file (or an
export) twice changes nothing. Every figure passes the same checks as `kpi record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import impact
from bot.domain import UserError, normalise_ref
from bot.plans.kpi_read import CellProblem, MeasureRow, ParsedMeasures
from bot.plans.kpi_write import Cell, MeasureSheets
from bot.presenters import actor_label
from bot.privacy import find_personal_data
from bot.services import kpis, measure_history
from bot.services.context import Ctx
from bot.services.kpi_define import definition_text
from bot.services.people import people_by_id, resolve_lead
from bot.services.plans import match_workstream, workstreams
from bot.store.models import Action, Measure, Plan, Workstream

# what changed on a measure, by field name, when a file says something new
_FIELDS = (
    "definition",
    "unit",
    "better",
    "baseline_value",
    "baseline_date",
    "target_value",
    "target_date",
    "trajectory",
    "source",
    "frequency",
)


@dataclass
class MeasuresReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    figures_added: int = 0
    figures_unchanged: int = 0
    problems: list[CellProblem] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.created or self.changed or self.unchanged:
            out = [
                f"measures created {len(self.created)}: {', '.join(self.created) or '-'}",
                f"measures changed {len(self.changed)}"
                + "".join(f"; {k}: {', '.join(v)}" for k, v in self.changed.items()),
                f"measures unchanged {self.unchanged}",
            ]
        out.append(f"figures added {self.figures_added}, unchanged {self.figures_unchanged}")
        if self.problems:
            out.append(f"could not read {len(self.problems)} cells (nothing loaded from them):")
            out += [f"  {problem}" for problem in self.problems]
        return out


def apply_measures(ctx: Ctx, parsed: ParsedMeasures) -> MeasuresReport:
    report = MeasuresReport(problems=list(parsed.problems))
    plan = ctx.plan
    existing = kpis.measures(ctx.session, plan.id)
    by_id = {m.short_id: m for m in existing}
    by_key = {m.key: m for m in existing}
    plan_workstreams = workstreams(ctx.session, plan)
    actions = {
        a.ref: a for a in ctx.session.scalars(select(Action).where(Action.plan_id == plan.id))
    }
    number = kpis.next_number(ctx.session, plan.id)
    skipped = 0
    for row in parsed.measures:
        personal = find_personal_data(f"{row.name}\n{row.definition or ''}")
        if personal:
            report.problems.append(
                CellProblem(row.sheet, row.row, None, f"looks like it holds {personal}; not loaded")
            )
            skipped += 1
            continue
        measure = (by_id.get(row.short_id) if row.short_id else None) or by_key.get(
            impact.measure_key(row.name)
        )
        if measure is None:
            short_id = row.short_id if row.short_id and row.short_id not in by_id else None
            if short_id is None:
                while f"K{number}" in by_id:
                    number += 1
                short_id = f"K{number}"
            measure = Measure(
                plan_id=plan.id,
                short_id=short_id,
                number=_number_of(short_id, number),
                name=row.name,
                key=impact.measure_key(row.name),
                unit=row.unit,
                better=row.better,
                baseline_value=row.baseline,
                baseline_date=row.baseline_date,
                target_value=row.target,
                target_date=row.target_date,
                trajectory=[],
                created_at=ctx.now,
            )
            _set_fields(measure, row)
            measure_history.created(ctx, measure, definition_text(measure))
            number = max(number, measure.number) + 1
            by_id[measure.short_id] = measure
            by_key[measure.key] = measure
            report.created.append(measure.short_id)
        else:
            # locked before anything is read from it: the "old" of each change is the latest
            measure = measure_history.locked(ctx, measure)
            changes = []
            if row.name != measure.name:
                changes.append(measure_history.record(ctx, measure, "name", measure.name, row.name))
                measure.name, measure.key = row.name, impact.measure_key(row.name)
            changes += measure_history.set_fields(ctx, measure, _wanted(row))
            if changes:
                report.changed[measure.short_id] = [change.field for change in changes]
        _link(ctx, measure, row, plan_workstreams, actions, report)
    ctx.session.flush()
    _figures(ctx, parsed, by_id, by_key, report)
    report.unchanged = len(parsed.measures) - skipped - len(report.created) - len(report.changed)
    return report


def _number_of(short_id: str, fallback: int) -> int:
    digits = short_id[1:] if short_id.startswith("K") else ""
    return int(digits) if digits.isdigit() else fallback


def _wanted(row: MeasureRow) -> dict[str, object]:
    """What the row says of each field a file defines, by attribute."""
    return {
        "definition": row.definition,
        "unit": row.unit,
        "better": row.better,
        "baseline_value": row.baseline,
        "baseline_date": row.baseline_date,
        "target_value": row.target,
        "target_date": row.target_date,
        "trajectory": [[on.isoformat(), value] for on, value in row.trajectory],
        "source": row.source,
        "frequency": row.frequency,
    }


def _set_fields(measure: Measure, row: MeasureRow) -> None:
    """A new measure's fields, as the row says (its history row follows)."""
    for name, value in _wanted(row).items():
        setattr(measure, name, value)


def _link(
    ctx: Ctx,
    measure: Measure,
    row: MeasureRow,
    plan_workstreams: list[Workstream],
    actions: dict[str, Action],
    report: MeasuresReport,
) -> None:
    """The owner, workstreams and actions a row names; one it cannot find is reported and left
    out, and the measure still loads."""
    if row.owner:
        try:
            owner = resolve_lead(ctx.session, row.owner, ctx.plan.id)
        except UserError as error:
            report.problems.append(CellProblem(row.sheet, row.row, "owner", str(error)))
        else:
            if measure.owner_id != owner.id:
                measure.owner = owner
    linked = []
    for name in row.workstreams:
        found = match_workstream(plan_workstreams, name)
        if found is None:
            report.problems.append(
                CellProblem(row.sheet, row.row, "workstream", f"no workstream “{name[:60]}”")
            )
        elif found not in linked:
            linked.append(found)
    if row.workstreams and {w.id for w in linked} != {w.id for w in measure.workstreams}:
        measure.workstreams = linked
    evidence = []
    for text in row.actions:
        try:
            action = actions.get(normalise_ref(text))
        except UserError:
            action = None
        if action is None:
            report.problems.append(
                CellProblem(row.sheet, row.row, "actions", f"no action “{text[:20]}”")
            )
        elif action not in evidence:
            evidence.append(action)
    if row.actions and {a.id for a in evidence} != {a.id for a in measure.actions}:
        measure.actions = evidence


def _figures(
    ctx: Ctx,
    parsed: ParsedMeasures,
    by_id: dict[str, Measure],
    by_key: dict[str, Measure],
    report: MeasuresReport,
) -> None:
    current: dict[tuple[int, object], float] = {}
    for s in kpis.standings(ctx.session, ctx.plan.id):
        for figure in s.figures:
            current[(s.measure.id, figure.period)] = figure.value
    for row in parsed.actuals:
        measure = by_id.get(row.kpi.upper()) or by_key.get(impact.measure_key(row.kpi))
        if measure is None:
            report.problems.append(
                CellProblem(row.sheet, row.row, row.column, f"no measure “{row.kpi[:60]}”")
            )
            continue
        try:
            impact.check_figure(measure, row.value, row.period, ctx.today)
            note = impact.check_note(row.note) if row.note else None
        except UserError as error:
            report.problems.append(CellProblem(row.sheet, row.row, row.column, str(error)))
            continue
        if current.get((measure.id, row.period)) == row.value:
            report.figures_unchanged += 1
            continue
        measure_history.add_figure(ctx, measure, row.value, row.period, note)
        current[(measure.id, row.period)] = row.value
        report.figures_added += 1
    ctx.session.flush()


def measure_sheets(session: Session, plan: Plan, tz: ZoneInfo) -> MeasureSheets:
    """The export's Measures and Actuals rows: each period's current figure (the history of
    corrections is in the store, and `kpi show`)."""
    found = kpis.standings(session, plan.id, actions=True)
    people = people_by_id(
        session, {f.row.person_id for s in found for f in s.figures if f.row.person_id}
    )
    measures: list[list[Cell]] = []
    actuals: list[list[Cell]] = []
    judged: list[tuple[str, str]] = []
    for s in found:
        m = s.measure
        owner = m.owner
        judged.append((impact.latest_text(s), impact.judgement_text(s)))
        measures.append(
            [
                m.short_id,
                m.name,
                m.definition,
                m.unit,
                m.better,
                m.baseline_value,
                m.baseline_date,
                m.target_value,
                m.target_date,
                "; ".join(
                    f"{p.on.isoformat()}: {p.value:g}" for p in impact.trajectory_points(m)[1:-1]
                ),
                "; ".join(w.name for w in m.workstreams),
                "; ".join(a.ref for a in m.actions),
                (owner.email or owner.name) if owner else None,
                m.source,
                m.frequency,
            ]
        )
        for f in s.figures:
            actuals.append(
                [
                    m.short_id,
                    m.name,
                    f.period.strftime("%Y-%m"),
                    f.value,
                    f.row.note,
                    f.row.recorded_at.astimezone(tz).replace(tzinfo=None, microsecond=0),
                    actor_label(people.get(f.row.person_id or 0), f.row.source),
                ]
            )
    return MeasureSheets(measures=measures, actuals=actuals, judged=judged)
