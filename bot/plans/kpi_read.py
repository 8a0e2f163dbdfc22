"""Reading measures (KPIs) and their figures from spreadsheets.

Where they are found:
- a CSV file of its own: measures (a `kpi` column with baseline, target or unit), or figures
  (`kpi`, `period`, `value`);
- in a workbook: a sheet named "KPIs" or "Measures" (or any sheet whose header has kpi,
  baseline and target), and a sheet named "Actuals" (or any with kpi, period and value).

Figures come in two layouts: long (the Actuals sheet, one figure a row) and wide (columns on the
measures sheet headed by months: `Apr 2026`, `2026-05`, or an Excel date). A cell that cannot be
read is reported by sheet, row and column, and the rest still loads.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from bot.domain import Invalid, UserError
from bot.impact import parse_better, parse_period, parse_unit, parse_value
from bot.plans.limits import CellBudget, TooLarge, check_xlsx_archive, load_plan_yaml
from bot.plans.read import FORMULA_STARTS, field_for_heading
from bot.plans.sheet_names import ACTUAL_SHEETS, MEASURE_SHEETS

MAX_FILE_BYTES = 10 * 1024 * 1024
HEADER_SEARCH_ROWS = 10

MEASURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "kpi": ("KPI", "Measure", "Indicator", "Measure name", "KPI name", "Performance indicator"),
    "id": ("Id", "KPI id", "Short id", "Code"),
    "definition": ("Definition", "Description"),
    "unit": ("Unit", "Units"),
    "better": ("Better", "Better is", "Good is", "Polarity", "Direction"),
    "baseline": ("Baseline", "Baseline value"),
    "baseline_date": ("Baseline date", "Baseline as at"),
    "target": ("Target", "Target value"),
    "target_date": ("Target date", "Target by"),
    "trajectory": ("Trajectory", "Interim targets", "Milestones"),
    "workstream": ("Workstream", "Workstreams", "Pillar", "Area", "Area of weakness", "Priority"),
    "actions": ("Actions", "Action refs", "Evidences", "Refs"),
    "owner": ("Owner", "Lead", "Responsible officer"),
    "source": ("Source", "Data source"),
    "frequency": ("Frequency", "Reporting frequency"),
}
ACTUAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "kpi": ("KPI", "Id", "Measure", "Indicator"),
    "period": ("Period", "Month", "Date"),
    "value": ("Value", "Actual", "Figure"),
    "note": ("Note", "Comment", "Commentary"),
}
_SEPARATORS = re.compile(r"[;\r\n]+")


@dataclass
class MeasureRow:
    sheet: str
    row: int
    name: str
    short_id: str | None
    definition: str | None
    unit: str
    better: str
    baseline: float
    baseline_date: date
    target: float
    target_date: date
    trajectory: list[tuple[date, float]]
    workstreams: list[str]
    actions: list[str]
    owner: str | None
    source: str | None
    frequency: str | None


@dataclass
class ActualRow:
    sheet: str
    row: int
    column: str  # the heading of the value's column
    kpi: str
    period: date
    value: float
    note: str | None


@dataclass
class CellProblem:
    sheet: str
    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class ParsedMeasures:
    measures: list[MeasureRow] = field(default_factory=list)
    actuals: list[ActualRow] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    # the file holds nothing else (no plan of actions to import beside them)
    alone: bool = True


# --- Headings --------------------------------------------------------------------------------


def _key(heading: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", heading.lower())


def _lookup(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(name): field_name for field_name, names in columns.items() for name in names}


_MEASURE_BY_KEY = _lookup(MEASURE_COLUMNS)
_ACTUAL_BY_KEY = _lookup(ACTUAL_COLUMNS)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = str(value).strip()
    # an export's spreadsheet-safety ' comes off, as in the plan reader
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        text = text[1:].strip()
    return text


def _month_heading(value: object) -> date | None:
    """A column heading naming a month (`Apr 2026`, `2026-04`, a date cell), or None."""
    if isinstance(value, datetime | date):
        return parse_period(value)
    text = _text(value)
    if not re.search(r"\d{4}", text) or len(text) > 20:
        return None
    try:
        return parse_period(text)
    except Invalid:
        return None


@dataclass
class _Header:
    index: int
    columns: dict[str, int]  # field -> position
    months: dict[int, date]  # position -> period (wide layout)
    headings: list[str]


def _header(cells: Sequence[object], index: int, lookup: dict[str, str]) -> _Header:
    columns: dict[str, int] = {}
    months: dict[int, date] = {}
    for position, cell in enumerate(cells):
        found = lookup.get(_key(_text(cell)))
        if found is not None:
            columns.setdefault(found, position)
            continue
        month = _month_heading(cell)
        if month is not None:
            months[position] = month
    return _Header(index, columns, months, [_text(c) for c in cells])


def _find(
    rows: Sequence[Sequence[object]], lookup: dict[str, str], needs: tuple[str, ...]
) -> _Header | None:
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = _header(cells, index, lookup)
        if all(n in header.columns for n in needs):
            return header
    return None


def measures_header(rows: Sequence[Sequence[object]], named: bool) -> _Header | None:
    """A measures sheet's header: kpi and baseline and target, or just kpi on a sheet named
    KPIs or Measures."""
    return _find(rows, _MEASURE_BY_KEY, ("kpi",) if named else ("kpi", "baseline", "target"))


def actuals_header(rows: Sequence[Sequence[object]]) -> _Header | None:
    return _find(rows, _ACTUAL_BY_KEY, ("kpi", "period", "value"))


# --- Sheets ----------------------------------------------------------------------------------


def _cell(cells: Sequence[object], position: int | None) -> object:
    if position is None or position >= len(cells):
        return None
    return cells[position]


class _Bad(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def read_measures_sheet(
    rows: Sequence[Sequence[object]], header: _Header, sheet: str, parsed: ParsedMeasures
) -> None:
    heading = {f: header.headings[p] for f, p in header.columns.items()}

    def get(cells: Sequence[object], name: str) -> object:
        return _cell(cells, header.columns.get(name))

    def required(cells: Sequence[object], name: str, parse: Any) -> Any:
        value = get(cells, name)
        column = heading.get(name, MEASURE_COLUMNS[name][0])
        if value is None or _text(value) == "":
            raise _Bad(column, f"{MEASURE_COLUMNS[name][0].lower()} is empty")
        try:
            return parse(value)
        except Invalid as error:
            raise _Bad(column, str(error)) from None

    for index in range(header.index + 1, len(rows)):
        cells = rows[index]
        number = index + 1
        name = " ".join(_text(get(cells, "kpi")).split())
        if not name:
            if any(_text(c) for c in cells):
                parsed.problems.append(
                    CellProblem(sheet, number, heading["kpi"], "no measure name")
                )
            continue
        try:
            measure = MeasureRow(
                sheet=sheet,
                row=number,
                name=name,
                short_id=_text(get(cells, "id")).upper() or None,
                definition=_text(get(cells, "definition")) or None,
                unit=required(cells, "unit", lambda v: parse_unit(_text(v))),
                better=required(cells, "better", lambda v: parse_better(_text(v))),
                baseline=required(cells, "baseline", _number),
                baseline_date=required(cells, "baseline_date", parse_day),
                target=required(cells, "target", _number),
                target_date=required(cells, "target_date", parse_day),
                trajectory=_trajectory(get(cells, "trajectory"), heading.get("trajectory", "")),
                workstreams=_list(get(cells, "workstream")),
                actions=_list(get(cells, "actions")),
                owner=_text(get(cells, "owner")) or None,
                source=_text(get(cells, "source"))[:300] or None,
                frequency=_text(get(cells, "frequency"))[:30] or None,
            )
        except _Bad as bad:
            parsed.problems.append(CellProblem(sheet, number, bad.column, bad.reason))
            continue
        if len(name) > 300:
            parsed.problems.append(CellProblem(sheet, number, heading["kpi"], "name too long"))
            continue
        parsed.measures.append(measure)
        for position, period in header.months.items():
            value = _cell(cells, position)
            if value is None or _text(value) == "":
                continue
            column = header.headings[position]
            try:
                figure = _number(value)
            except Invalid as error:
                parsed.problems.append(CellProblem(sheet, number, column, str(error)))
                continue
            parsed.actuals.append(
                ActualRow(sheet, number, column, measure.short_id or name, period, figure, None)
            )


def read_actuals_sheet(
    rows: Sequence[Sequence[object]], header: _Header, sheet: str, parsed: ParsedMeasures
) -> None:
    heading = {f: header.headings[p] for f, p in header.columns.items()}
    for index in range(header.index + 1, len(rows)):
        cells = rows[index]
        number = index + 1
        kpi = _text(_cell(cells, header.columns["kpi"]))
        period_cell = _cell(cells, header.columns["period"])
        value_cell = _cell(cells, header.columns["value"])
        if not kpi and not _text(period_cell) and not _text(value_cell):
            continue
        try:
            if not kpi:
                raise _Bad(heading["kpi"], "no measure")
            try:
                period = parse_period(
                    period_cell if isinstance(period_cell, date) else _text(period_cell)
                )
            except Invalid as error:
                raise _Bad(heading["period"], str(error)) from None
            try:
                value = _number(value_cell)
            except Invalid as error:
                raise _Bad(heading["value"], str(error)) from None
        except _Bad as bad:
            parsed.problems.append(CellProblem(sheet, number, bad.column, bad.reason))
            continue
        note = _text(_cell(cells, header.columns.get("note", len(cells) + 1))) or None
        parsed.actuals.append(ActualRow(sheet, number, heading["value"], kpi, period, value, note))


# --- Cells -----------------------------------------------------------------------------------


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise Invalid(f"“{value}” is not a number.")
    if isinstance(value, int | float):
        return float(value)
    return parse_value(_text(value))


def parse_day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise Invalid(f"“{text[:40]}” is not a date: write it as 2026-03-31 or 31/03/2026.")


def _trajectory(value: object, column: str) -> list[tuple[date, float]]:
    """`2026-09-30: 55; 2026-12-31: 60`: interim points, each a date and a value."""
    text = _text(value)
    points = []
    for part in _SEPARATORS.split(text):
        if not part.strip():
            continue
        when, _, figure = part.rpartition(":") if ":" in part else part.rpartition("=")
        try:
            points.append((parse_day(when.strip()), parse_value(figure)))
        except Invalid as error:
            raise _Bad(column, f"trajectory point “{part.strip()[:40]}”: {error}") from None
    return sorted(points)


def _list(value: object) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(_text(value)) if part.strip()]


# --- Files -----------------------------------------------------------------------------------


def read_measures(path: Path) -> ParsedMeasures | None:
    """The measures and figures in a file, or None when it holds none (a plain plan file, a
    file that cannot be read: the plan importer says what is wrong with those)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm", ".yaml", ".yml"):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    return read_measures_bytes(data, path.name)


