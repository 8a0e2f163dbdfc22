"""Reading plan files: council trackers as CSV or Excel, and the nested YAML form.

A file either is a plan, and gives its good rows plus a problem for each row it could not load,
or is not one, and raises PlanFileError before anything is returned.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import yaml
from pydantic import BaseModel

from bot.domain import Invalid, Rag, Status, UserError, normalise_ref
from bot.plans.dates import parse_due


class PlanRow(BaseModel):
    row: int  # as a person sees it in the sheet; for YAML, the action's position in the file
    ref: str
    title: str
    workstream: str
    leads: list[str]
    due: date | None
    due_text: str | None
    status: Status | None
    rag: Rag | None
    measure: str | None


class RowProblem(BaseModel):
    row: int
    ref: str | None
    reason: str


class ParsedPlan(BaseModel):
    name: str | None
    rows: list[PlanRow]
    problems: list[RowProblem]
    ignored_columns: list[str] = []
    notes: list[str] = []  # things about the whole file worth telling whoever imported it


class PlanFileError(UserError):
    """The file is not a plan at all: nothing should be loaded."""


# Each field's column names: its own name first, then the headings council trackers use.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "ref": ("Ref", "Action No.", "Action Number", "Reference", "ID"),
    "title": ("Title", "Action", "Description", "Work Title", "Action Description"),
    "workstream": (
        "Workstream",
        "Pillar",
        "Area",
        "Area of weakness",
        "Priority",
        "Strand",
        "Theme",
    ),
    "lead": ("Lead", "Leads", "Lead Officer", "Owner", "Responsible Officer"),
    "due": ("Due", "Timescale", "Deadline", "Due date", "Target date", "By when"),
    "status": ("Status",),
    "rag": ("RAG", "RAG Rating", "RAG status"),
    "measure": (
        "Measure",
        "Success Measure",
        "Impact Measure",
        "Measure of success",
        "Success criteria",
        "Impact",
    ),
}
REQUIRED_FIELDS = ("ref", "title")
DEFAULT_WORKSTREAM = "General"
HEADER_SEARCH_ROWS = 10  # council trackers put titles and blank rows above the header
ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".yaml", ".yml")
MAX_FILE_BYTES = 10 * 1024 * 1024

# Limits match what the store keeps, so a row that loads here is never cut short later.
MAX_TITLE_CHARS = 500
MAX_MEASURE_CHARS = 2000
MAX_WORKSTREAM_CHARS = 300
MAX_LEAD_CHARS = 320
MAX_DUE_TEXT_CHARS = 100
MAX_PLAN_NAME_CHARS = 200

# A RAG column saying "blue" or "complete" means the action is done, not rated.
RAG_MEANING_COMPLETE = frozenset({"blue", "b", "complete", "completed", "done"})
RAG_MEANING_UNRATED = frozenset({"n/a", "na", "-", "–", "—", "tbc", "none", "not rated"})

# Exports put a ' before these so a spreadsheet shows the text instead of running a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")

_LEAD_SEPARATORS = re.compile(r"[;\r\n]+")

T = TypeVar("T")


def read_plan(path: Path, *, today: date | None = None) -> ParsedPlan:
    """Reads a .csv, .xlsx/.xlsm or .yaml/.yml plan.

    `today` anchors wordings like `End of March`; it defaults to the real today.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"There is no file {path}.") from None
    except OSError as error:
        raise PlanFileError(f"{path} cannot be read: {error.strerror or error}.") from None
    return read_plan_bytes(data, path.name, today=today)


