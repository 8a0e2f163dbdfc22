"""Reading plan files: council trackers as CSV or Excel, and the nested YAML form.

A file either is a plan, and gives its good rows plus a problem for each row it could not load,
or is not one, and raises PlanFileError before anything is returned.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import yaml
from openpyxl.utils import column_index_from_string
from pydantic import BaseModel

from bot.domain import (
    FIVE_POINT_RAGS,
    MAX_NOTE_CHARS,
    Invalid,
    Rag,
    Status,
    UserError,
    normalise_ref,
)
from bot.plans.colours import COMPLETE, Colour, fill_meaning, theme_colours
from bot.plans.dates import parse_due
from bot.plans.leads import link_names_to_emails, split_leads
from bot.plans.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_PROBLEMS_LISTED,
    MAX_ROWS,
    TooLarge,
    check_xlsx_archive,
    load_plan_yaml,
    too_many_columns,
    too_many_rows,
)
from bot.plans.status import StatusReading, read_status


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
    sheet: str | None = None  # the workbook sheet the row is on, when the workbook has several
    # Fields whose cell could not be read: a new action leaves them empty, an action already
    # in the plan keeps what it had. Each is also a RowProblem.
    unread: list[str] = []
    # The tracker's latest progress update, and the status cell when it was a sentence
    # ("Progress halted due to staff changes"): recorded as notes from the import.
    note: str | None = None
    status_note: str | None = None
    # From a sign-off sentence: "Objective met – signed off by SEND Ops 26/11/19".
    signed_off_by: str | None = None
    signed_off_on: date | None = None
    # The "Strategic priority" column, as a list of priority names.
    priorities: list[str] = []
    rag_from_colour: bool = False  # the RAG came from the cell's fill, the cell being empty


class RowProblem(BaseModel):
    row: int
    ref: str | None
    reason: str  # what was wrong and, for a row that loaded, what was done instead
    sheet: str | None = None
    column: str | None = None  # the heading, as the file writes it, of a cell that was not read
    value: str | None = None  # that cell, as written
    loaded: bool = False  # the row loaded without that cell


class ParsedPlan(BaseModel):
    name: str | None
    rows: list[PlanRow]
    problems: list[RowProblem]  # at most MAX_PROBLEMS_LISTED; see problems_left_off
    ignored_columns: list[str] = []
    notes: list[str] = []  # things about the whole file worth telling whoever imported it
    problems_left_off: int = 0  # problems beyond those listed
    rag_scale: int = 3  # 5 when the tracker uses the five-point delivery-confidence scale
    sheets_read: list[str] = []
    sheets_skipped: list[str] = []  # each with its reason: "Cover (no header row)"


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
    "due_text": ("Due as written", "Due wording", "Timescale as written"),
    "status": ("Status",),
    "rag": ("RAG", "RAG Rating", "RAG status", "Delivery confidence"),
    "measure": (
        "Measure",
        "Success Measure",
        "Impact Measure",
        "Measure of success",
        "Success criteria",
        "Impact",
    ),
    "note": (
        "Latest note",
        "Progress update",
        "Progress updates",
        "Latest update",
        "Commentary",
        "Update",
        "Progress to date",
        "Comments",
    ),
    "priorities": (
        "Strategic priority",
        "Strategic priorities",
        "Link to strategic priority",
        "Strategic priority link",
    ),
}
REQUIRED_FIELDS = ("ref", "title")
DEFAULT_WORKSTREAM = "General"
HEADER_SEARCH_ROWS = 15  # council trackers put titles, keys and blank rows above the header
ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".yaml", ".yml")
MAX_FILE_BYTES = 10 * 1024 * 1024

# Limits match what the store keeps, so a row that loads here is never cut short later.
MAX_TITLE_CHARS = 500
MAX_MEASURE_CHARS = 2000
MAX_WORKSTREAM_CHARS = 300
MAX_LEAD_CHARS = 320
MAX_DUE_TEXT_CHARS = 100
MAX_PLAN_NAME_CHARS = 200
MAX_PRIORITY_CHARS = 200

# A RAG column saying "blue" or "complete" means the action is done, not rated.
RAG_MEANING_COMPLETE = frozenset({"blue", "b", "complete", "completed", "done"})
RAG_MEANING_UNRATED = frozenset(
    {"n/a", "na", "-", "–", "—", "tbc", "none", "not rated", "grey", "gray", "not yet due"}
)
# Due wordings that mean "no date yet": loaded without a date, and said so.
DUE_NOT_SET = frozenset({"tbc", "tbd", "to be confirmed", "to be decided"})

# Exports put a ' before these so a spreadsheet shows the text instead of running a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")

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
    headings: dict[str, str] = field(default_factory=dict)  # plan field -> heading as written
    hidden: list[str] = field(default_factory=list)  # headings of hidden columns, not read


def _map_header(
    cells: Sequence[object], row_index: int, hidden: frozenset[int] = frozenset()
) -> _Header:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    headings: dict[str, str] = {}
    hidden_headings: list[str] = []
    for position, cell in enumerate(cells):
        heading = _cell_text(cell)
        if not heading:
            continue
        if position in hidden:
            # What the programme manager sees is what loads: a hidden column is often an old
            # rating or a lookup kept for formulas.
            hidden_headings.append(heading)
            continue
        found = field_for_heading(heading)
        # When two columns name the same field, the first one is the plan's.
        if found is None or found in columns:
            ignored.append(heading)
        else:
            columns[found] = position
            headings[found] = heading
    return _Header(row_index, columns, ignored, headings, hidden_headings)


def _find_header(
    rows: Sequence[Sequence[object]], hidden: frozenset[int] = frozenset()
) -> _Header | None:
    for row_index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = _map_header(cells, row_index, hidden)
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
        leads += split_leads(_cell_text(part))
    return leads


def _priorities(value: object) -> list[str]:
    """Priority names are often phrases with "and" or "/" in them: only ;, commas and line
    breaks separate them."""
    parts: Iterable[object] = value if isinstance(value, list) else [value]
    names: list[str] = []
    for part in parts:
        names += [" ".join(p.split()) for p in re.split(r"[;,\n]", _cell_text(part))]
    return list(dict.fromkeys(name for name in names if name))


def _shown(value: object) -> str:
    text = " ".join(_cell_text(value).split())
    return text if len(text) <= 60 else text[:57] + "…"


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class _Reading:
    """What reading one file has learnt so far, row by row."""

    unit: str  # what a `row` number counts: "row" in a sheet, "action" in YAML
    today: date | None = None
    workstream: str | None = None
    sheet: str | None = None  # the sheet being read, when the workbook has several
    headings: dict[str, str] = field(default_factory=dict)  # plan field -> heading as written
    first_seen: dict[str, tuple[str | None, int]] = field(default_factory=dict)  # ref -> where
    rows: list[PlanRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    defaulted_rows: list[int] = field(default_factory=list)
    unrated: list[str] = field(default_factory=list)
    from_colour: list[str] = field(default_factory=list)
    date_not_set: list[str] = field(default_factory=list)


class _RowRejected(Exception):
    """The row cannot be loaded; the message gives every reason, separated by `; `."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))


