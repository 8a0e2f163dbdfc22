"""The rows of a plan file, whatever its format: headings, cells, actions and what to report.

read.py turns CSV and YAML into rows and workbook.py does the same for Excel; both hand them to
`read_row` and `finish` here, so every format reads a cell the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

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
from bot.plans.colours import COMPLETE, Colour
from bot.plans.dates import (
    YearEnd,
    academic_year_end,
    bare_year_span_end,
    names_financial_time,
    names_school_time,
    parse_due,
)
from bot.plans.leads import is_placeholder, link_names_to_emails, split_leads
from bot.plans.limits import MAX_PROBLEMS_LISTED
from bot.plans.status import StatusReading, read_status
from bot.privacy import find_personal_data


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
    # the leads' organisation (council, ICB, school…), when the tracker has a column for it
    organisation: str | None = None


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
    # workstream name -> what its section-end rows say its work changed ("The difference it
    # made: …")
    impacts: dict[str, str] = {}


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
    "organisation": (
        "Organisation",
        "Organization",
        "Lead organisation",
        "Lead organization",
        "Lead agency",
        "Agency",
    ),
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
        "Progress to date",
        "Comments",
    ),
    # A tracker that splits its commentary into what is done and what is still to do
    # ("Status – Complete" / "Status – To Do"): progress and next steps.
    "done": (
        "Status – Complete",
        "Status – Done",
        "Done",
        "What has been done",
        "Work completed",
        "Actions completed",
        "Progress made",
    ),
    "next_steps": (
        "Status – To Do",
        "To do",
        "Still to do",
        "Next steps",
        "Actions planned",
        "Planned next steps",
        "Remaining actions",
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
MAX_ORGANISATION_CHARS = 200

# A RAG column saying "blue" or "complete" means the action is done, not rated.
RAG_MEANING_COMPLETE = frozenset({"blue", "b", "complete", "completed", "done"})
RAG_MEANING_UNRATED = frozenset(
    {"n/a", "na", "-", "–", "—", "tbc", "none", "not rated", "grey", "gray", "not yet due"}
)
# Due wordings that mean "no date yet": loaded without a date, and said so.
DUE_NOT_SET = frozenset({"tbc", "tbd", "to be confirmed", "to be decided"})

# Exports put a ' before these so a spreadsheet shows the text instead of running a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


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
class Header:
    row_index: int  # position in the rows read, counting from 0
    columns: dict[str, int]  # plan field -> column position
    ignored: list[str]
    headings: dict[str, str] = field(default_factory=dict)  # plan field -> heading as written
    hidden: list[str] = field(default_factory=list)  # headings of hidden columns, not read


def _map_header(
    cells: Sequence[object], row_index: int, hidden: frozenset[int] = frozenset()
) -> Header:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    headings: dict[str, str] = {}
    hidden_headings: list[str] = []
    for position, cell in enumerate(cells):
        heading = cell_text(cell)
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
    return Header(row_index, columns, ignored, headings, hidden_headings)


def find_header(
    rows: Sequence[Sequence[object]], hidden: frozenset[int] = frozenset()
) -> Header | None:
    for row_index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = _map_header(cells, row_index, hidden)
        if all(required in header.columns for required in REQUIRED_FIELDS):
            return header
    return None


def no_header_error(rows: Sequence[Sequence[object]], filename: str) -> PlanFileError:
    """Names the missing column, using the row that looked most like a header."""
    candidates = [_map_header(cells, i) for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS])]
    candidates = [c for c in candidates if c.columns or c.ignored]
    if not candidates:
        return PlanFileError(f"{filename} has no header row: it needs at least ref and title.")
    best = max(candidates, key=lambda c: len(c.columns))
    missing = next(f for f in REQUIRED_FIELDS if f not in best.columns)
    also = ", ".join(COLUMN_NAMES[missing][1:])
    found = [cell_text(cell) for cell in rows[best.row_index]]
    shown = ", ".join(name for name in found if name) or "none"
    return PlanFileError(
        f"{filename} has no ‘{missing}’ column (also accepted: {also}). Columns found: {shown}."
    )


# --- Cells ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoSavedValue:
    """A formula cell whose result the file does not keep (a file written by a program that
    does not calculate): no value to read, reported rather than read as empty."""

    formula: str


def cell_text(value: object) -> str:
    """A cell as trimmed text, with a spreadsheet-safety ' from our own exports taken off."""
    if value is None or isinstance(value, NoSavedValue):
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


