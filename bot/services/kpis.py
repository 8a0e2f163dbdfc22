"""Measures of impact (KPIs): finding them, recording their figures, and judging each against
its trajectory.

The judgement, in one place:
- A figure is for a month (its *period*) and is judged at the last day of that month.
- The trajectory is the straight line from the baseline (value, date) to the target (value,
  date), through any interim points given, in date order. Before the baseline it is the
  baseline value; after the target date, the target value.
- A figure is **on trajectory** when it is at least as good as the trajectory's value on that
  day: `>=` when higher is better, `<=` when lower is better. Equal is on (within a
  floating-point hair, so 52.5 computed as 52.4999… still counts).
- A measure's standing is its latest period's figure; the latest row recorded for a period is
  the figure (corrections are new rows, the earlier ones stay as history).
- Off trajectory for the two latest periods with figures in a row asks the owner for
  commentary, as a red action does.
"""

from __future__ import annotations

import calendar
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.charts import TrendChart, trend_chart
from bot.domain import Forbidden, Invalid, NotFound, clean_note, nearest
from bot.plans.dates import parse_due
from bot.privacy import find_personal_data
from bot.replies import Element, Paragraph, Reply, Table, bold, code, plain, plural
from bot.services.context import Ctx
from bot.services.people import person_for_user
from bot.store.models import Measure, MeasureActual, Person

UNITS = {
    "%": "%",
    "percent": "%",
    "percentage": "%",
    "number": "number",
    "no": "number",
    "no.": "number",
    "count": "number",
    "days": "days",
    "day": "days",
    "weeks": "weeks",
    "week": "weeks",
}
BETTER = {
    "higher": "higher",
    "high": "higher",
    "up": "higher",
    "increase": "higher",
    "higher is better": "higher",
    "lower": "lower",
    "low": "lower",
    "down": "lower",
    "decrease": "lower",
    "lower is better": "lower",
}
COMMENTARY_AFTER = 2  # periods off trajectory in a row before the owner is asked
_SHORT_ID = re.compile(r"^[Kk](\d{1,5})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- Words and numbers -----------------------------------------------------------------------


def measure_key(name: str) -> str:
    return " ".join(name.split()).lower()


def parse_unit(text: str) -> str:
    found = UNITS.get(" ".join(text.split()).lower())
    if found is None:
        raise Invalid(f"“{text}” is not a unit: use %, number, days or weeks.")
    return found


def parse_better(text: str) -> str:
    found = BETTER.get(" ".join(text.split()).lower())
    if found is None:
        raise Invalid(f"“{text}” does not say which way is better: use higher or lower.")
    return found


def parse_value(text: str) -> float:
    """`55`, `55.5`, `55%`, `1,234`: a figure. Anything else is refused, quoted."""
    cleaned = text.strip().removesuffix("%").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise Invalid(f"“{text.strip()[:40]}” is not a number.") from None
    if not math.isfinite(value):
        raise Invalid(f"“{text.strip()[:40]}” is not a number.")
    return value


def parse_period(value: str | date | datetime) -> date:
    """The month a figure is for, as its first day: `2026-09`, `Sep 2026`, `September 2026`,
    or any date in the month (`2026-09-30`, `30/09/2026`, an Excel date cell)."""
    if isinstance(value, datetime):
        return value.date().replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    text = " ".join(value.split())
    match = _YEAR_MONTH.match(text)
    if match and 1 <= int(match.group(2)) <= 12:
        return date(int(match.group(1)), int(match.group(2)), 1)
    try:
        # an anchor far in the past: "End of March" names no year, so it is not a period
        found, wording = parse_due(text, today=date(1900, 1, 1))
    except Invalid:
        found, wording = None, None
    if found is None or (wording and not re.search(r"\d{4}|\d{2}$", wording)):
        raise Invalid(
            f"“{text[:40]}” is not a month: write it as 2026-09, Sep 2026 or a date in the month."
        )
    return found.replace(day=1)


def period_text(period: date) -> str:
    """`Sep 2026`."""
    return f"{_MONTHS[period.month - 1]} {period.year}"


def month_end(period: date) -> date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def value_text(value: float, unit: str) -> str:
    """`55%`, `12.5 weeks`, `1,234`: at most one decimal place, none when whole."""
    rounded = round(value, 1)
    number = f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.1f}"
    if unit == "%":
        return f"{number}%"
    if unit in ("days", "weeks"):
        return f"{number} {unit}"
    return number