# What a row that loads without one of its cells gets instead, by field.
_INSTEAD = {
    "due": "loaded without a due date (an action already in the plan keeps its date)",
    "status": "loaded without a status (new actions start not started; others keep theirs)",
    "rag": "loaded not rated (an action already in the plan keeps its rating)",
    "measure": "loaded without a measure (an action already in the plan keeps its measure)",
    "lead": "that lead left out",
    "note": "the note not recorded",
    "priorities": "that priority left out",
    "workstream": f"put under ‘{DEFAULT_WORKSTREAM}’",
    "due_text": "the wording left out, the date kept",
}


@dataclass
class _Cells:
    """The cell problems of one row that still loads."""

    reading: _Reading
    number: int
    ref: str
    unread: list[str] = field(default_factory=list)

    def problem(self, name: str, value: object, why: str) -> None:
        heading = self.reading.headings.get(name, name)
        self.reading.problems.append(
            RowProblem(
                row=self.number,
                ref=self.ref,
                sheet=self.reading.sheet,
                column=heading,
                value=_shown(value),
                loaded=True,
                reason=f"{heading}: {why} — {_INSTEAD[name]}",
            )
        )
        if name not in self.unread:
            self.unread.append(name)


def _read_row(
    values: dict[str, object], number: int, reading: _Reading, colour: Colour = None
) -> None:
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
        reading.rows.append(_plan_row(values, number, ref, reading, colour))
    except _RowRejected as rejected:
        reading.problems.append(
            RowProblem(row=number, ref=ref, reason=str(rejected), sheet=reading.sheet)
        )