def _lead_cells(values: dict[str, object], cells: _Cells) -> list[str]:
    """The row's leads; one too long to be a name is reported and left out. A cell saying no
    one is named yet gives none, and is listed."""
    raw = cell_text(values.get("lead"))
    if raw and is_placeholder(raw) and cells.ref not in cells.reading.no_lead_yet:
        cells.reading.no_lead_yet.append(cells.ref)
    leads: list[str] = []
    for lead in _leads(values.get("lead")):
        if len(lead) > MAX_LEAD_CHARS:
            cells.problem("lead", lead, f"a lead of {len(lead):,} characters is not a name")
        else:
            leads.append(lead)
    return leads


def _leads(value: object) -> list[str]:
    parts: Iterable[object] = value if isinstance(value, list) else [value]
    leads: list[str] = []
    for part in parts:
        leads += split_leads(cell_text(part))
    return leads


def _priorities(value: object) -> list[str]:
    """Priority names are often phrases with "and" or "/" in them: only ;, commas and line
    breaks separate them."""
    parts: Iterable[object] = value if isinstance(value, list) else [value]
    names: list[str] = []
    for part in parts:
        names += [" ".join(p.split()) for p in re.split(r"[;,\n]", cell_text(part))]
    return list(dict.fromkeys(name for name in names if name))


def _shown(value: object) -> str:
    text = " ".join(cell_text(value).split())
    return text if len(text) <= MAX_DUE_TEXT_CHARS else text[: MAX_DUE_TEXT_CHARS - 1] + "…"


# --- Rows ----------------------------------------------------------------------------------


@dataclass
class Reading:
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
    # refs whose lead cell names no one yet ("TBC", "New lead to be identified")
    no_lead_yet: list[str] = field(default_factory=list)
    # the last action row read, with its cells as the file has them: a row straight under it
    # with the same ref and title continues it (a ref merged down over several rows)
    last: tuple[int, dict[str, object]] | None = None
    continued: dict[str, list[int]] = field(default_factory=dict)  # ref -> the rows continuing it
    impacts: dict[str, list[str]] = field(default_factory=dict)  # workstream -> its impact rows


class _RowRejected(Exception):
    """The row cannot be loaded; the message gives every reason, separated by `; `."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))


# What a row that loads without one of its cells gets instead, by field.
_INSTEAD = {
    "due": "loaded without a due date, its wording kept (an action already in the plan keeps "
    "its date)",
    "status": "loaded without a status (new actions start not started; others keep theirs)",
    "rag": "loaded not rated (an action already in the plan keeps its rating)",
    "measure": "loaded without a measure (an action already in the plan keeps its measure)",
    "lead": "that lead left out",
    "note": "the note not recorded",
    "done": "left out of the note",
    "next_steps": "left out of the note",
    "priorities": "that priority left out",
    "workstream": f"put under ‘{DEFAULT_WORKSTREAM}’",
    "due_text": "the wording left out, the date kept",
    "organisation": "no organisation given from this row",
}


@dataclass
class _Cells:
    """The cell problems of one row that still loads."""

    reading: Reading
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


def read_row(
    values: dict[str, object], number: int, reading: Reading, colour: Colour = None
) -> None:
    """Reads one action into `reading`: a row, a problem, or nothing for a blank row.

    A blank workstream inherits the one above, as merged cells in council sheets leave only
    the first row of a pillar filled in. A row with nothing but a workstream is a heading row:
    it sets the workstream for the rows under it.
    """
    # A cell showing a spreadsheet error (a broken formula), or a formula with no saved result,
    # holds no value: left out, reported by `_plan_row` once the row's ref is known, never stored.
    errors = {name: shown for name, value in values.items() if (shown := _cell_error(value))}
    values = {name: None if name in errors else value for name, value in values.items()}
    filled = {name for name, value in values.items() if cell_text(value)} | set(errors)
    if not filled:
        return
    workstream = " ".join(cell_text(values.get("workstream")).split())
    if workstream:
        reading.workstream = workstream
    if filled == {"workstream"}:
        return
    ref: str | None = None
    try:
        ref = _ref(values.get("ref"), number, reading)
        if _continues(values, number, ref, reading):
            return
        reading.rows.append(_plan_row(values, number, ref, reading, colour, errors))
        reading.last = (number, values)
    except _RowRejected as rejected:
        reading.problems.append(
            RowProblem(row=number, ref=ref, reason=str(rejected), sheet=reading.sheet)
        )


# What a row continuing an action may add to it; any other cell it fills differently from the
# action's first row is reported, and the first row's is kept.
_KEPT_FROM_FIRST = ("due", "status", "rag", "measure", "priorities")


def _continues(values: dict[str, object], number: int, ref: str, reading: Reading) -> bool:
    """A row straight under the action's last row, with the same ref and title (a ref and title
    merged down over several rows, or written again on each), adds its leads and its note to
    that action rather than being a second action with the same ref."""
    if reading.last is None or not reading.rows:
        return False
    last_number, first = reading.last
    action = reading.rows[-1]
    if (
        last_number != number - 1
        or action.ref != ref
        or " ".join(cell_text(values.get("title")).split()) != " ".join(action.title.split())
    ):
        return False
    personal = _personal_cells(values, reading)
    if personal:
        raise _RowRejected(personal)
    cells = _Cells(reading, number, ref)
    action.leads += [lead for lead in _lead_cells(values, cells) if lead not in action.leads]
    note = _commentary(values)
    if note and note not in (action.note or ""):
        joined = f"{action.note}\n{note}" if action.note else note
        if len(joined) > MAX_NOTE_CHARS:
            cells.problem(
                "note", note, f"the action's note would pass {MAX_NOTE_CHARS:,} characters"
            )
        else:
            action.note = joined
    for name in _KEPT_FROM_FIRST:
        text = cell_text(values.get(name))
        if text and text != cell_text(first.get(name)):
            heading = reading.headings.get(name, name)
            reading.problems.append(
                RowProblem(
                    row=number,
                    ref=ref,
                    sheet=reading.sheet,
                    column=heading,
                    value=_shown(values.get(name)),
                    loaded=True,
                    reason=f"{heading}: differs from row {reading.first_seen[ref][1]}'s, which "
                    f"{ref} keeps (this row continues it)",
                )
            )
    reading.continued.setdefault(ref, []).append(number)
    reading.last = (number, first)
    return True


def _ref(value: object, number: int, reading: Reading) -> str:
    """The row's ref, noting the row where each ref first appears."""
    text = " ".join(cell_text(value).split())
    if not text:
        raise _RowRejected(["no ref"])
    try:
        ref = normalise_ref(text)
    except Invalid as error:
        raise _RowRejected([str(error)]) from None
    reading.first_seen.setdefault(ref, (reading.sheet, number))
    return ref