def read_measures_bytes(data: bytes, filename: str) -> ParsedMeasures | None:
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return _read_csv(data, filename)
    if lowered.endswith((".yaml", ".yml")):
        return _read_yaml(data, filename)
    return _read_workbook(data, filename)


# --- YAML: a plan file's `measures:` list -----------------------------------------------------

YAML_SHEET = "measures"


def _read_yaml(data: bytes, filename: str) -> ParsedMeasures | None:
    try:
        document = load_plan_yaml(data.decode("utf-8-sig"), filename)
    except TooLarge:
        raise
    except Exception:  # not YAML, not UTF-8: the plan importer reports it
        return None
    if not isinstance(document, dict) or "measures" not in document:
        return None
    parsed = read_yaml_measures(document["measures"])
    parsed.alone = "workstreams" not in document
    return parsed


def read_yaml_measures(items: object) -> ParsedMeasures:
    """A YAML plan's `measures:` list, read like a measures sheet: each item a mapping whose
    keys are the sheet's headings (`kpi` or `name`, `unit`, `better`, `baseline`,
    `baseline date`, …; lists for workstreams and actions), and `actuals`, a mapping of month
    to figure (`2026-09: 55`) or a list of `{period, value, note}`. Problems name the item
    (`measures row 2` is the second measure)."""
    parsed = ParsedMeasures()
    if not isinstance(items, list):
        parsed.problems.append(
            CellProblem(YAML_SHEET, 0, None, "measures: is not a list of measures")
        )
        return parsed
    fields = list(MEASURE_COLUMNS)
    # a heading row, then one row a measure: the sheet reader's checks, word for word
    rows: list[list[object]] = [[MEASURE_COLUMNS[f][0] for f in fields]]
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            parsed.problems.append(CellProblem(YAML_SHEET, number, None, "not a mapping"))
            rows.append([None] * len(fields))
            continue
        values: dict[str, object] = {}
        for key, value in item.items():
            name = "kpi" if _key(str(key)) == "name" else _MEASURE_BY_KEY.get(_key(str(key)))
            if name is not None and name not in values:
                values[name] = _yaml_cell(value)
        rows.append([values.get(f) for f in fields])
        _yaml_actuals(item, number, parsed)
    header = measures_header(rows, named=True)
    assert header is not None  # the heading row is ours
    found = ParsedMeasures()
    read_measures_sheet(rows, header, YAML_SHEET, found)
    # the sheet reader counts the heading row; a YAML file's first measure is its row 1
    for measure in found.measures:
        measure.row -= 1
    for problem in found.problems:
        problem.row -= 1
    actuals = parsed.actuals
    known = {m.row for m in found.measures}
    parsed.measures = found.measures
    # figures of a measure that could not be read are not loaded (its row says why)
    parsed.actuals = [a for a in actuals if a.row in known]
    for actual in parsed.actuals:
        measure = next(m for m in found.measures if m.row == actual.row)
        actual.kpi = measure.short_id or measure.name
    parsed.problems = found.problems + parsed.problems
    return parsed


