"""Measures of impact (KPIs) in the store: finding them, recording figures (the owner or an
admin), judging them all in a few statements, the digest and summary section, the measures
whose owners owe commentary, and the trend chart. The judgement itself is in bot/impact.py.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, func, select
from sqlalchemy.orm import Session, lazyload, selectinload

from bot.charts import TrendChart, trend_chart
from bot.domain import FieldError, Forbidden, Invalid, NotFound, nearest
from bot.impact import (
    Actual,
    Standing,
    alt_text,
    check_note,
    check_period,
    check_value,
    default_period,
    expected_months,
    judge,
    latest_text,
    measure_key,
    month_end,
    parse_period,
    parse_value,
    period_text,
    target_text,
    trajectory_points,
    value_text,
)
from bot.replies import Element, Paragraph, Reply, Table, bold, code, plain, plural
from bot.services import measure_history
from bot.services.context import Ctx
from bot.services.measure_history import Recorded
from bot.store.models import (
    Action,
    Measure,
    MeasureActual,
    MeasureEdit,
    Person,
    measure_workstreams,
)

COMMENTARY_AFTER = 2  # periods off trajectory in a row before the owner is asked
_SHORT_ID = re.compile(r"^[Kk](\d{1,5})$")


# --- Reading the store -----------------------------------------------------------------------


def measures(session: Session, plan_id: int, *, actions: bool = True) -> list[Measure]:
    """The plan's measures with their owners and workstreams, and the actions they evidence
    unless `actions=False` (read then when first used); never the actions' leads, which
    nothing about a measure names."""
    evidence = (
        selectinload(Measure.actions).lazyload(Action.leads)
        if actions
        else lazyload(Measure.actions)
    )
    return list(
        session.scalars(
            select(Measure)
            .where(Measure.plan_id == plan_id)
            .order_by(Measure.number)
            .options(evidence)
        ).unique()
    )


def standings(session: Session, plan_id: int, *, actions: bool = False) -> list[Standing]:
    """Every measure of the plan judged on all its figures: the same few statements however
    many there are. The actions each evidences are read only with `actions=True`: a
    judgement does not need them."""
    found = measures(session, plan_id, actions=actions)
    if not found:
        return []
    return _judged(
        session,
        found,
        _figures(plan_id).order_by(
            MeasureActual.measure_id, MeasureActual.period, MeasureActual.id
        ),
    )


def current_standings(
    session: Session, plan_id: int, workstream_id: int | None = None, since: datetime | None = None
) -> list[Standing]:
    """Every measure judged on its latest figure and on those recorded since `since`: what a
    summary or digest says of them. Their `figures` hold only those (no earlier history, no
    change since the period before), read and judged in SQL's one pass, not a plan's every
    figure."""
    params = {"plan_id": plan_id, "workstream_id": workstream_id, "since": since}
    found = list(session.scalars(_bare_measures(workstream_id is not None), params))
    if not found:
        return []
    return _judged(session, found, _current_figures(since is not None), params)


@functools.cache
def _bare_measures(of_workstream: bool) -> Select[Measure]:
    """A plan's measures, only their own columns: a summary names no owner, workstream or
    action. Built once (see bot/store/queries.py), run with `plan_id` and `workstream_id`."""
    bare = select(Measure).where(Measure.plan_id == bindparam("plan_id")).order_by(Measure.number)
    if of_workstream:
        bare = bare.where(
            Measure.id.in_(
                select(measure_workstreams.c.measure_id).where(
                    measure_workstreams.c.workstream_id == bindparam("workstream_id")
                )
            )
        )
    return bare.options(
        lazyload(Measure.owner), lazyload(Measure.workstreams), lazyload(Measure.actions)
    )


@functools.cache
def _current_figures(with_since: bool) -> Select[Any]:
    """Each measure's figures for its latest period and (`with_since`) those recorded since
    `since`, the latest row of each period only, in (measure, period, id) order."""
    ranked = (
        _figures(bindparam("plan_id"))
        .add_columns(
            func.row_number()
            .over(
                partition_by=(MeasureActual.measure_id, MeasureActual.period),
                order_by=MeasureActual.id.desc(),
            )
            .label("nth"),
            func.max(MeasureActual.period)
            .over(partition_by=MeasureActual.measure_id)
            .label("last"),
        )
        .subquery()
    )
    wanted = ranked.c.period == ranked.c.last
    if with_since:
        wanted = wanted | (ranked.c.recorded_at >= bindparam("since"))
    columns = [ranked.c[name] for name in _FIGURE_COLUMNS]
    return (
        select(*columns)
        .where(ranked.c.nth == 1, wanted)
        .order_by(ranked.c.measure_id, ranked.c.period, ranked.c.id)
    )


_FIGURE_COLUMNS = (
    "measure_id",
    "id",
    "period",
    "value",
    "recorded_at",
    "person_id",
    "source",
    "note",
)


def _figures(plan_id: int | BindParameter[int]) -> Select[Any]:
    """The plan's figures as plain rows, the columns a judgement reads: a plan has
    thousands, and needs no objects for them. Unordered: `_judged` wants them in (measure,
    period, id) order."""
    return (
        select(*(getattr(MeasureActual, name) for name in _FIGURE_COLUMNS))
        .join(Measure, Measure.id == MeasureActual.measure_id)
        .where(Measure.plan_id == plan_id)
    )


def _judged(
    session: Session,
    found: list[Measure],
    figures: Select[Any],
    params: dict[str, Any] | None = None,
) -> list[Standing]:
    rows: dict[int, list[Actual]] = {m.id: [] for m in found}
    for row in session.connection().execute(figures, params):
        kept = rows.get(row[0])  # its measure_id, read by position: thousands of rows
        if kept is not None:
            kept.append(row)
    return [judge(m, rows[m.id]) for m in found]


def standing_of(session: Session, measure: Measure) -> Standing:
    rows = session.scalars(
        select(MeasureActual)
        .where(MeasureActual.measure_id == measure.id)
        .order_by(MeasureActual.period, MeasureActual.id)
    )
    return judge(measure, list(rows))


def history(session: Session, measure: Measure) -> list[MeasureActual]:
    """Every row recorded for the measure, newest first, corrections included."""
    return list(
        session.scalars(
            select(MeasureActual)
            .where(MeasureActual.measure_id == measure.id)
            .order_by(MeasureActual.recorded_at.desc(), MeasureActual.id.desc())
        )
    )


def edits(session: Session, measure: Measure, limit: int = 10) -> list[MeasureEdit]:
    """Changes to the measure's definition, newest first."""
    return list(
        session.scalars(
            select(MeasureEdit)
            .where(MeasureEdit.measure_id == measure.id)
            .order_by(MeasureEdit.at.desc(), MeasureEdit.id.desc())
            .limit(limit)
        )
    )