# What a spreadsheet shows in a cell whose formula failed.
EXCEL_ERRORS = frozenset(
    {"#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!"}
)


def _cell_error(value: object) -> tuple[str, str] | None:
    """A cell that holds no value: what it shows, and what that is, said to read after "the
    spreadsheet shows"; None for a cell with a value (or an empty one)."""
    if isinstance(value, NoSavedValue):
        return value.formula, (
            f"a formula whose result the file does not keep ({_shown(value.formula)}; open the "
            "file in Excel and save it, so the results are saved)"
        )
    text = cell_text(value)
    if text.upper() in EXCEL_ERRORS or text.upper().startswith("#GETTING_DATA"):
        return text, f"the error {text}, not a value"
    return None


def _plan_row(
    values: dict[str, object],
    number: int,
    ref: str,
    reading: Reading,
    colour: Colour,
    errors: dict[str, tuple[str, str]] | None = None,
) -> PlanRow:
    """The row as an action. Only a missing title or a repeated ref stops it loading
    (_RowRejected); any other cell that cannot be read is left out and reported."""
    reasons: list[str] = []
    sheet, first = reading.first_seen[ref]
    if (sheet, first) != (reading.sheet, number):
        on_sheet = f" of sheet ‘{sheet}’" if sheet and sheet != reading.sheet else ""
        reasons.append(f"{ref} appears again (first on {reading.unit} {first}{on_sheet})")
    reasons += _personal_cells(values, reading)
    title = cell_text(values.get("title"))
    if errors and "title" in errors:
        reasons.append(f"the title: the spreadsheet shows {errors['title'][1]}")
    elif not title:
        reasons.append("no title")
    reasons += _too_long("title", title, MAX_TITLE_CHARS)
    if reasons:
        raise _RowRejected(reasons)

    cells = _Cells(reading, number, ref)
    for name, (shown, error) in (errors or {}).items():
        if name in _INSTEAD:
            cells.problem(name, shown, f"the spreadsheet shows {error}")
    measure = cell_text(values.get("measure")) or None
    if _too_long("measure", measure, MAX_MEASURE_CHARS):
        cells.problem("measure", measure, _too_long("measure", measure, MAX_MEASURE_CHARS)[0])
        measure = None
    workstream = reading.workstream or DEFAULT_WORKSTREAM
    if _too_long("workstream", workstream, MAX_WORKSTREAM_CHARS):
        cells.problem("workstream", workstream, f"over {MAX_WORKSTREAM_CHARS} characters")
        workstream = DEFAULT_WORKSTREAM
    leads = _lead_cells(values, cells)
    due, due_text = _due_cells(values, cells)
    if due is None and due_text and due_text.lower() in DUE_NOT_SET:
        reading.date_not_set.append(ref)

    status_reading = StatusReading(None)
    try:
        status_reading = read_status(cell_text(values.get("status")))
    except Invalid as error:
        cells.problem("status", values.get("status"), f"“{_shown(values.get('status'))}” {error}")
    if status_reading.status is None and not cell_text(values.get("status")):
        # A tracker with paired "done / to do" columns states the status, when it does, in the
        # first words of what is done ("Complete", "Progress halted due to staff changes").
        status_reading = _status_from_done(cell_text(values.get("done")))
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

    note = _commentary(values)
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
        organisation=cell_text(values.get("organisation"))[:MAX_ORGANISATION_CHARS] or None,
    )


