"""The RAG-over-time chart: stacked bars across the page, one per board meeting, each named in
full beside its bar, as a PNG with its alt text.

Colour never carries the meaning alone: each rating also has its own hatching, its name in the
legend, and its count written on the bar; the alt text gives every figure in words.
"""

from __future__ import annotations

import functools
import io
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.boardpack.data import ChartPoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# (field, label, colour, hatch). The colours are the plan's RAG colours, dark enough for the
# white count written on them; the hatching tells them apart without colour.
SERIES = (
    ("red", "Red", "#b00020", "xx"),
    ("amber", "Amber", "#b35900", "//"),
    ("green", "Green", "#1b6e20", ".."),
    ("complete", "Complete", "#1d4f91", "oo"),
    ("unrated", "Not rated", "#5f6368", ""),
)
# Placed 17 cm wide in the pack (the chart is 7.5 inches), text at this size reads at about
# 10 pt; each meeting's name wraps beside its bar.
FONT_SIZE = 11
LABEL_CHARS = 24
BAR_INCHES = 0.55


def alt_text(points: Sequence[ChartPoint]) -> str:
    parts = [
        f"{p.label}: {p.red} red, {p.amber} amber, {p.green} green, {p.complete} complete, "
        f"{p.unrated} not rated"
        for p in points
    ]
    return (
        "Bar chart of the number of actions by RAG rating at each board meeting. "
        + "; ".join(parts)
        + "."
    )


def rag_chart(points: Sequence[ChartPoint]) -> tuple[bytes, str]:
    """The PNG and its alt text."""
    return _drawn(tuple(points))


# Drawing takes most of a second, and the same figures give the same bytes: a pack made again
# from the same figures (asked for again, a digest retried on a later tick) draws it once.
@functools.lru_cache(maxsize=32)
def _drawn(points: tuple[ChartPoint, ...]) -> tuple[bytes, str]:
    # A bare Figure, not pyplot: no global state and no display; savefig picks the PNG canvas.
    # Imported here: it takes a second that no other command should wait for.
    import matplotlib
    from matplotlib.figure import Figure

    # One bar a meeting, across the page, so each meeting's name reads in full beside its bar,
    # however many meetings there are; the newest at the bottom.
    height = 1.4 + BAR_INCHES * len(points)
    with matplotlib.rc_context({"font.size": FONT_SIZE}):
        return _draw(Figure(figsize=(7.5, height), dpi=150), points)


def _draw(figure: Figure, points: Sequence[ChartPoint]) -> tuple[bytes, str]:
    axes = figure.subplots()
    labels = [textwrap.fill(p.label, LABEL_CHARS, break_long_words=False) for p in points]
    lefts = [0] * len(points)
    for name, label, colour, hatch in SERIES:
        values = [getattr(p, name) for p in points]
        bars = axes.barh(
            labels,
            values,
            left=lefts,
            label=label,
            color=colour,
            hatch=hatch,
            edgecolor="white",
            linewidth=0.6,
        )
        axes.bar_label(
            bars,
            labels=[str(v) if v else "" for v in values],
            label_type="center",
            color="white",
            fontweight="bold",
            # a solid box behind the figure, so the hatching never runs through it
            bbox={"boxstyle": "round,pad=0.2", "facecolor": colour, "edgecolor": "none"},
        )
        lefts = [b + v for b, v in zip(lefts, values, strict=True)]
    axes.invert_yaxis()  # the first meeting at the top, this pack at the bottom
    axes.set_xlabel("Actions")
    axes.set_title("RAG ratings at each board meeting", pad=FONT_SIZE * 3)
    # the key between the title and the bars, clear of the axis and its label
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(SERIES), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    # No timestamp in the PNG's metadata: the same figures give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None}, bbox_inches="tight")
    return out.getvalue(), alt_text(points)
