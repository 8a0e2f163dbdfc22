"""Writing the plan out: CSV and Excel that `wsoa import` reads back, and Markdown for papers.

Times are written as the wall-clock time they carry: pass them in the partnership's timezone.

Due dates go in two columns, so a sheet never mixes dates and words in one: `Due` holds the
date itself (ISO `2027-03-31` in CSV, a date cell in Excel, empty when there is none) and
`Due as written` the plan's own wording ("March 2027", "End of Spring Term 2027", "TBC"),
empty when the plan gave a plain date. Reading the file back gives both exactly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, BinaryIO, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel

from bot.domain import Invalid, day_text
from bot.plans.dates import stable_due_wording
from bot.plans.read import FORMULA_STARTS


class ExportRow(BaseModel):
    ref: str
    title: str
    workstream: str
    leads: list[str]
    due: date | None
    due_text: str | None
    status: str
    rag: str | None
    measure: str | None
    latest_note: str | None
    latest_update_at: datetime | None
    open_followups: list[str]  # e.g. "FU-3: How many are over 30 week wait?"
    # The workstream's position in the plan: Markdown orders its sections by it.
    workstream_position: int | None = None


# Headings read.py accepts, so an export can be imported again.
COLUMNS = (
    "Ref",
    "Title",
    "Workstream",
    "Lead",
    "Due",
    "Due as written",
    "Status",
    "RAG",
    "Measure",
    "Latest note",
    "Latest update",
    "Open follow-ups",
)
# Widest each column may grow in Excel, in characters; long text wraps instead.
MAX_WIDTHS = (12, 60, 30, 30, 12, 24, 14, 12, 50, 60, 18, 50)
RAG_FILLS = {
    "red": PatternFill("solid", fgColor="F8696B"),
    "red/amber": PatternFill("solid", fgColor="F4A460"),
    "amber": PatternFill("solid", fgColor="FFC000"),
    "amber/green": PatternFill("solid", fgColor="C4D79B"),
    "green": PatternFill("solid", fgColor="63BE7B"),
}
WRAPPED_COLUMNS = frozenset({"Title", "Measure", "Latest note", "Open follow-ups"})
EXCEL_DATE_FORMAT = "dd/mm/yyyy"
EXCEL_TIME_FORMAT = "dd/mm/yyyy hh:mm"

Cell = str | date | datetime


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as written, never runs: `=`, `+`, `-`, `@` get a leading '.

    A leading ' is itself doubled, so read.py, which takes one ' off, gives back the text exactly.
    """
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(rows: list[ExportRow], out: IO[str]) -> None:
    """Open `out` with newline="" (the csv module writes its own line endings)."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in _cells(row)])


def write_xlsx(rows: list[ExportRow], path_or_stream: Path | BinaryIO) -> None:
    """One sheet: bold, frozen header with filters; RAG cells coloured; long text wrapped."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "Actions"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_xlsx_cell(cell) for cell in _cells(row)])
    _style_body(sheet, len(rows))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    _set_widths(sheet, rows)
    workbook.save(path_or_stream)


def write_markdown(rows: list[ExportRow], title: str) -> str:
    """A table per workstream, in the plan's order of workstreams, then open follow-ups."""
    lines = [f"# {_md_cell(title)}", ""]
    if not rows:
        return "\n".join([*lines, "No actions.", ""])
    for workstream, members in _by_workstream(rows).items():
        lines += [f"## {_md_cell(workstream)}", ""]
        lines += _md_table(members)
        followups = [f for row in members for f in row.open_followups]
        if followups:
            lines += ["", "Open follow-ups:", ""]
            lines += [f"- {_md_cell(followup)}" for followup in followups]
        lines.append("")
    return "\n".join(lines)


def export(
    rows: list[ExportRow],
    fmt: Literal["csv", "xlsx", "md"],
    out_path: Path,
    *,
    title: str | None = None,
) -> None:
    """Writes the file; `title` heads a Markdown export (the file's name when not given)."""
    if fmt == "csv":
        # The byte-order mark tells Excel the file is UTF-8, so dashes and accents survive.
        with out_path.open("w", newline="", encoding="utf-8-sig") as out:
            write_csv(rows, out)
    elif fmt == "xlsx":
        write_xlsx(rows, out_path)
    elif fmt == "md":
        out_path.write_text(write_markdown(rows, title or out_path.stem), encoding="utf-8")
    else:
        raise Invalid(f"“{fmt}” is not an export format: use csv, xlsx or md.")


# --- Cells ---------------------------------------------------------------------------------


def _cells(row: ExportRow) -> list[Cell]:
    return [
        row.ref,
        row.title,
        row.workstream,
        "; ".join(row.leads),
        row.due or "",
        row.due_text or "",
        row.status,
        row.rag or "",
        row.measure or "",
        row.latest_note or "",
        _wall_clock(row.latest_update_at) if row.latest_update_at else "",
        "\n".join(row.open_followups),
    ]


def _wall_clock(moment: datetime) -> datetime:
    # Excel has no timezones; the time as the partnership reads it is what the cell should show.
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def csv_cell(cell: Cell | float | None) -> str:
    """A cell as a CSV export writes it: ISO dates, formulas neutralised, numbers as %g."""
    if cell is None:
        return ""
    if isinstance(cell, float | int):
        return f"{cell:g}"
    return _csv_cell(cell)


def _csv_cell(cell: Cell) -> str:
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ", timespec="minutes")
    if isinstance(cell, date):
        return cell.isoformat()
    return neutralise(cell)


def _xlsx_cell(cell: Cell) -> Cell | None:
    if isinstance(cell, date):
        return cell
    # Control characters (pasted from other programs) would make Excel call the file corrupt.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", cell)) or None


