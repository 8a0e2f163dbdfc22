"""The judgement, as pure functions: the trajectory line, its boundary, and the series."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot import impact
from bot.domain import Invalid, Surface
from bot.store.models import Measure, MeasureActual

AT = datetime(2026, 11, 1, tzinfo=UTC)


def measure(better: str = "higher", trajectory: list[list[object]] | None = None) -> Measure:
    return Measure(
        id=1,
        short_id="K1",
        name="Test",
        key="test",
        unit="%",
        better=better,
        baseline_value=0.0,
        baseline_date=date(2026, 1, 1),
        target_value=100.0,
        target_date=date(2026, 1, 11),
        trajectory=trajectory or [],
    )


def row(period: date, value: float, id_: int) -> MeasureActual:
    return MeasureActual(
        id=id_,
        measure_id=1,
        period=period,
        value=value,
        recorded_at=AT,
        source=Surface.CONSOLE,
    )


def test_the_trajectory_is_a_straight_line_from_baseline_to_target() -> None:
    points = impact.trajectory_points(measure())
    assert impact.expected_on(points, date(2026, 1, 6)) == 50
    assert impact.expected_on(points, date(2026, 1, 2)) == 10
    # before the baseline and after the target it holds their values
    assert impact.expected_on(points, date(2025, 12, 1)) == 0
    assert impact.expected_on(points, date(2026, 6, 1)) == 100


def test_interim_points_bend_the_line() -> None:
    points = impact.trajectory_points(measure(trajectory=[["2026-01-06", 80]]))
    assert impact.expected_on(points, date(2026, 1, 6)) == 80
    assert impact.expected_on(points, date(2026, 1, 3)) == pytest.approx(32)
    assert impact.expected_on(points, date(2026, 1, 8)) == pytest.approx(88)


@pytest.mark.parametrize(
    ("value", "better", "on"),
    [
        (53.1, "higher", True),  # exactly on the line counts as on
        (53.2, "higher", True),
        (53.0, "higher", False),
        (56.9, "lower", True),
        (56.8, "lower", True),
        (57.0, "lower", False),
    ],
)
def test_the_boundary(value: float, better: str, on: bool) -> None:
    expected = 53.1 if better == "higher" else 56.9
    assert impact.is_on_trajectory(value, expected, better) is on


def test_equal_within_floating_point_is_on() -> None:
    # 50 + 36.5 × 31/365 in floating point is not exactly 53.1
    expected = 50 + 36.5 * 31 / 365
    assert impact.is_on_trajectory(53.1, expected, "higher")
    assert impact.is_on_trajectory(53.1, expected + 1e-12, "higher")


def test_the_latest_row_for_a_period_wins_and_off_periods_are_counted() -> None:
    m = measure()
    m.baseline_date, m.target_date = date(2026, 1, 31), date(2026, 12, 31)
    rows = [
        row(date(2026, 2, 1), 5, 1),
        row(date(2026, 3, 1), 99, 2),
        row(date(2026, 3, 1), 1, 3),  # a correction: the figure for March is now 1
        row(date(2026, 4, 1), 2, 4),
    ]
    standing = impact.judge(m, rows)
    assert [(f.period.month, f.value, f.rows) for f in standing.figures] == [
        (2, 5, 1),
        (3, 1, 2),
        (4, 2, 1),
    ]
    assert standing.on_track is False
    assert standing.periods_off == 3
    assert standing.change == 1


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-09", date(2026, 9, 1)),
        ("Sep 2026", date(2026, 9, 1)),
        ("September 2026", date(2026, 9, 1)),
        ("2026-09-30", date(2026, 9, 1)),
        ("30/09/2026", date(2026, 9, 1)),
    ],
)
def test_periods(text: str, period: date) -> None:
    assert impact.parse_period(text) == period


@pytest.mark.parametrize("text", ["soon", "2026-13", "End of March", "Q5"])
def test_not_periods(text: str) -> None:
    with pytest.raises(Invalid, match="is not a month"):
        impact.parse_period(text)


@pytest.mark.parametrize(("text", "value"), [("55", 55), ("55.5%", 55.5), ("1,234", 1234)])
def test_values(text: str, value: float) -> None:
    assert impact.parse_value(text) == value


@pytest.mark.parametrize("text", ["n/a", "fifty", "nan", "inf", ""])
def test_not_values(text: str) -> None:
    with pytest.raises(Invalid, match="is not a number"):
        impact.parse_value(text)