def _yaml_cell(value: object) -> object:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):  # a trajectory: {2026-06-30: 110, …}
        return "; ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items())
    return value


def _yaml_actuals(item: dict[Any, Any], number: int, parsed: ParsedMeasures) -> None:
    given = item.get("actuals")
    if given is None:
        return
    if isinstance(given, dict):
        entries: list[tuple[object, object, object]] = [(k, v, None) for k, v in given.items()]
    elif isinstance(given, list) and all(isinstance(e, dict) for e in given):
        entries = [(e.get("period"), e.get("value"), e.get("note")) for e in given]
    else:
        parsed.problems.append(
            CellProblem(
                YAML_SHEET, number, "actuals", "give month: figure pairs, or period/value items"
            )
        )
        return
    for period, value, note in entries:
        try:
            month = parse_period(period if isinstance(period, date) else _text(period))
            figure = _number(value)
        except Invalid as error:
            parsed.problems.append(CellProblem(YAML_SHEET, number, "actuals", str(error)))
            continue
        note_text = _text(note) or None
        parsed.actuals.append(
            ActualRow(YAML_SHEET, number, "actuals", "", month, figure, note_text)
        )


def _read_csv(data: bytes, filename: str) -> ParsedMeasures | None:
    if data[:4] == b"PK\x03\x04" or b"\x00" in data[:8192]:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    for delimiter in (",", ";", "\t"):
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        parsed = _read_rows(rows, Path(filename).stem, named=False, actuals=False)
        if parsed is not None:
            return parsed
    return None