# The columns a row's commentary comes from, and how each is labelled in the note they make.
_COMMENTARY = (("note", ""), ("done", "Done: "), ("next_steps", "Next steps: "))


def _commentary(values: dict[str, object]) -> str | None:
    """The row's commentary as one note: its progress update, and what a tracker with paired
    columns says is done and is still to do, each labelled."""
    parts = [label + text for name, label in _COMMENTARY if (text := cell_text(values.get(name)))]
    return "\n".join(parts) or None


# The first statement of a "done" cell: up to a line break, a bullet ("Complete -Protocol
# published") or the end of a sentence. A dash between spaces joins ("Objective met – signed off").
_FIRST_STATEMENT = re.compile(r"\n|\s+[-–—•*](?=\S)|(?<=[.!])\s")
STATUS_WORDS_AT_MOST = 12


def _status_from_done(text: str) -> StatusReading:
    """The status the first statement of a "done" cell makes, when it is short enough to be one
    ("Complete", "Objective met – signed off by SEND Ops 26/11/19"); progress described at
    length states none. The cell itself is the note, so no sentence is kept twice."""
    first = _FIRST_STATEMENT.split(text.strip().lstrip("-–—•* "), maxsplit=1)[0].strip()
    if not first or len(first.split()) > STATUS_WORDS_AT_MOST:
        return StatusReading(None)
    try:
        reading = read_status(first)
    except Invalid:
        return StatusReading(None)
    return replace(reading, sentence=None)


def _due_cells(values: dict[str, object], cells: _Cells) -> tuple[date | None, str | None]:
    """The due date, and its wording: from the due column, or from a `Due as written` column
    that our own CSV and Excel exports write beside an ISO date (see write.py)."""
    due: date | None = None
    due_text: str | None = None
    try:
        due, due_text = _due(values.get("due"), cells.reading.today)
    except Invalid as error:
        # No date read, but the plan's words are kept in full ("Before the start of the
        # academic year 2025"): they are what the partnership committed to.
        cells.problem("due", values.get("due"), str(error))
        written = " ".join(cell_text(values.get("due")).split())
        return None, written if 0 < len(written) <= MAX_DUE_TEXT_CHARS else None
    wording = " ".join(cell_text(values.get("due_text")).split()) or None
    if wording is None:
        return due, due_text
    if len(wording) > MAX_DUE_TEXT_CHARS:
        cells.problem("due_text", wording, f"over {MAX_DUE_TEXT_CHARS} characters")
        return due, due_text
    if due is None and due_text is None:
        # No date beside the wording: the wording is the date, or words with no date in them
        # (our own export of "Before the start of the academic year 2025"), kept as they are.
        try:
            return _due(wording, cells.reading.today)
        except Invalid:
            return None, wording
    return due, wording


# The free-text cells a person writes in a tracker, where a child's details could be pasted.
_FREE_TEXT = (
    "title",
    "measure",
    "note",
    "done",
    "next_steps",
    "priorities",
    "due_text",
    "workstream",
)