def find_measure(session: Session, plan_id: int, text: str) -> Measure:
    """A measure by short id (`K3`, `k3`), by name, or by an unambiguous part of its name."""
    text = " ".join(text.split())
    if not text:
        raise Invalid("Which measure? `kpi list` shows them, e.g. `kpi show K1`.")
    all_measures = measures(session, plan_id)
    short = _SHORT_ID.match(text)
    key = measure_key(text)
    for m in all_measures:
        if (short and m.short_id == f"K{int(short.group(1))}") or m.key == key:
            return m
    partial = [m for m in all_measures if key in m.key]
    if len(partial) == 1 and not short:
        return partial[0]
    if not all_measures:
        raise NotFound(
            "There are no measures yet: a programme manager defines one with `kpi add` or "
            "loads them with `wsoa import` from a KPIs sheet."
        )
    close = nearest(text, [m.short_id for m in all_measures] + [m.name for m in all_measures])
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    many = f" “{text[:40]}” matches {len(partial)} measures." if len(partial) > 1 else ""
    raise NotFound(f"No measure “{text[:40]}”.{many}{hint} `kpi list` shows them all.")


def next_number(session: Session, plan_id: int) -> int:
    highest = session.scalar(select(func.max(Measure.number)).where(Measure.plan_id == plan_id))
    return (highest or 0) + 1


