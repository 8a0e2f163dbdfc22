"""Measures of impact (KPIs): their words, figures and periods, and the judgement of each figure
against its trajectory. Pure: no I/O; the store, and who may record, are in services/kpis.py.

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
import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bot.domain import Invalid, Surface, clean_note
from bot.plans.dates import parse_due
from bot.privacy import find_personal_data
from bot.store.models import Measure

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


@functools.cache
def month_end(period: date) -> date:
    """The month's last day. Kept: a plan's figures fall in a few dozen months, and judging
    them all asks for each many times."""
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
    check_value(measure, value)
    check_period(period, today)


def check_value(measure: Measure, value: float) -> None:
    """Within the measure's unit's range: 0 to 100 for a percentage, not negative for time."""
    if measure.unit == "%" and not 0 <= value <= 100:
        raise Invalid(
            f"{measure.short_id} is a percentage: {value_text(value, 'number')} is not "
            "between 0 and 100."
        )
    if measure.unit in ("days", "weeks") and value < 0:
        raise Invalid(f"{measure.short_id} counts {measure.unit}: a figure cannot be negative.")


def check_period(period: date, today: date) -> None:
    """Not a month still to come."""
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


class Actual(Protocol):
    """What a judgement reads of a recorded figure: a `MeasureActual`, or just these columns
    of one (a plan-wide judgement reads thousands, and needs no more)."""

    @property
    def id(self) -> int: ...
    @property
    def period(self) -> date: ...
    @property
    def value(self) -> float: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def person_id(self) -> int | None: ...
    @property
    def source(self) -> Surface: ...
    @property
    def note(self) -> str | None: ...


@dataclass
class Figure:
    period: date
    value: float
    row: Actual  # the latest row for the period: the figure
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


def judge(measure: Measure, rows: Sequence[Actual]) -> Standing:
    """`rows` are the measure's actuals in (period, id) order."""
    points = trajectory_points(measure)
    by_period: dict[date, list[Actual]] = {}
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


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


# How many months apart a measure's figures are meant to be, by what its frequency says; the
# first pattern that matches counts, so half-termly is not termly and biannual is not annual.
_HALF_YEAR = r"bi[\s\-]*annual|semi[\s\-]*annual|half[\s\-]*year|(six|6)[\s\-]*month|twice a year"
_FREQUENCY_MONTHS = (
    (re.compile(r"half[\s\-]*term"), 2),
    (re.compile(r"term"), 4),
    (re.compile(_HALF_YEAR), 6),
    (re.compile(r"quarter"), 3),
    (re.compile(r"annual|year"), 12),
    (re.compile(r"bi[\s\-]*month|(two|2)[\s\-]*month"), 2),
)


def expected_months(measure: Measure) -> int:
    """How many months apart a measure's figures are meant to be: as its frequency says
    (termly, quarterly, biannual, annual…), else a month."""
    words = (measure.frequency or "").lower()
    return next((months for pattern, months in _FREQUENCY_MONTHS if pattern.search(words)), 1)


def change_text(standing: Standing) -> str:
    change, previous, latest = standing.change, standing.previous, standing.latest
    if change is None or previous is None or latest is None:
        return "first figure" if standing.latest else "–"
    unit = standing.measure.unit
    # a figure compared with one long before says so: the periods between have none
    apart = months_between(previous.period, latest.period)
    gap = (
        f", {apart} months earlier (no figures between)"
        if apart > expected_months(standing.measure)
        else ""
    )
    if math.isclose(change, 0, abs_tol=1e-9):
        return f"no change since {period_text(previous.period)}{gap}"
    sign = "+" if change > 0 else "−"
    better = (change > 0) == (standing.measure.better == "higher")
    amount = value_text(abs(change), "number") + (
        " points" if unit == "%" else f" {unit}" if unit in ("days", "weeks") else ""
    )
    return (
        f"{sign}{amount} since {period_text(previous.period)}{gap} "
        f"({'better' if better else 'worse'})"
    )


def latest_text(standing: Standing) -> str:
    latest = standing.latest
    if latest is None:
        return "no figures yet"
    return f"{value_text(latest.value, standing.measure.unit)} ({period_text(latest.period)})"


# --- The chart's words -----------------------------------------------------------------------


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
