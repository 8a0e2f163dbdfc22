"""Measures and their figures in an export: two sheets, "Measures" and "Actuals", added to an
xlsx export; two CSV files beside a CSV export (a CSV holds one table); a section at the end
of a Markdown export.

The headings are ones kpi_read.py accepts, so the xlsx and CSV exports import back unchanged.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.plans.write import EXCEL_DATE_FORMAT, EXCEL_TIME_FORMAT, csv_cell, md_table, neutralise

MEASURE_COLUMNS = (
    "Id",
    "KPI",
    "Definition",
    "Unit",
    "Better",
    "Baseline",
    "Baseline date",
    "Target",
    "Target date",
    "Trajectory",
    "Workstream",
    "Actions",
    "Owner",
    "Source",
    "Frequency",
)
ACTUAL_COLUMNS = ("KPI", "Measure", "Period", "Value", "Note", "Recorded", "By")
WIDEST = 50

Cell = str | float | date | datetime | None


@dataclass(frozen=True)
class MeasureSheets:
    measures: list[list[Cell]]  # one a row, in MEASURE_COLUMNS order
    actuals: list[list[Cell]]  # the current figure per period, in ACTUAL_COLUMNS order
    # beside each measure, for reading rather than re-import: its latest figure and whether it
    # is on trajectory, as `kpi list` says them
    judged: list[tuple[str, str]] = field(default_factory=list)


def add_measure_sheets(path: Path, sheets: MeasureSheets) -> None:
    """Adds the two sheets to the workbook at `path` (written by plans.write)."""
    workbook = load_workbook(path)
    _sheet(workbook.create_sheet("Measures"), MEASURE_COLUMNS, sheets.measures)
    _sheet(workbook.create_sheet("Actuals"), ACTUAL_COLUMNS, sheets.actuals)
    workbook.save(path)


def _sheet(sheet: Worksheet, columns: tuple[str, ...], rows: list[list[Cell]]) -> None:
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([neutralise(c) if isinstance(c, str) else c for c in row])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, datetime):
                cell.number_format = EXCEL_TIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = EXCEL_DATE_FORMAT
    sheet.freeze_panes = "A2"
    for position, heading in enumerate(columns):
        longest = max((len(str(r[position] or "")) for r in rows), default=0)
        width = min(WIDEST, max(len(heading), longest) + 2)
        sheet.column_dimensions[get_column_letter(position + 1)].width = width


def measure_csv_paths(path: Path) -> tuple[Path, Path]:
    """`plan.csv` → `plan-measures.csv`, `plan-actuals.csv`."""
    return (
        path.with_name(f"{path.stem}-measures{path.suffix}"),
        path.with_name(f"{path.stem}-actuals{path.suffix}"),
    )


def write_measure_csvs(path: Path, sheets: MeasureSheets) -> tuple[Path, Path]:
    """The measures and their figures as two CSV files beside the plan's (`wsoa import` reads
    each back: a measures file, then an actuals file)."""
    written = measure_csv_paths(path)
    for target, columns, rows in zip(
        written, (MEASURE_COLUMNS, ACTUAL_COLUMNS), (sheets.measures, sheets.actuals), strict=True
    ):
        with target.open("w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([csv_cell(c) for c in row] for row in rows)
    return written


def measures_markdown(sheets: MeasureSheets) -> str:
    """The Markdown export's last section: each measure with its baseline, target, latest
    figure and standing, then every period's figure."""
    if not sheets.measures:
        return ""
    column = {name: i for i, name in enumerate(MEASURE_COLUMNS)}

    def text(row: list[Cell], name: str) -> str:
        return _md_text(row[column[name]])

    rows = []
    for row, (latest, standing) in zip(sheets.measures, sheets.judged, strict=True):
        unit = text(row, "Unit")
        suffix = "%" if unit == "%" else f" {unit}" if unit in ("days", "weeks") else ""
        rows.append(
            [
                text(row, "Id"),
                text(row, "KPI"),
                f"{text(row, 'Baseline')}{suffix} at {text(row, 'Baseline date')}",
                f"{text(row, 'Target')}{suffix} by {text(row, 'Target date')}",
                f"{text(row, 'Better')} is better",
                latest,
                standing,
                text(row, "Owner"),
            ]
        )
    lines = ["## Measures of impact", ""]
    lines += md_table(
        ("Id", "Measure", "Baseline", "Target", "Better", "Latest", "Trajectory", "Owner"), rows
    )
    if sheets.actuals:
        lines += ["", "### Figures", ""]
        lines += md_table(
            ("Id", "Period", "Value", "Note"),
            [
                [_md_text(r[0]), _md_text(r[2]), _md_text(r[3]), _md_text(r[4])]
                for r in sheets.actuals
            ],
        )
    return "\n".join([*lines, ""])


def _md_text(cell: Cell | float) -> str:
    """As written: Markdown runs no formulas, so nothing is neutralised."""
    if cell is None:
        return ""
    if isinstance(cell, float | int):
        return f"{cell:g}"
    if isinstance(cell, date):
        return cell.isoformat()
    return cell