# --- Recording a figure ----------------------------------------------------------------------


def can_record(ctx: Ctx, measure: Measure) -> bool:
    if ctx.is_admin:
        return True
    owner, me = measure.owner, ctx.known_person
    return owner is not None and me is not None and owner.id == me.id


def require_can_record(ctx: Ctx, measure: Measure) -> None:
    if not can_record(ctx, measure):
        owner = measure.owner.label if measure.owner else "nobody yet"
        raise Forbidden(
            f"Only {measure.short_id}'s owner ({owner}) or a programme manager (admin) can "
            "record its figures. Nothing was recorded."
        )


def recordable(ctx: Ctx) -> list[Measure]:
    """The measures the caller may record figures for: all of them for an admin, else those
    they own."""
    return [m for m in measures(ctx.session, ctx.plan.id) if can_record(ctx, m)]


def record_figure(
    ctx: Ctx, measure: Measure, value: str, period: str | None, note: str | None
) -> Recorded:
    """A figure as a person gives it, typed (`kpi record`) or in the form: the value and month
    as written (no month: the month just ended). Each refusal names the field it is about
    (value, period, note), so a form can show it there; nothing is recorded."""
    require_can_record(ctx, measure)
    try:
        number = parse_value(value)
        check_value(measure, number)
    except FieldError:
        raise
    except Invalid as refusal:
        raise FieldError("figure", str(refusal)) from refusal
    try:
        month = parse_period(period) if period and period.strip() else default_period(ctx.today)
        check_period(month, ctx.today)
    except Invalid as refusal:
        raise FieldError("period", str(refusal)) from refusal
    try:
        clean = check_note(note) if note and note.strip() else None
    except Invalid as refusal:
        raise FieldError("note", str(refusal)) from refusal
    return record_actual(ctx, measure, number, month, clean)


def record_actual(
    ctx: Ctx, measure: Measure, value: float, period: date, note: str | None
) -> Recorded:
    """A new figure for `period`: the owner's or an admin's, through the one writer."""
    require_can_record(ctx, measure)
    check_value(measure, value)
    check_period(period, ctx.today)
    clean = check_note(note) if note else None
    return measure_history.add_figure(ctx, measure, value, period, clean)


# --- The digest and summary section ----------------------------------------------------------

OFF_LIMIT = 10
MOVED_LIMIT = 10
NAME_BRIEF = 60