def _ref(value: object, number: int, reading: _Reading) -> str:
    """The row's ref, noting the row where each ref first appears."""
    text = " ".join(_cell_text(value).split())
    if not text:
        raise _RowRejected(["no ref"])
    try:
        ref = normalise_ref(text)
    except Invalid as error:
        raise _RowRejected([str(error)]) from None
    reading.first_seen.setdefault(ref, (reading.sheet, number))
    return ref


def _plan_row(
    values: dict[str, object], number: int, ref: str, reading: _Reading, colour: Colour
) -> PlanRow:
    """The row as an action. Only a missing title or a repeated ref stops it loading
    (_RowRejected); any other cell that cannot be read is left out and reported."""
    reasons: list[str] = []
    sheet, first = reading.first_seen[ref]
    if (sheet, first) != (reading.sheet, number):
        on_sheet = f" of sheet ‘{sheet}’" if sheet and sheet != reading.sheet else ""
        reasons.append(f"{ref} appears again (first on {reading.unit} {first}{on_sheet})")
    title = _cell_text(values.get("title"))
    if not title:
        reasons.append("no title")
    reasons += _too_long("title", title, MAX_TITLE_CHARS)
    if reasons:
        raise _RowRejected(reasons)

    cells = _Cells(reading, number, ref)
    measure = _cell_text(values.get("measure")) or None
    if _too_long("measure", measure, MAX_MEASURE_CHARS):
        cells.problem("measure", measure, _too_long("measure", measure, MAX_MEASURE_CHARS)[0])
        measure = None
    workstream = reading.workstream or DEFAULT_WORKSTREAM
    if _too_long("workstream", workstream, MAX_WORKSTREAM_CHARS):
        cells.problem("workstream", workstream, f"over {MAX_WORKSTREAM_CHARS} characters")
        workstream = DEFAULT_WORKSTREAM
    leads: list[str] = []
    for lead in _leads(values.get("lead")):
        if len(lead) > MAX_LEAD_CHARS:
            cells.problem("lead", lead, f"a lead of {len(lead):,} characters is not a name")
        else:
            leads.append(lead)
    due, due_text = _due_cells(values, cells)
    if due is None and due_text and due_text.lower() in DUE_NOT_SET:
        reading.date_not_set.append(ref)

    status_reading = StatusReading(None)
    try:
        status_reading = read_status(_cell_text(values.get("status")))
    except Invalid as error:
        cells.problem("status", values.get("status"), f"“{_shown(values.get('status'))}” {error}")
    status = status_reading.status

    rag: Rag | None = None
    complete = False
    rag_from_colour = False
    try:
        rag, complete = _rag(values.get("rag"))
    except Invalid as error:
        cells.problem("rag", values.get("rag"), str(error))
    if rag is None and not complete and "rag" not in cells.unread and colour is not None:
        # The cell is empty but coloured: the colour is the rating.
        rag_from_colour = True
        complete = colour == COMPLETE
        rag = colour if isinstance(colour, Rag) else None
        reading.from_colour.append(ref)
    if complete and status is None:
        status = Status.COMPLETE
    closed = status is not None and status.is_closed
    if rag is None and not complete and not closed and "rag" not in cells.unread:
        reading.unrated.append(ref)

    note = _cell_text(values.get("note")) or None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        cells.problem("note", note, f"{len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}")
        note = None
    priorities: list[str] = []
    for name in _priorities(values.get("priorities")):
        if len(name) > MAX_PRIORITY_CHARS:
            cells.problem("priorities", name, f"over {MAX_PRIORITY_CHARS} characters")
        else:
            priorities.append(name)

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
        sheet=reading.sheet,
        unread=cells.unread,
        note=note,
        status_note=status_reading.sentence,
        signed_off_by=status_reading.signed_off_by,
        signed_off_on=status_reading.signed_off_on,
        priorities=priorities,
        rag_from_colour=rag_from_colour,
    )