def _personal_cells(values: dict[str, object], reading: Reading) -> list[str]:
    """Each free-text cell that looks like it holds a child's details, by column. A row with
    one is not loaded at all, so none of its text reaches the database; the reason names the
    kind of detail, masked, never the cell's text."""
    reasons = []
    for name in _FREE_TEXT:
        personal = find_personal_data(cell_text(values.get(name)))
        if personal:
            heading = reading.headings.get(name, name)
            reasons.append(
                f"{heading}: looks like it holds {personal}; the bot keeps no details of an "
                "individual child, so the row was not loaded (remove them and import again)"
            )
    return reasons


def _too_long(what: str, text: str | None, limit: int) -> list[str]:
    if text is None or len(text) <= limit:
        return []
    return [f"the {what} is {len(text):,} characters; the limit is {limit:,}"]


def _due(value: object, today: date | None) -> tuple[date | None, str | None]:
    if value is None or isinstance(value, date):
        return parse_due(value, today=today)
    due, due_text = parse_due(cell_text(value), today=today)
    if due_text is not None and len(due_text) > MAX_DUE_TEXT_CHARS:
        raise Invalid(f"the due date wording is over {MAX_DUE_TEXT_CHARS} characters")
    return due, due_text


def _rag(value: object) -> tuple[Rag | None, bool]:
    """The rating, and whether the cell instead says the action is complete ("Blue")."""
    text = " ".join(cell_text(value).split())
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