def read_plan_bytes(data: bytes, filename: str, *, today: date | None = None) -> ParsedPlan:
    """The same as read_plan, from memory (a Slack upload)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise PlanFileError(
            f"{filename} is not a plan file: use a .csv, .xlsx or .yaml file"
            + (" (save old .xls workbooks as .xlsx)." if suffix == ".xls" else ".")
        )
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise PlanFileError(f"{filename} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise PlanFileError(
            f"{filename} is {len(data) / 1024 / 1024:.0f} MB; a plan file can be at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB."
        )
    if suffix == ".csv":
        return _read_csv(data, filename, today)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data, filename, today)
    return _read_yaml(data, filename, today)


# --- Headers -------------------------------------------------------------------------------


def _heading_key(heading: str) -> str:
    """`Action No.`, `action no` and `ACTION NO (see key)` are the same heading: `actionno`."""
    without_notes = re.sub(r"\(.*?\)", "", heading).strip() or heading
    return re.sub(r"[^a-z0-9]", "", without_notes.lower().replace("#", "no"))


_FIELD_BY_HEADING = {
    _heading_key(name): field_name for field_name, names in COLUMN_NAMES.items() for name in names
}


def field_for_heading(heading: str) -> str | None:
    """The plan field a column heading names (`Lead Officers` -> `lead`), or None."""
    key = _heading_key(heading)
    if not key:
        return None
    return _FIELD_BY_HEADING.get(key) or _FIELD_BY_HEADING.get(key.removesuffix("s"))


@dataclass
class _Header:
    row_index: int  # position in the rows read, counting from 0
    columns: dict[str, int]  # plan field -> column position
    ignored: list[str]


def _map_header(cells: Sequence[object], row_index: int) -> _Header:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(cells):
        heading = _cell_text(cell)
        if not heading:
            continue
        found = field_for_heading(heading)
        # When two columns name the same field, the first one is the plan's.
        if found is None or found in columns:
            ignored.append(heading)
        else:
            columns[found] = position
    return _Header(row_index, columns, ignored)


def _find_header(rows: Sequence[Sequence[object]]) -> _Header | None:
    for row_index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = _map_header(cells, row_index)
        if all(required in header.columns for required in REQUIRED_FIELDS):
            return header
    return None


def _no_header_error(rows: Sequence[Sequence[object]], filename: str) -> PlanFileError:
    """Names the missing column, using the row that looked most like a header."""
    candidates = [_map_header(cells, i) for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS])]
    candidates = [c for c in candidates if c.columns or c.ignored]
    if not candidates:
        return PlanFileError(f"{filename} has no header row: it needs at least ref and title.")
    best = max(candidates, key=lambda c: len(c.columns))
    missing = next(f for f in REQUIRED_FIELDS if f not in best.columns)
    also = ", ".join(COLUMN_NAMES[missing][1:])
    found = [_cell_text(cell) for cell in rows[best.row_index]]
    shown = ", ".join(name for name in found if name) or "none"
    return PlanFileError(
        f"{filename} has no ‘{missing}’ column (also accepted: {also}). Columns found: {shown}."
    )


# --- Cells ---------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """A cell as trimmed text, with a spreadsheet-safety ' from our own exports taken off."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    else:
        text = str(value)
    text = text.replace("\r\n", "\n").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        text = text[1:].strip()
    return text


