"""Measures and their figures as two sheets, "Measures" and "Actuals", added to an xlsx export.

The headings are ones kpi_read.py accepts, so the export imports back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.plans.write import EXCEL_DATE_FORMAT, EXCEL_TIME_FORMAT, neutralise

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