def finish(reading: Reading, filename: str, name: str | None = None) -> ParsedPlan:
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
    if reading.no_lead_yet:
        notes.append(
            f"No lead named yet for {_refs(reading.no_lead_yet)} (“TBC”, “to be identified”, "
            "“vacant”): loaded with no lead for that cell (an action already in the plan keeps "
            "its leads)."
        )
    if reading.continued:
        each = [
            f"{ref} (rows {', '.join(map(str, rows))})" for ref, rows in reading.continued.items()
        ]
        notes.append(
            f"Rows that continue the action above them (the same ref and title): {_refs(each)}. "
            "Their leads and notes were added to it."
        )
    # More than a stray cell: one `R/A` in a three-point tracker is a slip, not a scale.
    in_between = [row.ref for row in reading.rows if row.rag in FIVE_POINT_RAGS]
    five_point = len(in_between) >= 2
    if five_point:
        notes.append(
            "This tracker uses the five-point delivery-confidence scale (red, red/amber, amber, "
            "amber/green, green): the plan keeps it."
        )
    elif in_between:
        notes.append(
            f"One five-point rating ({_refs(in_between)}) in a tracker that otherwise rates red, "
            "amber or green: the plan stays three-point, and a three-point plan keeps the "
            "nearer three-point rating."
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
        impacts={name: "\n".join(texts) for name, texts in reading.impacts.items()},
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


# --- Sheets --------------------------------------------------------------------------------

# "Area of Weakness 1: Identification…", "Pillar 2 – Joint commissioning", "Priority 3. …"
_SECTION = re.compile(
    r"^(?:area\s+of\s+weakness|area\s+for\s+(?:improvement|development)|aow|pillar|priority|"
    r"workstream|work\s+stream|strand|theme|section|weakness|objective)\s*\d*[a-z]?\s*[:.\-–—]",
    re.IGNORECASE,
)


def _section_heading(cells: Sequence[object], header: Header) -> str | None:
    """A row that is a heading for the rows under it: one text, either spread across merged
    cells or worded like "Area of Weakness 1: …". A lone text that is neither is left to be
    read as a row (and reported when it has no ref), so nothing is silently taken as a heading.
    """
    positions = [i for i, cell in enumerate(cells) if cell_text(cell)]
    texts = {cell_text(cells[i]) for i in positions}
    if len(texts) != 1:
        return None
    text = " ".join(texts.pop().split())
    if positions == [header.columns.get("workstream")]:
        return None  # a workstream cell alone: read_row's heading row
    merged_across = len(positions) > 1
    if not (merged_across or _SECTION.match(text)) or len(text) > MAX_WORKSTREAM_CHARS:
        return None
    return text


# A row at the end of a section saying what its work changed: "The difference it made: …",
# "What difference has it made?", "Impact so far: …".
_IMPACT_ROW = re.compile(
    r"^(?:the\s+)?difference\s+(?:it|this|that|we)\s+(?:has\s+|have\s+)?made\b"
    r"|^what\s+difference\b|^impact(?:\s+so\s+far|\s+to\s+date)?\s*[:–—-]",
    re.IGNORECASE,
)


def _impact_row(cells: Sequence[object], number: int, reading: Reading) -> bool:
    """A section-end row on what the section's work changed, kept as its workstream's impact
    note: one text, alone or across merged cells."""
    texts = {cell_text(cell) for cell in cells} - {""}
    if len(texts) != 1:
        return False
    text = texts.pop().strip()
    if not _IMPACT_ROW.match(text):
        return False
    workstream = reading.workstream or DEFAULT_WORKSTREAM
    reason = None
    if personal := find_personal_data(text):
        reason = f"looks like it holds {personal}; the bot keeps no details of an individual child"
    elif len(text) > MAX_NOTE_CHARS:
        reason = f"{len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}"
    if reason is not None:
        reading.problems.append(
            RowProblem(
                row=number,
                ref=None,
                sheet=reading.sheet,
                reason=f"what ‘{_shown(workstream)}’ changed: {reason}, so it was not kept",
            )
        )
    else:
        reading.impacts.setdefault(workstream, []).append(text)
    return True


def read_sheet(
    rows: Sequence[Sequence[object]],
    header: Header,
    reading: Reading,
    colours: dict[int, Colour] | None = None,
) -> None:
    reading.headings = header.headings
    for index in range(header.row_index + 1, len(rows)):
        cells = rows[index]
        if _impact_row(cells, index + 1, reading):
            continue
        section = _section_heading(cells, header)
        if section is not None:
            reading.workstream = section
            continue
        values = {
            name: cells[position] if position < len(cells) else None
            for name, position in header.columns.items()
        }
        read_row(values, index + 1, reading, (colours or {}).get(index))


def read_table(rows: Sequence[Sequence[object]], filename: str, today: date | None) -> ParsedPlan:
    """A sheet's rows, header somewhere in the first few; row numbers count from 1 at the top."""
    header = find_header(rows)
    if header is None:
        raise no_header_error(rows, filename)
    reading = Reading(unit="row", today=today)
    read_sheet(rows, header, reading)
    plan = finish(reading, filename)
    plan.ignored_columns = header.ignored
    if "workstream" not in header.columns:
        note_no_workstream_column(plan)
    return plan


def settle_year_spans(plan: ParsedPlan, year_end: YearEnd | None) -> None:
    """A due date written only as a year span ("2024-25") ends on 31 March as a financial year
    or on 31 August as an academic one. `year_end` says which; without it, a tracker that dates
    other work by terms or school years means school years. The wording is kept either way,
    and the report says how the spans were read."""
    spans = [
        (row, end)
        for row in plan.rows
        if row.due_text
        and (end := bare_year_span_end(row.due_text))
        and row.due == date(end, 3, 31)  # read from the wording, not from a date beside it
    ]
    if not spans:
        return
    school = [row.ref for row in plan.rows if row.due_text and names_school_time(row.due_text)]
    financial = [
        row.ref for row in plan.rows if row.due_text and names_financial_time(row.due_text)
    ]
    chosen = year_end or (YearEnd.ACADEMIC if school and not financial else YearEnd.FINANCIAL)
    if chosen is YearEnd.ACADEMIC:
        for row, end in spans:
            row.due = academic_year_end(end)
    refs = _refs([row.ref for row, _ in spans])
    if year_end is not None:
        why = "as --year-end says"
    elif school and financial:
        why = (
            f"as the tracker dates other work by financial quarters ({_refs(financial, 3)}), "
            f"though by terms too ({_refs(school, 3)})"
        )
    elif school:
        why = f"as the tracker dates other work by terms or school years ({_refs(school, 3)})"
    else:
        why = "the tracker names no terms or school years"
    other = YearEnd.FINANCIAL if chosen is YearEnd.ACADEMIC else YearEnd.ACADEMIC
    plan.notes.append(
        f"Due dates written as a span of years ({refs}) read as {chosen} years, ending "
        f"{_YEAR_END_DAY[chosen]}, {why}; import with --year-end {other} to read them as "
        f"{other} years (ending {_YEAR_END_DAY[other]}). The wording is kept."
    )


_YEAR_END_DAY = {YearEnd.FINANCIAL: "31 March", YearEnd.ACADEMIC: "31 August"}


def note_no_workstream_column(plan: ParsedPlan) -> None:
    if all(row.workstream == DEFAULT_WORKSTREAM for row in plan.rows):
        also = ", ".join(COLUMN_NAMES["workstream"][1:])
        plan.notes.insert(
            0,
            f"No workstream column (also accepted: {also}): "
            f"every action is under ‘{DEFAULT_WORKSTREAM}’.",
        )
