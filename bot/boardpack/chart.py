"""The RAG-over-time chart: stacked bars, one per board meeting, as a PNG with its alt text.

Colour never carries the meaning alone: each rating also has its own hatching, its name in the
legend, and its count written on the bar; the alt text gives every figure in words.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.boardpack.data import ChartPoint

# (field, label, colour, hatch). The colours are the plan's RAG colours, dark enough for the
# white count written on them; the hatching tells them apart without colour.
SERIES = (
    ("red", "Red", "#b00020", "xx"),
    ("amber", "Amber", "#b35900", "//"),
    ("green", "Green", "#1b6e20", ".."),
    ("complete", "Complete", "#1d4f91", "oo"),
    ("unrated", "Not rated", "#5f6368", ""),
)


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
    # A bare Figure, not pyplot: no global state and no display; savefig picks the PNG canvas.
    # Imported here: it takes a second that no other command should wait for.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.8), dpi=150)
    axes = figure.subplots()
    labels = [p.label for p in points]
    bottoms = [0] * len(points)
    for name, label, colour, hatch in SERIES:
        values = [getattr(p, name) for p in points]
        bars = axes.bar(
            labels,
            values,
            bottom=bottoms,
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
            fontsize=8,
            fontweight="bold",
            # a solid box behind the figure, so the hatching never runs through it
            bbox={"boxstyle": "round,pad=0.2", "facecolor": colour, "edgecolor": "none"},
        )
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_ylabel("Actions")
    axes.set_title("RAG ratings at each board meeting")
    axes.tick_params(axis="x", labelsize=8, labelrotation=20)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    # No timestamp in the PNG's metadata: the same figures give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue(), alt_text(points)
