"""Charts as PNG bytes: plain functions over plain data, for chat replies and board packs.

Matplotlib's object API with the Agg canvas: no pyplot, so no global figure state, no display,
and charts can be drawn from several threads at once. Matplotlib is imported when a chart is
first drawn: it takes a second, which every `wsoa` command would otherwise wait for.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

WIDTH_INCHES = 8.0
HEIGHT_INCHES = 3.6
DPI = 100
# Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito), each at 3:1
# or more against the white background (WCAG 1.4.11), and line styles that differ too, so the
# chart reads in greyscale print.
ACTUAL_COLOUR = "#0072B2"
TRAJECTORY_COLOUR = "#D55E00"
TARGET_COLOUR = "#007A5A"
BACKGROUND = "#FFFFFF"
# Text at this size stays at 10 pt or more when the chart is placed 6 inches wide in a pack.
FONT_SIZE = 14

Series = list[tuple[date, float]]


@dataclass(frozen=True)
class TrendChart:
    png: bytes
    width: int  # pixels
    height: int
    # what was plotted, read back from the drawn lines: tests and alt text compare against it
    actuals: Series
    trajectory: Series
    target: tuple[date, float]


def trend_chart(
    *,
    title: str,
    unit: str,
    actuals: Series,
    trajectory: Series,
    target: tuple[date, float],
    gap_days: int | None = None,
) -> TrendChart:
    """Actual figures (solid, with markers) against the trajectory (dashed) and the target
    (a marked point, with a dotted line across). Where two figures are more than `gap_days`
    apart the line breaks: no line is drawn across periods that have no figure."""
    return _drawn(title, unit, tuple(actuals), tuple(trajectory), target, gap_days)


# Drawing takes about half a second, and the same figures give the same chart: a measure
# shown again (its page, `kpi chart`, each board pack) draws it once.
@functools.lru_cache(maxsize=64)
def _drawn(
    title: str,
    unit: str,
    actuals: tuple[tuple[date, float], ...],
    trajectory: tuple[tuple[date, float], ...],
    target: tuple[date, float],
    gap_days: int | None,
) -> TrendChart:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    with matplotlib.rc_context({"font.size": FONT_SIZE}):
        return _draw(figure, title, unit, list(actuals), list(trajectory), target, gap_days)


def _draw(
    figure: Figure,
    title: str,
    unit: str,
    actuals: Series,
    trajectory: Series,
    target: tuple[date, float],
    gap_days: int | None,
) -> TrendChart:
    import matplotlib.dates as mdates

    axes = figure.add_subplot()
    (trajectory_line,) = axes.plot(
        _days(trajectory),
        [v for _, v in trajectory],
        linestyle="--",
        color=TRAJECTORY_COLOUR,
        label="Trajectory",
    )
    axes.axhline(target[1], linestyle=":", color=TARGET_COLOUR, linewidth=1)
    (target_point,) = axes.plot(
        _days([target]),
        [target[1]],
        marker="*",
        markersize=14,
        color=TARGET_COLOUR,
        linestyle="none",
        label="Target",
    )
    drawn = _broken(actuals, gap_days)
    (actual_line,) = axes.plot(
        _days(drawn),
        [v for _, v in drawn],
        marker="o",
        color=ACTUAL_COLOUR,
        linewidth=2,
        label="Actual",
    )
    axes.set_title(title, loc="left")
    axes.set_ylabel({"%": "per cent", "number": "number"}.get(unit, unit))
    # The axis fits the figures, the trajectory and the target, so a miss can be seen: 2.5
    # against 4.2 is lost on an axis from 0 to 100.
    values = [v for _, v in (*actuals, *trajectory, target) if not math.isnan(v)]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 1.0)
    axes.set_ylim(bottom=low - pad, top=high + pad)
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", frameon=False)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    drawn_target = _series(target_point)
    return TrendChart(
        png=out.getvalue(),
        width=round(WIDTH_INCHES * DPI),
        height=round(HEIGHT_INCHES * DPI),
        actuals=_series(actual_line),
        trajectory=_series(trajectory_line),
        target=drawn_target[0],
    )


def _days(series: Series) -> NDArray[np.float64]:
    """Dates as matplotlib's day numbers: what its date axis plots."""
    import matplotlib.dates as mdates

    return np.asarray(mdates.date2num([d for d, _ in series]), dtype=np.float64)


def _broken(series: Series, gap_days: int | None) -> Series:
    """`series` with a missing value (NaN, which matplotlib does not join) between two points
    more than `gap_days` apart."""
    out: Series = []
    for point in series:
        if out and gap_days is not None and (point[0] - out[-1][0]).days > gap_days:
            out.append((out[-1][0] + (point[0] - out[-1][0]) / 2, math.nan))
        out.append(point)
    return out


def _series(line: Line2D) -> Series:
    """A drawn line's points back as (date, value), without the breaks."""
    import matplotlib.dates as mdates

    data = line.get_data(orig=False)
    xs, ys = np.asarray(data[0], dtype=np.float64), np.asarray(data[1], dtype=np.float64)
    return [
        (mdates.num2date(float(x)).date(), float(y))
        for x, y in zip(xs, ys, strict=True)
        if not math.isnan(y)
    ]
