"""Excel workbooks: every visible sheet with a header row, merged cells filled, hidden columns
left out, and the RAG column's fill colours read, after the size checks in limits.py.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import openpyxl
from openpyxl.utils import column_index_from_string

from bot.domain import UserError
from bot.plans.colours import Colour, fill_meaning, theme_colours
from bot.plans.limits import MAX_COLUMNS, CellBudget, TooLarge, check_xlsx_archive
from bot.plans.rows import (
    HEADER_SEARCH_ROWS,
    Header,
    NoSavedValue,
    ParsedPlan,
    PlanFileError,
    Reading,
    find_header,
    finish,
    no_header_error,
    note_no_workstream_column,
    read_sheet,
)
from bot.plans.sheet_names import is_measures_sheet


def read_xlsx(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    """Every visible sheet with a header row; covers, notes and lookups are skipped, and said so.

    The workbook's size is checked from the zip directory, then row by row in a streaming pass,
    before it is loaded whole (merged cells, hidden columns and fill colours need that).
    """
    damaged = PlanFileError(
        f"{filename} cannot be opened as an Excel workbook: it may be damaged, "
        "password-protected, or another kind of file named .xlsx."
    )
    try:
        check_xlsx_archive(data, filename)
        formulas = _survey_sheets(data, filename)
    except TooLarge as error:
        raise PlanFileError(str(error)) from None
    except UserError:
        raise
    except Exception:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise damaged from None
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception:
        raise damaged from None
    try:
        return _read_workbook(workbook, filename, today, formulas)
    except UserError:
        raise
    except Exception:  # a sheet's XML can be damaged even when the workbook opened
        raise damaged from None
    finally:
        workbook.close()


# Where each sheet (by title) has a formula, by (row, column) counting from 0, and the formula.
Formulas = dict[str, dict[tuple[int, int], str]]


def _survey_sheets(data: bytes, filename: str) -> Formulas:
    """Counts rows, columns and filled cells in a streaming pass, in little memory, and notes
    where the formulas are: a formula whose result the file does not keep (a file written by a
    program that does not calculate) reads as empty otherwise, and must be reported instead."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    formulas: Formulas = {}
    budget = CellBudget(filename)
    try:
        for sheet in workbook.worksheets:
            # Some programs record a wrong sheet size; without one openpyxl reads what is there.
            sheet.reset_dimensions()
            found = formulas.setdefault(sheet.title, {})
            for index, row in enumerate(budget.rows(sheet)):
                for column, value in enumerate(row):
                    # text that starts with "=" is found too; it keeps its value, so it is
                    # never taken for a formula without one
                    if isinstance(value, str) and value.startswith("="):
                        found[(index, column)] = value
    finally:
        workbook.close()
    return formulas


@dataclass
class _Sheet:
    title: str
    rows: list[list[object]]
    header: Header
    colours: dict[int, Colour]


def _read_workbook(
    workbook: Any, filename: str, today: date | None, formulas: Formulas
) -> ParsedPlan:
    theme = theme_colours(getattr(workbook, "loaded_theme", None))
    sheets: list[_Sheet] = []
    skipped: list[str] = []
    first_sheet_top: list[list[object]] | None = None
    for sheet in workbook.worksheets:
        if sheet.sheet_state != "visible":
            skipped.append(f"‘{sheet.title}’ (hidden)")
            continue
        if is_measures_sheet(sheet.title):
            skipped.append(f"‘{sheet.title}’ (measures, read as such)")
            continue
        rows = _sheet_rows(sheet, formulas.get(sheet.title, {}))
        header = find_header(rows, _hidden_columns(sheet))
        if header is None:
            first_sheet_top = (
                rows[:HEADER_SEARCH_ROWS] if first_sheet_top is None else first_sheet_top
            )
            skipped.append(f"‘{sheet.title}’ (no header row with ref and title)")
            continue
        sheets.append(_Sheet(sheet.title, rows, header, _rag_colours(sheet, header, rows, theme)))
    if not sheets:
        if first_sheet_top is None:
            raise PlanFileError(f"{filename} has no sheets.")
        raise no_header_error(first_sheet_top, filename)

    several = len(sheets) > 1
    reading = Reading(unit="row", today=today)
    for sheet_read in sheets:
        # With one sheet per pillar, the sheet's name is the workstream of its rows unless a
        # workstream column or a section row says otherwise.
        reading.sheet = sheet_read.title if several else None
        reading.workstream = " ".join(sheet_read.title.split()) if several else None
        read_sheet(sheet_read.rows, sheet_read.header, reading, sheet_read.colours)
    plan = finish(reading, filename)
    plan.ignored_columns = list(
        dict.fromkeys(heading for s in sheets for heading in s.header.ignored)
    )
    plan.sheets_read = [s.title for s in sheets]
    plan.sheets_skipped = skipped
    hidden = list(dict.fromkeys(h for s in sheets for h in s.header.hidden))
    if hidden:
        plan.notes.insert(0, f"Hidden columns not read: {', '.join(hidden)}.")
    if several:
        read = ", ".join(f"‘{s.title}’" for s in sheets)
        plan.notes.insert(0, f"Read sheets {read}: each sheet's name is its rows' workstream.")
    elif skipped:
        plan.notes.insert(0, f"Read sheet ‘{sheets[0].title}’, the first with a header row.")
    if skipped:
        plan.notes.insert(1, f"Sheets not read: {', '.join(skipped)}.")
    if not several and "workstream" not in sheets[0].header.columns:
        note_no_workstream_column(plan)
    return plan


def _sheet_rows(sheet: Any, formulas: dict[tuple[int, int], str]) -> list[list[object]]:
    """The sheet's values, with each merged range's value in every cell of the range, and a
    formula the file keeps no result for marked as such rather than left empty."""
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        for row_number in range(merged.min_row, min(merged.max_row, len(rows)) + 1):
            cells = rows[row_number - 1]
            if len(cells) < merged.max_col:
                cells.extend([None] * (merged.max_col - len(cells)))
            for column in range(merged.min_col, merged.max_col + 1):
                cells[column - 1] = value
    for (index, column), formula in formulas.items():
        if index < len(rows) and column < len(rows[index]) and rows[index][column] is None:
            rows[index][column] = NoSavedValue(formula)
    return rows


def _hidden_columns(sheet: Any) -> frozenset[int]:
    hidden: set[int] = set()
    for letter, dimension in sheet.column_dimensions.items():
        if not dimension.hidden:
            continue
        first = dimension.min or column_index_from_string(letter)
        last = dimension.max or first
        hidden.update(range(first - 1, min(last, MAX_COLUMNS)))
    return frozenset(hidden)


def _rag_colours(
    sheet: Any, header: Header, rows: Sequence[Sequence[object]], theme: list[str]
) -> dict[int, Colour]:
    """What the RAG column's fills say, by row position; a merged cell's fill is its first's."""
    column = header.columns.get("rag")
    if column is None:
        return {}
    top_left: dict[int, int] = {}
    for merged in sheet.merged_cells.ranges:
        if merged.min_col <= column + 1 <= merged.max_col:
            for row_number in range(merged.min_row + 1, merged.max_row + 1):
                top_left[row_number] = merged.min_row
    colours: dict[int, Colour] = {}
    for index in range(header.row_index + 1, len(rows)):
        row_number = top_left.get(index + 1, index + 1)
        meaning = fill_meaning(sheet.cell(row_number, column + 1).fill, theme)
        if meaning is not None:
            colours[index] = meaning
    return colours