def _due_cells(values: dict[str, object], cells: _Cells) -> tuple[date | None, str | None]:
    """The due date, and its wording: from the due column, or from a `Due as written` column
    that our own CSV and Excel exports write beside an ISO date (see write.py)."""
    due: date | None = None
    due_text: str | None = None
    try:
        due, due_text = _due(values.get("due"), cells.reading.today)
    except Invalid as error:
        cells.problem("due", values.get("due"), str(error))
        return None, None
    wording = " ".join(_cell_text(values.get("due_text")).split()) or None
    if wording is None:
        return due, due_text
    if len(wording) > MAX_DUE_TEXT_CHARS:
        cells.problem("due_text", wording, f"over {MAX_DUE_TEXT_CHARS} characters")
        return due, due_text
    if due is None and due_text is None:
        # No date beside the wording: the wording is the date.
        try:
            return _due(wording, cells.reading.today)
        except Invalid as error:
            cells.problem("due", wording, str(error))
            return None, None
    return due, wording


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


def _rag(value: object) -> tuple[Rag | None, bool]:
    """The rating, and whether the cell instead says the action is complete ("Blue")."""
    text = " ".join(_cell_text(value).split())
    # "Green (complete)", "Amber (was red)": the rating is the word before the bracket.
    text = re.sub(r"\s*\(.*\)\s*$", "", text) or text
    if not text or text.lower() in RAG_MEANING_UNRATED:
        return None, False
    if text.lower() in RAG_MEANING_COMPLETE:
        return None, True
    rag = Rag.lookup(text) or Rag.lookup(re.sub(r"\s*[/\-–]\s*", "/", text))
    if rag is None:
        raise Invalid(
            f"unknown RAG word “{_shown(text)}”: use red, amber or green "
            "(or red/amber, amber/green, blue for complete)"
        )
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
    notes += _lead_notes(reading.rows)
    if reading.from_colour:
        notes.append(
            f"RAG read from the cell colour for {_refs(reading.from_colour)} "
            "(the RAG cell was empty)."
        )
    if reading.unrated:
        notes.append(
            f"No RAG for {_refs(reading.unrated)}: loaded not rated "
            "(an action already in the plan keeps its rating)."
        )
    if reading.date_not_set:
        notes.append(f"Due date to be confirmed for {_refs(reading.date_not_set)}: no date set.")
    five_point = any(row.rag in FIVE_POINT_RAGS for row in reading.rows)
    if five_point:
        notes.append(
            "This tracker uses the five-point delivery-confidence scale (red, red/amber, amber, "
            "amber/green, green): the plan keeps it."
        )
    listed = reading.problems[:MAX_PROBLEMS_LISTED]
    left_off = len(reading.problems) - len(listed)
    if left_off:
        notes.append(
            f"…and {left_off:,} more problems not listed: fix the first "
            f"{MAX_PROBLEMS_LISTED} and import again."
        )
    return ParsedPlan(
        name=name,
        rows=reading.rows,
        problems=listed,
        problems_left_off=left_off,
        notes=notes,
        rag_scale=5 if five_point else 3,
    )


def _refs(refs: list[str], limit: int = 12) -> str:
    more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
    return ", ".join(refs[:limit]) + more