def _style_body(sheet: Worksheet, row_count: int) -> None:
    rag_column = COLUMNS.index("RAG") + 1
    wrapped = [COLUMNS.index(name) + 1 for name in WRAPPED_COLUMNS]
    for line in range(2, row_count + 2):
        rag_cell = sheet.cell(line, rag_column)
        fill = RAG_FILLS.get(str(rag_cell.value or "").lower())
        if fill is not None:
            rag_cell.fill = fill
        for column in wrapped:
            sheet.cell(line, column).alignment = Alignment(wrap_text=True, vertical="top")
        for column in range(1, len(COLUMNS) + 1):
            cell = sheet.cell(line, column)
            if isinstance(cell.value, datetime):
                cell.number_format = EXCEL_TIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = EXCEL_DATE_FORMAT


def _set_widths(sheet: Worksheet, rows: list[ExportRow]) -> None:
    cells = [_cells(row) for row in rows]
    for position, (heading, widest) in enumerate(zip(COLUMNS, MAX_WIDTHS, strict=True)):
        longest = max((_longest_line(row[position]) for row in cells), default=0)
        width = min(widest, max(len(heading), longest) + 2)
        sheet.column_dimensions[get_column_letter(position + 1)].width = width


def _longest_line(cell: Cell) -> int:
    if isinstance(cell, datetime):
        return len("31/01/2027 09:00")
    if isinstance(cell, date):
        return len("31/01/2027")
    return max((len(line) for line in cell.splitlines()), default=0)


# --- Markdown ------------------------------------------------------------------------------


def _by_workstream(rows: list[ExportRow]) -> dict[str, list[ExportRow]]:
    """Workstreams by their position in the plan; without positions, as they first appear."""
    groups: dict[str, list[ExportRow]] = {}
    order: dict[str, tuple[int, int]] = {}
    for seen, row in enumerate(rows):
        groups.setdefault(row.workstream, []).append(row)
        position = row.workstream_position if row.workstream_position is not None else seen
        order.setdefault(row.workstream, (position, seen))
    return {name: groups[name] for name in sorted(groups, key=order.__getitem__)}


def _md_table(rows: Sequence[ExportRow]) -> list[str]:
    headings = ("Ref", "Action", "Lead", "Due", "Status", "RAG", "Latest note")
    lines = [_md_row(headings), "|" + " --- |" * len(headings)]
    for row in rows:
        lines.append(
            _md_row(
                [
                    row.ref,
                    row.title,
                    "; ".join(row.leads),
                    _md_due(row.due, row.due_text),
                    row.status,
                    row.rag or "",
                    _md_note(row),
                ]
            )
        )
    return lines


def md_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table whose cells cannot break it."""
    return [_md_row(headings), "|" + " --- |" * len(headings), *(_md_row(r) for r in rows)]


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_cell(cell) for cell in cells) + " |"


def _md_cell(text: str) -> str:
    """Cell text that cannot break the table: pipes escaped, line breaks as <br>, no HTML tags."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return "<br>".join(line.strip() for line in escaped.strip().splitlines())


def _md_due(due: date | None, due_text: str | None) -> str:
    """The plan's wording when it names its own date ("March 2027"), else the date itself."""
    wording = stable_due_wording(due, due_text)
    if wording:
        return wording
    return day_text(due) if due else due_text or ""


def _md_note(row: ExportRow) -> str:
    if not row.latest_note:
        return ""
    when = f" ({day_text(row.latest_update_at.date())})" if row.latest_update_at else ""
    return row.latest_note + when


# --- The audit trail -------------------------------------------------------------------------


def write_audit_csv(
    header: Sequence[str], rows: Iterable[Sequence[str | datetime]], out: IO[str]
) -> int:
    """The trail as CSV, formula-looking cells neutralised as in the export. Returns the rows."""
    writer = csv.writer(out)
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
        n += 1
    return n


# The audit sheet's column widths (in characters), by heading; the free-text ones wrap.
AUDIT_WIDTHS = {
    "When": 18,
    "Who": 30,
    "Action": 10,
    "Kind": 14,
    "Field": 16,
    "Old": 30,
    "New": 30,
    "Note": 50,
    "Source": 10,
    "Record": 20,
    "Chain hash": 66,
}
AUDIT_WRAPPED = frozenset({"Old", "New", "Note"})
# A free-text cell longer than this is written wrapped.
WRAP_FROM = 40


def write_audit_xlsx(
    header: Sequence[str],
    rows: Iterable[Sequence[str | datetime]],
    path: Path | BinaryIO,
    tz_name: str = "",
) -> int:
    """The trail as one sheet, written as it streams (write-only: any length in little memory),
    laid out for reading: the times' zone in the header, widths set, long notes wrapped, the
    header frozen and filterable."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Audit trail")
    sheet.freeze_panes = "A2"
    for number, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = AUDIT_WIDTHS.get(name, 16)
    sheet.append([f"{name} ({tz_name})" if name == "When" and tz_name else name for name in header])
    wrapped = {i for i, name in enumerate(header) if name in AUDIT_WRAPPED}
    wrap = Alignment(wrap_text=True, vertical="top")
    n = 0
    for row in rows:
        cells: list[object] = []
        for i, cell in enumerate(row):
            value = cell.replace(tzinfo=None) if isinstance(cell, datetime) else _xlsx_cell(cell)
            if i in wrapped and isinstance(value, str) and len(value) > WRAP_FROM:
                long = WriteOnlyCell(sheet, value=value)
                long.alignment = wrap
                cells.append(long)
            else:
                cells.append(value)
        sheet.append(cells)
        n += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{n + 1}"
    workbook.save(path)
    return n