def check_figure(measure: Measure, value: float, period: date, today: date) -> None:
    """A figure the store may take: within its unit's range, not for a month still to come."""
    if measure.unit == "%" and not 0 <= value <= 100:
        raise Invalid(
            f"{measure.short_id} is a percentage: {value_text(value, 'number')} is not "
            "between 0 and 100."
        )
    if measure.unit in ("days", "weeks") and value < 0:
        raise Invalid(f"{measure.short_id} counts {measure.unit}: a figure cannot be negative.")
    if period > today.replace(day=1):
        raise Invalid(
            f"{period_text(period)} is in the future: figures are recorded for months that "
            "have started."
        )


def check_note(text: str) -> str:
    note = clean_note(text)
    personal = find_personal_data(note)
    if personal:
        raise Invalid(
            f"The note looks like it holds {personal}. Figures and notes are aggregates only: "
            "nothing about an individual child. Nothing was recorded."
        )
    return note


# --- The trajectory --------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    on: date
    value: float


def trajectory_points(measure: Measure) -> list[Point]:
    """Baseline, interim points in date order, target."""
    interim = sorted(
        (Point(date.fromisoformat(str(on)), float(value)) for on, value in measure.trajectory),
        key=lambda p: p.on,
    )
    return [
        Point(measure.baseline_date, measure.baseline_value),
        *interim,
        Point(measure.target_date, measure.target_value),
    ]


def expected_on(points: list[Point], on: date) -> float:
    """The trajectory's value on a day: a straight line between neighbouring points."""
    if on <= points[0].on:
        return points[0].value
    for before, after in itertools.pairwise(points):
        if on <= after.on:
            span = (after.on - before.on).days
            if span <= 0:
                return after.value
            share = (on - before.on).days / span
            return before.value + (after.value - before.value) * share
    return points[-1].value


def is_on_trajectory(value: float, expected: float, better: str) -> bool:
    if math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9):
        return True
    return value > expected if better == "higher" else value < expected


@dataclass
class Figure:
    period: date
    value: float
    row: MeasureActual  # the latest row for the period: the figure
    rows: int  # how many rows the period has (more than one: corrected)
    expected: float
    on_track: bool


@dataclass
class Standing:
    """A measure with its figures (one per period, oldest first) and the judgement."""

    measure: Measure
    figures: list[Figure] = field(default_factory=list)

    @property
    def latest(self) -> Figure | None:
        return self.figures[-1] if self.figures else None

    @property
    def previous(self) -> Figure | None:
        return self.figures[-2] if len(self.figures) > 1 else None

    @property
    def on_track(self) -> bool | None:
        return self.latest.on_track if self.latest else None

    @property
    def change(self) -> float | None:
        if self.latest is None or self.previous is None:
            return None
        return self.latest.value - self.previous.value

    @property
    def periods_off(self) -> int:
        """Latest periods off trajectory, in a row."""
        count = 0
        for figure in reversed(self.figures):
            if figure.on_track:
                break
            count += 1
        return count


def judge(measure: Measure, rows: list[MeasureActual]) -> Standing:
    """`rows` are the measure's actuals in (period, id) order."""
    points = trajectory_points(measure)
    by_period: dict[date, list[MeasureActual]] = {}
    for row in rows:
        by_period.setdefault(row.period, []).append(row)
    standing = Standing(measure)
    for period in sorted(by_period):
        history = by_period[period]
        latest = history[-1]
        expected = expected_on(points, month_end(period))
        standing.figures.append(
            Figure(
                period=period,
                value=latest.value,
                row=latest,
                rows=len(history),
                expected=expected,
                on_track=is_on_trajectory(latest.value, expected, measure.better),
            )
        )
    return standing


# --- Reading the store -----------------------------------------------------------------------


def measures(session: Session, plan_id: int) -> list[Measure]:
    return list(
        session.scalars(select(Measure).where(Measure.plan_id == plan_id).order_by(Measure.number))
    )


def standings(session: Session, plan_id: int, workstream_id: int | None = None) -> list[Standing]:
    """Every measure of the plan judged: the same few statements however many there are."""
    found = measures(session, plan_id)
    if workstream_id is not None:
        found = [m for m in found if any(w.id == workstream_id for w in m.workstreams)]
    if not found:
        return []
    rows: dict[int, list[MeasureActual]] = {m.id: [] for m in found}
    for row in session.scalars(
        select(MeasureActual)
        .join(Measure, Measure.id == MeasureActual.measure_id)
        .where(Measure.plan_id == plan_id)
        .order_by(MeasureActual.measure_id, MeasureActual.period, MeasureActual.id)
    ):
        if row.measure_id in rows:
            rows[row.measure_id].append(row)
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
        raise NotFound("There are no measures yet: `wsoa import` loads them from a KPIs sheet.")
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
    owner = measure.owner
    return owner is not None and owner.slack_user_id == ctx.caller.user_id


