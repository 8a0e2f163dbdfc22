"""What `wsoa import` tells the person who imported a tracker, line by line.

Everything the reader noticed about the file (sheets read and skipped, hidden columns, ratings
read from colour, names taken as e-mails…), then what the store did, then each problem with
its row, column and value, and what was done instead. Capped: a file with thousands of bad rows
gives the first ones and "…and N more".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.plans.read import ParsedPlan, RowProblem


class Applied(Protocol):
    """What bot.services.imports.ImportReport gives; a Protocol so plans never import services."""

    created: list[str]
    changed: dict[str, list[str]]
    kept: dict[str, list[str]]
    unchanged: int
    not_in_file: list[str]
    problems: list[RowProblem]
    problems_left_off: int
    unlinked_leads: list[str]
    unmatched_leads: list[str]
    ratings_narrowed: list[str]
    impacts_recorded: list[str]

    @property
    def conflicts(self) -> Mapping[str, Sequence[object]]: ...


def report_lines(filename: str, parsed: ParsedPlan, applied: Applied) -> list[str]:
    lines = [f"Imported {filename}:"]
    lines += [f"  note: {note}" for note in parsed.notes]
    if parsed.ignored_columns:
        lines.append(f"  columns not used: {', '.join(parsed.ignored_columns)}")
    lines.append(f"  created {len(applied.created)}: {', '.join(applied.created) or '-'}")
    lines.append(f"  changed {len(applied.changed)}:")
    lines += [f"    {ref}: {', '.join(fields)}" for ref, fields in applied.changed.items()]
    lines.append(f"  unchanged {applied.unchanged}")
    if applied.kept:
        lines.append(
            f"  kept as changed in the bot, the file's cell unchanged since the last import "
            f"({len(applied.kept)}):"
        )
        lines += [f"    {ref}: {', '.join(fields)}" for ref, fields in applied.kept.items()]
    if applied.conflicts:
        lines.append(
            f"  changed both in the bot and in the file since the last import "
            f"({len(applied.conflicts)}; --prefer-file applies the file's):"
        )
        lines += [
            f"    {ref}: {conflict}"
            for ref, found in applied.conflicts.items()
            for conflict in found
        ]
    if applied.not_in_file:
        lines.append(
            f"  kept, not in this file ({len(applied.not_in_file)}): "
            + ", ".join(applied.not_in_file)
        )
    if applied.unmatched_leads:
        lines.append(
            f"  leads matching nobody known ({len(applied.unmatched_leads)}), added by name: "
            + ", ".join(applied.unmatched_leads)
        )
    if applied.ratings_narrowed:
        lines.append(
            "  five-point ratings kept as the nearer three-point one: "
            + ", ".join(applied.ratings_narrowed)
        )
    if applied.impacts_recorded:
        lines.append(
            "  what the work changed (“The difference it made”), recorded for "
            + ", ".join(f"‘{name}’" for name in applied.impacts_recorded)
        )
    lines += problem_lines(applied.problems, applied.problems_left_off)
    return lines


def problem_lines(problems: Sequence[RowProblem], left_off: int = 0) -> list[str]:
    """Rows not loaded first (they need fixing), then cells left out of rows that loaded."""
    lines: list[str] = []
    refused = [p for p in problems if not p.loaded]
    cells = [p for p in problems if p.loaded]
    if refused:
        lines.append(f"  rows not loaded ({len(refused)}):")
        lines += [f"    {_where(p)}: {p.reason}" for p in refused]
    if cells:
        lines.append(f"  cells not read, the row loaded without them ({len(cells)}):")
        lines += [f"    {_where(p)}: {p.reason}" for p in cells]
    if left_off:
        lines.append(f"  …and {left_off:,} more problems")
    return lines


def _where(problem: RowProblem) -> str:
    sheet = f"sheet ‘{problem.sheet}’ " if problem.sheet else ""
    ref = f" {problem.ref}" if problem.ref else ""
    return f"{sheet}row {problem.row}{ref}"