def _leads(value: object) -> list[str]:
    parts: Iterable[object] = value if isinstance(value, list) else [value]
    leads: list[str] = []
    for part in parts:
        leads += [lead.strip() for lead in _LEAD_SEPARATORS.split(_cell_text(part))]
    return [lead for lead in leads if lead]


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class _Reading:
    """What reading one file has learnt so far, row by row."""

    unit: str  # what a `row` number counts: "row" in a sheet, "action" in YAML
    today: date | None = None
    workstream: str | None = None
    first_seen: dict[str, int] = field(default_factory=dict)  # ref -> row
    rows: list[PlanRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    defaulted_rows: list[int] = field(default_factory=list)


class _RowRejected(Exception):
    """The row cannot be loaded; the message gives every reason, separated by `; `."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))


def _read_row(values: dict[str, object], number: int, reading: _Reading) -> None:
    """Reads one action into `reading`: a row, a problem, or nothing for a blank row.

    A blank workstream inherits the one above, as merged cells in council sheets leave only
    the first row of a pillar filled in. A row with nothing but a workstream is a heading row:
    it sets the workstream for the rows under it.
    """
    filled = {name for name, value in values.items() if _cell_text(value)}
    if not filled:
        return
    workstream = " ".join(_cell_text(values.get("workstream")).split())
    if workstream:
        reading.workstream = workstream
    if filled == {"workstream"}:
        return
    ref: str | None = None
    try:
        ref = _ref(values.get("ref"), number, reading)
        reading.rows.append(_plan_row(values, number, ref, reading))
    except _RowRejected as rejected:
        reading.problems.append(RowProblem(row=number, ref=ref, reason=str(rejected)))


def _ref(value: object, number: int, reading: _Reading) -> str:
    """The row's ref, noting the row where each ref first appears."""
    text = " ".join(_cell_text(value).split())
    if not text:
        raise _RowRejected(["no ref"])
    try:
        ref = normalise_ref(text)
    except Invalid as error:
        raise _RowRejected([str(error)]) from None
    reading.first_seen.setdefault(ref, number)
    return ref


def _plan_row(values: dict[str, object], number: int, ref: str, reading: _Reading) -> PlanRow:
    """The row as an action; _RowRejected with every reason it cannot be loaded."""
    reasons: list[str] = []
    first = reading.first_seen[ref]
    if first != number:
        reasons.append(f"{ref} appears again (first on {reading.unit} {first})")
    title = _cell_text(values.get("title"))
    if not title:
        reasons.append("no title")
    reasons += _too_long("title", title, MAX_TITLE_CHARS)
    measure = _cell_text(values.get("measure")) or None
    reasons += _too_long("measure", measure, MAX_MEASURE_CHARS)
    workstream = reading.workstream or DEFAULT_WORKSTREAM
    reasons += _too_long("workstream", workstream, MAX_WORKSTREAM_CHARS)
    leads = _leads(values.get("lead"))
    for lead in leads:
        reasons += _too_long("lead", lead, MAX_LEAD_CHARS)
    due, due_text = _collect(reasons, _due, values.get("due"), _NO_DUE, reading.today)
    status = _collect(reasons, _status, values.get("status"), None)
    rag, rag_says_complete = _collect(reasons, _rag, values.get("rag"), _NO_RAG)
    if reasons:
        raise _RowRejected(reasons)
    if rag_says_complete and status is None:
        status = Status.COMPLETE
    if reading.workstream is None:
        reading.defaulted_rows.append(number)
    return PlanRow(
        row=number,
        ref=ref,
        title=title,
        workstream=workstream,
        leads=leads,
        due=due,
        due_text=due_text,
        status=status,
        rag=rag,
        measure=measure,
    )


_NO_DUE: tuple[date | None, str | None] = (None, None)
_NO_RAG: tuple[Rag | None, bool] = (None, False)


def _collect(
    reasons: list[str], read: Callable[..., T], value: object, fallback: T, *more: object
) -> T:
    """Runs one cell reader, turning its Invalid into a reason so a row's every problem shows."""
    try:
        return read(value, *more)
    except Invalid as error:
        reasons.append(str(error))
        return fallback


def _too_long(what: str, text: str | None, limit: int) -> list[str]:
    if text is None or len(text) <= limit:
        return []
    return [f"the {what} is {len(text):,} characters; the limit is {limit:,}"]


def _due(value: object, today: date | None) -> tuple[date | None, str | None]:
    if value is None or isinstance(value, date):
        return parse_due(value, today=today)
    due, due_text = parse_due(_cell_text(value), today=today)
    if due_text is not None and len(due_text) > MAX_DUE_TEXT_CHARS:
        raise Invalid(f"the due date wording is over {MAX_DUE_TEXT_CHARS} characters")
    return due, due_text


def _status(value: object) -> Status | None:
    text = _cell_text(value)
    if not text:
        return None
    status = Status.lookup(text)
    if status is None:
        words = ", ".join(s.value for s in Status)
        raise Invalid(f"unknown status “{text}”: use {words}")
    return status


def _rag(value: object) -> tuple[Rag | None, bool]:
    """The rating, and whether the cell instead says the action is complete ("Blue")."""
    text = _cell_text(value)
    if not text or text.lower() in RAG_MEANING_UNRATED:
        return None, False
    if text.lower() in RAG_MEANING_COMPLETE:
        return None, True
    rag = Rag.lookup(text)
    if rag is None:
        raise Invalid(f"unknown RAG word “{text}”: use red, amber or green")
    return rag, False


def _finish(reading: _Reading, filename: str, name: str | None = None) -> ParsedPlan:
    if not reading.rows and not reading.problems:
        raise PlanFileError(f"{filename} has no actions: it has a header but no rows under it.")
    notes: list[str] = []
    if reading.defaulted_rows:
        rows = ", ".join(str(n) for n in reading.defaulted_rows[:10])
        more = "…" if len(reading.defaulted_rows) > 10 else ""
        notes.append(
            f"No workstream for {reading.unit}s {rows}{more}: put under ‘{DEFAULT_WORKSTREAM}’."
        )
    return ParsedPlan(name=name, rows=reading.rows, problems=reading.problems, notes=notes)


# --- Sheets: CSV and Excel -----------------------------------------------------------------


def _read_table(rows: Sequence[Sequence[object]], filename: str, today: date | None) -> ParsedPlan:
    """A sheet's rows, header somewhere in the first few; row numbers count from 1 at the top."""
    header = _find_header(rows)
    if header is None:
        raise _no_header_error(rows, filename)
    reading = _Reading(unit="row", today=today)
    for index in range(header.row_index + 1, len(rows)):
        cells = rows[index]
        values = {
            name: cells[position] if position < len(cells) else None
            for name, position in header.columns.items()
        }
        _read_row(values, index + 1, reading)
    plan = _finish(reading, filename)
    plan.ignored_columns = header.ignored
    if "workstream" not in header.columns:
        also = ", ".join(COLUMN_NAMES["workstream"][1:])
        plan.notes.insert(
            0,
            f"No workstream column (also accepted: {also}): "
            f"every action is under ‘{DEFAULT_WORKSTREAM}’.",
        )
    return plan


def _read_csv(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    _refuse_binary(data, filename)
    text = _decode(data, filename)
    first_try: list[list[str]] | None = None
    for delimiter in _delimiters(text):
        rows = _csv_rows(text, delimiter, filename)
        if _find_header(rows) is not None:
            return _read_table(rows, filename, today)
        first_try = rows if first_try is None else first_try
    assert first_try is not None  # there is always a delimiter to try
    raise _no_header_error(first_try, filename)


def _refuse_binary(data: bytes, filename: str) -> None:
    head = data[:8192]
    if head.startswith(b"PK\x03\x04"):
        raise PlanFileError(f"{filename} is an Excel workbook or other zip file: name it .xlsx.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PlanFileError(
            f"{filename} is an old-style or password-protected Excel file: "
            "save it as .xlsx or .csv."
        )
    if b"\x00" in head:
        raise PlanFileError(f"{filename} is not a text file.")


def _decode(data: bytes, filename: str) -> str:
    # Excel on Windows saves CSV as cp1252 unless told otherwise; everything else is UTF-8.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PlanFileError(f"{filename} is not UTF-8 or Windows text: save it as CSV UTF-8.")


def _delimiters(text: str) -> list[str]:
    """The sniffed delimiter first, then the others, so a misleading title row cannot win."""
    candidates = [",", ";", "\t"]
    try:
        sniffed = csv.Sniffer().sniff(text[:8192], delimiters="".join(candidates)).delimiter
    except csv.Error:
        return candidates
    return [sniffed] + [d for d in candidates if d != sniffed]


def _csv_rows(text: str, delimiter: str, filename: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise PlanFileError(f"{filename} cannot be read as CSV: {error}.") from None


def _read_xlsx(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    """The first sheet with a header row; other sheets (covers, notes, lookups) are left alone."""
    damaged = PlanFileError(
        f"{filename} cannot be opened as an Excel workbook: it may be damaged, "
        "password-protected, or another kind of file named .xlsx."
    )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise damaged from None
    try:
        return _read_workbook(workbook, filename, today)
    except UserError:
        raise
    except Exception:  # a sheet's XML can be damaged even when the workbook opened
        raise damaged from None
    finally:
        workbook.close()


def _read_workbook(workbook: Any, filename: str, today: date | None) -> ParsedPlan:
    first_sheet_top: list[tuple[object, ...]] | None = None
    for position, sheet in enumerate(workbook.worksheets):
        # Some programs record a wrong sheet size; without one openpyxl reads every row there is.
        sheet.reset_dimensions()
        top = list(sheet.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True))
        if _find_header(top) is None:
            first_sheet_top = top if first_sheet_top is None else first_sheet_top
            continue
        plan = _read_table(list(sheet.iter_rows(min_row=1, values_only=True)), filename, today)
        if position > 0:
            plan.notes.append(f"Read sheet ‘{sheet.title}’, the first with a header row.")
        return plan
    if first_sheet_top is None:
        raise PlanFileError(f"{filename} has no sheets.")
    raise _no_header_error(first_sheet_top, filename)


# --- YAML ----------------------------------------------------------------------------------


def _read_yaml(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    _refuse_binary(data, filename)
    document = _load_yaml(data, filename)
    if not isinstance(document, dict) or not isinstance(document.get("workstreams"), list):
        raise PlanFileError(
            f"{filename} is not a plan: it needs a ‘workstreams’ list, each with a name "
            "and its actions."
        )
    reading = _Reading(unit="action", today=today)
    number = 0
    for position, workstream in enumerate(document["workstreams"], start=1):
        name, actions = _yaml_workstream(workstream, position, filename)
        for action in actions:
            number += 1
            values = _yaml_values(action) if isinstance(action, dict) else {}
            if not any(_cell_text(value) for value in values.values()):
                reason = "not an action: give it a ref, a title, and its lead, due, status…"
                reading.problems.append(RowProblem(row=number, ref=None, reason=reason))
                continue
            _read_row(values | {"workstream": name}, number, reading)
    return _finish(reading, filename, _plan_name(document.get("plan"), filename))


def _load_yaml(data: bytes, filename: str) -> object:
    try:
        return yaml.safe_load(_decode(data, filename))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" near line {where.line + 1}" if where is not None else ""
        raise PlanFileError(f"{filename} is not valid YAML{line}.") from None


def _yaml_workstream(workstream: object, position: int, filename: str) -> tuple[str, list[Any]]:
    if not isinstance(workstream, dict):
        raise PlanFileError(
            f"Workstream {position} in {filename} is not a mapping with ‘name’ and ‘actions’."
        )
    name = " ".join(_cell_text(workstream.get("name")).split())
    if not name:
        raise PlanFileError(f"Workstream {position} in {filename} has no name.")
    actions = workstream.get("actions") or []
    if not isinstance(actions, list):
        raise PlanFileError(f"The actions of workstream ‘{name}’ in {filename} are not a list.")
    return name, actions


def _yaml_values(action: dict[Any, Any]) -> dict[str, object]:
    """An action's keys read like column headings, so `lead`, `leads` and `owner` all work."""
    values: dict[str, object] = {}
    for key, value in action.items():
        found = field_for_heading(str(key))
        if found is not None and found not in values:
            values[found] = value
    return values


def _plan_name(value: object, filename: str) -> str | None:
    name = " ".join(_cell_text(value).split())
    if len(name) > MAX_PLAN_NAME_CHARS:
        raise PlanFileError(
            f"The plan name in {filename} is {len(name):,} characters; "
            f"the limit is {MAX_PLAN_NAME_CHARS}."
        )
    return name or None