def _lead_notes(rows: list[PlanRow]) -> list[str]:
    """One person named by name on one row and by e-mail on another is one person."""
    links = link_names_to_emails(lead for row in rows for lead in row.leads)
    notes: list[str] = []
    if links.linked:
        for row in rows:
            row.leads = list(dict.fromkeys(links.linked.get(lead, lead) for lead in row.leads))
        pairs = ", ".join(f"{name} is {email}" for name, email in links.linked.items())
        notes.append(f"Leads named both ways in the file, taken as one person: {pairs}.")
    if links.unmatched:
        names = ", ".join(links.unmatched[:20])
        more = f" and {len(links.unmatched) - 20} more" if len(links.unmatched) > 20 else ""
        notes.append(
            f"Leads given only by name, with no e-mail anywhere in the file: {names}{more}. "
            "They are kept by name and cannot be reminded until linked; "
            "add their e-mail to the tracker."
        )
    return notes


# --- Sheets: CSV and Excel -----------------------------------------------------------------

# "Area of Weakness 1: Identification…", "Pillar 2 – Joint commissioning", "Priority 3. …"
_SECTION = re.compile(
    r"^(?:area\s+of\s+weakness|area\s+for\s+(?:improvement|development)|aow|pillar|priority|"
    r"workstream|work\s+stream|strand|theme|section|weakness|objective)\s*\d*[a-z]?\s*[:.\-–—]",
    re.IGNORECASE,
)


def _section_heading(cells: Sequence[object], header: _Header) -> str | None:
    """A row that is a heading for the rows under it: one text, either spread across merged
    cells or worded like "Area of Weakness 1: …". A lone text that is neither is left to be
    read as a row (and reported when it has no ref), so nothing is silently taken as a heading.
    """
    positions = [i for i, cell in enumerate(cells) if _cell_text(cell)]
    texts = {_cell_text(cells[i]) for i in positions}
    if len(texts) != 1:
        return None
    text = " ".join(texts.pop().split())
    if positions == [header.columns.get("workstream")]:
        return None  # a workstream cell alone: _read_row's heading row
    merged_across = len(positions) > 1
    if not (merged_across or _SECTION.match(text)) or len(text) > MAX_WORKSTREAM_CHARS:
        return None
    return text


def _read_sheet(
    rows: Sequence[Sequence[object]],
    header: _Header,
    reading: _Reading,
    colours: dict[int, Colour] | None = None,
) -> None:
    reading.headings = header.headings
    for index in range(header.row_index + 1, len(rows)):
        cells = rows[index]
        section = _section_heading(cells, header)
        if section is not None:
            reading.workstream = section
            continue
        values = {
            name: cells[position] if position < len(cells) else None
            for name, position in header.columns.items()
        }
        _read_row(values, index + 1, reading, (colours or {}).get(index))


def _read_table(rows: Sequence[Sequence[object]], filename: str, today: date | None) -> ParsedPlan:
    """A sheet's rows, header somewhere in the first few; row numbers count from 1 at the top."""
    header = _find_header(rows)
    if header is None:
        raise _no_header_error(rows, filename)
    reading = _Reading(unit="row", today=today)
    _read_sheet(rows, header, reading)
    plan = _finish(reading, filename)
    plan.ignored_columns = header.ignored
    if "workstream" not in header.columns:
        _note_no_workstream_column(plan)
    return plan


def _note_no_workstream_column(plan: ParsedPlan) -> None:
    if all(row.workstream == DEFAULT_WORKSTREAM for row in plan.rows):
        also = ", ".join(COLUMN_NAMES["workstream"][1:])
        plan.notes.insert(
            0,
            f"No workstream column (also accepted: {also}): "
            f"every action is under ‘{DEFAULT_WORKSTREAM}’.",
        )


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
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= MAX_ROWS:
                raise PlanFileError(str(too_many_rows(filename, "")))
            if len(row) > MAX_COLUMNS:
                raise PlanFileError(str(too_many_columns(filename, len(row), "")))
            rows.append(row)
    except csv.Error as error:
        raise PlanFileError(f"{filename} cannot be read as CSV: {error}.") from None
    return rows


