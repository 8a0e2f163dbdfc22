"""The one writer of a measure's history, as bot/services/history.py is of an action's.

Every change to a measure's definition and every figure, typed (`kpi add`, `kpi edit`,
`kpi record`), from a form or from a file, is written here: under a lock on the measure (so two
changes at once are recorded one after the other, the second's "old" the first's "new"), with who
made it, when, through what, and the old and new value of each field. Nothing is updated or
deleted: a corrected figure is a new row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from bot.services.context import Ctx
from bot.store.db import lock_row
from bot.store.models import Measure, MeasureActual, MeasureEdit

# The field of the history row that records a measure's definition when it was added.
CREATED = "created"
# Measures this transaction has locked, in its session's info: each is locked once.
_LOCKED = "wsoa_locked_measures"


@dataclass(frozen=True)
class Recorded:
    actual: MeasureActual
    replaced: MeasureActual | None  # the figure for the same period it corrects, if any


def locked(ctx: Ctx, measure: Measure) -> Measure:
    """`measure`, locked until the transaction ends and read again after the lock."""
    done: set[int] = ctx.session.info.setdefault(_LOCKED, set())
    if measure.id in done:
        return measure
    found = lock_row(ctx.session, Measure, measure.id)
    done.add(measure.id)
    return found


def record(ctx: Ctx, measure: Measure, name: str, old: object, new: object) -> MeasureEdit:
    """One field of `measure` changed (or, for CREATED, its definition as added): its row."""
    row = MeasureEdit(
        measure_id=measure.id,
        at=ctx.now,
        person_id=ctx.actor_id,
        source=ctx.caller.source,
        field=name,
        old=edit_text(old),
        new=edit_text(new),
    )
    ctx.session.add(row)
    return row


def created(ctx: Ctx, measure: Measure, definition: str) -> MeasureEdit:
    """A new measure, added: its definition is the first row of its history."""
    ctx.session.add(measure)
    ctx.session.flush()
    done: set[int] = ctx.session.info.setdefault(_LOCKED, set())
    done.add(measure.id)  # nobody else can see it before the commit
    return record(ctx, measure, CREATED, None, definition)


def set_fields(ctx: Ctx, measure: Measure, wanted: dict[str, object]) -> list[MeasureEdit]:
    """Sets each of `measure`'s attributes in `wanted` (by attribute name) that differs, on the
    locked measure, with a row for each: `target value 75 → 80`."""
    measure = locked(ctx, measure)
    rows = []
    for name, new in wanted.items():
        old = getattr(measure, name)
        if old != new:
            rows.append(record(ctx, measure, name.replace("_", " "), old, new))
            setattr(measure, name, new)
    return rows


def add_figure(
    ctx: Ctx, measure: Measure, value: float, period: date, note: str | None
) -> Recorded:
    """A figure for `period`, already checked. A figure for a period that has one already is a
    correction: a new row, the old one kept (and given back as `replaced`)."""
    measure = locked(ctx, measure)
    replaced = ctx.session.scalars(
        select(MeasureActual)
        .where(MeasureActual.measure_id == measure.id, MeasureActual.period == period)
        .order_by(MeasureActual.id.desc())
        .limit(1)
    ).first()
    actual = MeasureActual(
        measure_id=measure.id,
        period=period,
        value=value,
        recorded_at=ctx.now,
        person_id=ctx.actor_id,
        source=ctx.caller.source,
        note=note,
    )
    ctx.session.add(actual)
    ctx.session.flush()
    return Recorded(actual=actual, replaced=replaced)


def edit_text(value: object) -> str | None:
    """A field's value as the history shows it: `2027-03-31`, `86.5`, `2026-06-30: 110`."""
    if value is None:
        return None
    if isinstance(value, list):
        return "; ".join(f"{on}: {figure:g}" for on, figure in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value.isoformat() if isinstance(value, date) else value)


def change_text(edit: MeasureEdit) -> str:
    """`target value 75 → 80`."""
    return f"{edit.field} {edit.old or '(none)'} → {edit.new or '(none)'}"