def _read_rows(
    rows: Sequence[Sequence[object]], sheet: str, *, named: bool, actuals: bool
) -> ParsedMeasures | None:
    parsed = ParsedMeasures()
    if not actuals:
        header = measures_header(rows, named)
        if header is not None:
            read_measures_sheet(rows, header, sheet, parsed)
            return parsed
    header = actuals_header(rows)
    if header is not None:
        read_actuals_sheet(rows, header, sheet, parsed)
        return parsed
    return None


def _has_plan_header(rows: Sequence[Sequence[object]]) -> bool:
    """Whether a sheet holds the plan's actions (a ref and a title column): then the plan
    importer reads the workbook too. Covers, notes and lookups do not count."""
    for cells in rows[:HEADER_SEARCH_ROWS]:
        fields = {field_for_heading(_text(cell)) for cell in cells if _text(cell)}
        if {"ref", "title"} <= fields:
            return True
    return False


def _read_workbook(data: bytes, filename: str) -> ParsedMeasures | None:
    """The workbook's measures, read within the same limits as its actions: a workbook built
    to expand is refused (TooLarge) before anything is unpacked."""
    check_xlsx_archive(data, filename)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged workbook: the plan importer reports it
        return None
    budget = CellBudget(filename)
    try:
        found = ParsedMeasures()
        any_found = False
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()
            title = " ".join(sheet.title.split()).lower()
            rows = list(budget.rows(sheet))
            part = _read_rows(
                rows,
                sheet.title,
                named=title in MEASURE_SHEETS,
                actuals=title in ACTUAL_SHEETS,
            )
            if part is None:
                if _has_plan_header(rows):
                    found.alone = False
                continue
            any_found = True
            found.measures += part.measures
            found.actuals += part.actuals
            found.problems += part.problems
        return found if any_found else None
    except UserError:
        raise
    except Exception:
        return None
    finally:
        workbook.close()