@dataclass(frozen=True)
class Recorded:
    actual: MeasureActual
    replaced: MeasureActual | None  # the period's figure before this one, when corrected


def record_actual(
    ctx: Ctx, measure: Measure, value: float, period: date, note: str | None
) -> Recorded:
    """A new figure for `period`: the owner's or an admin's. A figure for a period that has one
    already is a correction: a new row, the old one kept."""
    if not can_record(ctx, measure):
        owner = measure.owner.label if measure.owner else "nobody yet"
        raise Forbidden(
            f"Only {measure.short_id}'s owner ({owner}) or a programme manager (admin) can "
            "record its figures. Nothing was recorded."
        )
    check_figure(measure, value, period, ctx.today)
    clean = check_note(note) if note else None
    replaced = ctx.session.scalars(
        select(MeasureActual)
        .where(MeasureActual.measure_id == measure.id, MeasureActual.period == period)
        .order_by(MeasureActual.id.desc())
        .limit(1)
    ).first()
    person = (
        person_for_user(ctx.session, ctx.caller.user_id, ctx.caller.name)
        if ctx.caller.source != "import"
        else None
    )
    actual = MeasureActual(
        measure_id=measure.id,
        period=period,
        value=value,
        recorded_at=ctx.now,
        by=ctx.caller.user_id,
        person_id=person.id if person else None,
        source=ctx.caller.source,
        note=clean,
    )
    ctx.session.add(actual)
    ctx.session.flush()
    return Recorded(actual=actual, replaced=replaced)


def default_period(today: date) -> date:
    """Figures are reported for the month just ended: in November, October's."""
    first = today.replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


# --- Words for people ------------------------------------------------------------------------


def target_text(measure: Measure) -> str:
    return f"{value_text(measure.target_value, measure.unit)} by {period_text(measure.target_date)}"


def judgement_text(standing: Standing) -> str:
    latest = standing.latest
    if latest is None:
        return "no figures yet"
    unit = standing.measure.unit
    word = "on trajectory" if latest.on_track else "off trajectory"
    return (
        f"{word} (trajectory {value_text(latest.expected, unit)} for {period_text(latest.period)})"
    )


def change_text(standing: Standing) -> str:
    change, previous = standing.change, standing.previous
    if change is None or previous is None:
        return "first figure" if standing.latest else "–"
    unit = standing.measure.unit
    if math.isclose(change, 0, abs_tol=1e-9):
        return f"no change since {period_text(previous.period)}"
    sign = "+" if change > 0 else "−"
    better = (change > 0) == (standing.measure.better == "higher")
    amount = value_text(abs(change), "number") + (
        " points" if unit == "%" else f" {unit}" if unit in ("days", "weeks") else ""
    )
    return (
        f"{sign}{amount} since {period_text(previous.period)} ({'better' if better else 'worse'})"
    )


def latest_text(standing: Standing) -> str:
    latest = standing.latest
    if latest is None:
        return "no figures yet"
    return f"{value_text(latest.value, standing.measure.unit)} ({period_text(latest.period)})"


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
    found = standings(session, plan_id, workstream_id)
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
    )
    return chart, alt_text(standing)


def alt_text(standing: Standing) -> str:
    measure, figures, unit = standing.measure, standing.figures, standing.measure.unit
    start = (
        f"Line chart of {measure.short_id} {measure.name} ({unit}, {measure.better} is better). "
        f"Baseline {value_text(measure.baseline_value, unit)} at "
        f"{period_text(measure.baseline_date)}; target {target_text(measure)}. "
    )
    if not figures:
        return start + "No figures recorded yet; the chart shows the trajectory only."
    first, last = figures[0], figures[-1]
    if len(figures) == 1:
        trend = f"One figure: {value_text(last.value, unit)} for {period_text(last.period)}. "
    else:
        direction = (
            "rose"
            if last.value > first.value
            else "fell"
            if last.value < first.value
            else "stayed level"
        )
        trend = (
            f"{len(figures)} monthly figures from {period_text(first.period)} to "
            f"{period_text(last.period)}: {direction} from {value_text(first.value, unit)} "
            f"to {value_text(last.value, unit)}. "
        )
    judged = (
        f"Latest is {'on' if last.on_track else 'off'} trajectory "
        f"(trajectory {value_text(last.expected, unit)} for {period_text(last.period)})."
    )
    return start + trend + judged