def _read_xlsx(data: bytes, filename: str, today: date | None) -> ParsedPlan:
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
        _check_sheet_sizes(data, filename)
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
        return _read_workbook(workbook, filename, today)
    except UserError:
        raise
    except Exception:  # a sheet's XML can be damaged even when the workbook opened
        raise damaged from None
    finally:
        workbook.close()


def _check_sheet_sizes(data: bytes, filename: str) -> None:
    """Counts rows, columns and filled cells in a streaming pass, in little memory."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        filled = 0
        for sheet in workbook.worksheets:
            # Some programs record a wrong sheet size; without one openpyxl reads what is there.
            sheet.reset_dimensions()
            where = f" on sheet ‘{sheet.title}’"
            for count, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if count > MAX_ROWS:
                    raise too_many_rows(filename, where)
                if len(row) > MAX_COLUMNS:
                    raise too_many_columns(filename, len(row), where)
                filled += sum(1 for value in row if value is not None)
                if filled > MAX_CELLS:
                    raise TooLarge(
                        f"{filename} has more than {MAX_CELLS:,} filled cells; a plan has far "
                        "fewer. Delete unused sheets or rows. Nothing was loaded."
                    )
    finally:
        workbook.close()


@dataclass
class _Sheet:
    title: str
    rows: list[list[object]]
    header: _Header
    colours: dict[int, Colour]


def _read_workbook(workbook: Any, filename: str, today: date | None) -> ParsedPlan:
    theme = theme_colours(getattr(workbook, "loaded_theme", None))
    sheets: list[_Sheet] = []
    skipped: list[str] = []
    first_sheet_top: list[list[object]] | None = None
    for sheet in workbook.worksheets:
        if sheet.sheet_state != "visible":
            skipped.append(f"‘{sheet.title}’ (hidden)")
            continue
        rows = _sheet_rows(sheet)
        header = _find_header(rows, _hidden_columns(sheet))
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
        raise _no_header_error(first_sheet_top, filename)

    several = len(sheets) > 1
    reading = _Reading(unit="row", today=today)
    for sheet_read in sheets:
        # With one sheet per pillar, the sheet's name is the workstream of its rows unless a
        # workstream column or a section row says otherwise.
        reading.sheet = sheet_read.title if several else None
        reading.workstream = " ".join(sheet_read.title.split()) if several else None
        _read_sheet(sheet_read.rows, sheet_read.header, reading, sheet_read.colours)
    plan = _finish(reading, filename)
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
        _note_no_workstream_column(plan)
    return plan


def _sheet_rows(sheet: Any) -> list[list[object]]:
    """The sheet's values, with each merged range's value in every cell of the range."""
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        for row_number in range(merged.min_row, min(merged.max_row, len(rows)) + 1):
            cells = rows[row_number - 1]
            if len(cells) < merged.max_col:
                cells.extend([None] * (merged.max_col - len(cells)))
            for column in range(merged.min_col, merged.max_col + 1):
                cells[column - 1] = value
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
    sheet: Any, header: _Header, rows: Sequence[Sequence[object]], theme: list[str]
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
            if number > MAX_ROWS:
                raise PlanFileError(str(too_many_rows(filename, "")).replace("rows", "actions"))
            values = _yaml_values(action) if isinstance(action, dict) else {}
            if not any(_cell_text(value) for value in values.values()):
                reason = "not an action: give it a ref, a title, and its lead, due, status…"
                reading.problems.append(RowProblem(row=number, ref=None, reason=reason))
                continue
            _read_row(values | {"workstream": name}, number, reading)
    return _finish(reading, filename, _plan_name(document.get("plan"), filename))


def _load_yaml(data: bytes, filename: str) -> object:
    try:
        return load_plan_yaml(_decode(data, filename), filename)
    except TooLarge as error:
        raise PlanFileError(str(error)) from None
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