def _brief(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def impact_section(
    session: Session,
    plan_id: int,
    *,
    since: datetime | None = None,
    workstream_id: int | None = None,
) -> list[Element]:
    """ "3 of 8 measures on trajectory", the ones off it with their last figure, trajectory and
    target, and (with `since`) the figures recorded since then. Nothing when the plan has no
    measures. Two or three statements whatever the plan's size."""
    found = current_standings(session, plan_id, workstream_id, since)
    if not found:
        return []
    judged = [s for s in found if s.latest is not None]
    on = sum(1 for s in judged if s.on_track)
    waiting = len(found) - len(judged)
    headline = f"{on} of {plural(len(found), 'measure')} on trajectory"
    if waiting:
        headline += f" ({waiting} with no figures yet)"
    elements: list[Element] = [
        Paragraph(spans=[bold("Measures of impact: "), plain(headline + ".")])
    ]
    off = [s for s in judged if not s.on_track]
    if off:
        shown = off[:OFF_LIMIT]
        elements.append(
            Table(
                columns=["Off trajectory", "Latest", "Trajectory", "Target"],
                rows=[
                    [
                        f"{s.measure.short_id} {_brief(s.measure.name, NAME_BRIEF)}",
                        latest_text(s),
                        value_text(s.latest.expected, s.measure.unit) if s.latest else "",
                        target_text(s.measure),
                    ]
                    for s in shown
                ],
            )
        )
        if len(off) > len(shown):
            elements.append(
                Paragraph(
                    spans=[plain(f"…and {len(off) - len(shown)} more: "), code("/wsoa kpi list")]
                )
            )
    if since is not None:
        moved = [(s, f) for s in found for f in s.figures if f.row.recorded_at >= since]
        moved.sort(key=lambda pair: pair[1].row.recorded_at, reverse=True)
        if moved:
            parts = [
                f"{s.measure.short_id} {value_text(f.value, s.measure.unit)} for "
                f"{period_text(f.period)} ({'on' if f.on_track else 'off'})"
                for s, f in moved[:MOVED_LIMIT]
            ]
            more = f"; and {len(moved) - MOVED_LIMIT} more" if len(moved) > MOVED_LIMIT else ""
            elements.append(
                Paragraph(spans=[bold("New figures: "), plain("; ".join(parts) + more + ".")])
            )
        else:
            elements.append(Paragraph(spans=[bold("New figures: "), plain("none.")]))
    return elements


# --- Asking for commentary -------------------------------------------------------------------


@dataclass(frozen=True)
class CommentaryAsk:
    """A measure off trajectory for COMMENTARY_AFTER periods in a row, and whom to ask."""

    measure_id: int
    short_id: str
    name: str
    owner: Person | None
    periods: list[date]  # the periods off, oldest first
    latest: str  # "48% (Sep 2026)"
    expected: str  # the trajectory for the latest period
    target: str

    @property
    def key(self) -> str:
        """A delivery key: one ask per measure and latest period, so a new figure that is still
        off asks again, and the same one never twice."""
        return f"kpi-commentary:{self.measure_id}:{self.periods[-1].isoformat()}"


def commentary_needed(session: Session, plan_id: int) -> list[CommentaryAsk]:
    asks = []
    for s in standings(session, plan_id):
        if s.periods_off < COMMENTARY_AFTER or s.latest is None:
            continue
        off = s.figures[-s.periods_off :]
        asks.append(
            CommentaryAsk(
                measure_id=s.measure.id,
                short_id=s.measure.short_id,
                name=s.measure.name,
                owner=s.measure.owner,
                periods=[f.period for f in off],
                latest=latest_text(s),
                expected=value_text(s.latest.expected, s.measure.unit),
                target=target_text(s.measure),
            )
        )
    return asks


def commentary_request(ask: CommentaryAsk) -> Reply:
    """The direct message to the owner."""
    months = ", ".join(period_text(p) for p in ask.periods)
    reply = Reply(
        visibility="private",
        summary=f"{ask.short_id} is off trajectory: a line of commentary for the board, please",
    ).heading(f"{ask.short_id} {ask.name}: off trajectory")
    reply.para(
        plain(
            f"{ask.short_id} has been off its trajectory for {len(ask.periods)} periods in a row "
            f"({months}). Latest {ask.latest}, trajectory {ask.expected}, target {ask.target}."
        )
    )
    reply.para(
        plain("The board will ask why, and what is being done. Reply with "),
        code(f"/wsoa kpi record {ask.short_id} VALUE PERIOD NOTE"),
        plain(" to correct a figure with a note, or add the commentary to the related action's "),
        code("/wsoa update REF NOTE"),
        plain("."),
    )
    return reply


# --- The chart -------------------------------------------------------------------------------


def chart_of(standing: Standing) -> tuple[TrendChart, str]:
    """The trend chart and its alt text: the trend in words and figures, for screen readers and
    for whoever cannot see the image."""
    measure = standing.measure
    points = trajectory_points(measure)
    chart = trend_chart(
        title=f"{measure.short_id} {measure.name}",
        unit=measure.unit,
        actuals=[(month_end(f.period), f.value) for f in standing.figures],
        trajectory=[(p.on, p.value) for p in points],
        target=(measure.target_date, measure.target_value),
        # a month-end to the next is at most 31 days; a missing period leaves more
        gap_days=expected_months(measure) * 31,
    )
    return chart, alt_text(standing)
