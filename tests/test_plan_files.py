"""Plan files: due dates, reading council trackers (CSV, Excel, YAML), and exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill
from openpyxl.styles.colors import Color

from bot.domain import Invalid, Rag, Status, UserError
from bot.plans.colours import COMPLETE, colour_meaning, fill_meaning, theme_colours
from bot.plans.dates import parse_due, stable_due_wording
from bot.plans.leads import link_names_to_emails, split_leads
from bot.plans.read import ParsedPlan, PlanFileError, PlanRow, read_plan, read_plan_bytes
from bot.plans.status import read_status
from bot.plans.write import COLUMNS, ExportRow, export, write_csv, write_markdown, write_xlsx
from bot.render import layout

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
TODAY = date(2026, 5, 1)
TRACKER_REFS = [
    "2A.3",
    "2A.4",
    "2B",
    "7A",
    "8C",
    "9A",
    "11A.2",
    "11B",
    "11F",
    "12A.1",
    "12B",
    "12C",
]


def by_ref(plan: ParsedPlan) -> dict[str, PlanRow]:
    return {row.ref: row for row in plan.rows}


# --- Due dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("2027-01-31", date(2027, 1, 31)),
        ("31/01/2027", date(2027, 1, 31)),
        ("31/1/27", date(2027, 1, 31)),
        ("01/02/2027", date(2027, 2, 1)),  # day first, as in the UK
        ("31.01.2027", date(2027, 1, 31)),
        ("31-01-2027", date(2027, 1, 31)),
        ("31 January 2027", date(2027, 1, 31)),
        ("31st Jan 2027", date(2027, 1, 31)),
        ("  31/01/2027 ", date(2027, 1, 31)),
        ("2027-01-31 00:00:00", date(2027, 1, 31)),
    ],
)
def test_plain_dates_have_no_wording(text: str, due: date) -> None:
    assert parse_due(text, today=TODAY) == (due, None)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Jan 2027", date(2027, 1, 31)),
        ("January 2027", date(2027, 1, 31)),
        ("March 2027", date(2027, 3, 31)),
        ("February 2028", date(2028, 2, 29)),
        ("Mar-27", date(2027, 3, 31)),
        ("Q1 2026/27", date(2026, 6, 30)),
        ("Q2 2026/27", date(2026, 9, 30)),
        ("Q3 2026/27", date(2026, 12, 31)),
        ("Q4 2026/27", date(2027, 3, 31)),
        ("q3 2026-2027", date(2026, 12, 31)),
        ("2026/27 Q4", date(2027, 3, 31)),
        ("Q3 2026", date(2026, 9, 30)),
        ("Q4 2026", date(2026, 12, 31)),
        ("Spring 2027", date(2027, 3, 31)),
        ("Summer term 2027", date(2027, 7, 31)),
        ("Autumn 2026", date(2026, 12, 31)),
        ("Autumn term 2026/27", date(2026, 12, 31)),
        ("Spring term 2026/27", date(2027, 3, 31)),
        ("End of March", date(2027, 3, 31)),
        ("end of December", date(2026, 12, 31)),
        ("End of May", date(2026, 5, 31)),
        ("by the end of March 2027", date(2027, 3, 31)),
        ("By 31/01/2027", date(2027, 1, 31)),
    ],
)
def test_worded_dates_keep_their_wording(text: str, due: date) -> None:
    assert parse_due(text, today=TODAY) == (due, text)


@pytest.mark.parametrize("text", ["Ongoing", "ONGOING", "TBC", "tbd", "n/a"])
def test_open_ended_dates_keep_their_wording(text: str) -> None:
    assert parse_due(text) == (None, text)


@pytest.mark.parametrize("text", [None, "", "   ", "-"])
def test_empty_due_is_nothing(text: str | None) -> None:
    assert parse_due(text) == (None, None)


def test_excel_cells_arrive_as_dates() -> None:
    assert parse_due(datetime(2027, 1, 31, 0, 0)) == (date(2027, 1, 31), None)
    assert parse_due(date(2027, 1, 31)) == (date(2027, 1, 31), None)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("someday", "“someday” is not a date: use 31/01/2027, 2027-01-31, March 2027 or Ongoing"),
        ("31/02/2027", "February 2027 has no day 31"),
        ("01/13/2027", "there is no month 13"),
        ("Q5 2026/27", "is not a date"),
        ("Q3 2026/28", "is not a year span"),
        ("Marchember 2027", "is not a date"),
        ("Winter 2027", "is not a date"),
        ("27", "is not a date"),
    ],
)
def test_unreadable_dates_say_what_works(text: str, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        parse_due(text, today=TODAY)


def test_only_wording_with_its_own_year_is_written_back() -> None:
    assert stable_due_wording(date(2027, 3, 31), "March 2027") == "March 2027"
    assert stable_due_wording(None, "Ongoing") == "Ongoing"
    assert stable_due_wording(date(2027, 3, 31), "End of March") is None
    assert stable_due_wording(date(2027, 3, 31), None) is None


# --- Council trackers as CSV ---------------------------------------------------------------


@pytest.mark.parametrize(
    "filename", ["council_tracker_cp1252.csv", "council_tracker_semicolon.csv"]
)
def test_council_tracker_loads_every_action(filename: str) -> None:
    plan = read_plan(FIXTURES / filename, today=TODAY)

    assert plan.problems == []
    assert [row.ref for row in plan.rows] == TRACKER_REFS
    assert plan.ignored_columns == []  # Comments is the progress-update column
    assert by_ref(plan)["2A.3"].note == "Deep dive held 27/09/23"
    assert plan.name is None
    # The header is on row 4 under a title and a blank row, so the first action is row 5.
    assert plan.rows[0].row == 5
    assert plan.rows[-1].row == 16


def test_council_tracker_fields() -> None:
    rows = by_ref(read_plan(FIXTURES / "council_tracker_cp1252.csv", today=TODAY))

    first = rows["2A.3"]
    assert first.title.startswith("Agree a joint commissioning strategy")
    assert first.workstream == "Joint Commissioning"
    assert first.leads == ["U012ABC", "jo.lang@council.example"]
    assert (first.due, first.due_text) == (date(2024, 3, 31), None)
    assert (first.status, first.rag) == (Status.IN_PROGRESS, Rag.AMBER)
    assert first.measure is not None and first.measure.startswith("Strategy signed")

    assert rows["11A.2"].ref == "11A.2"  # written "11 A.2"
    assert "toolkit – pilot" in rows["11B"].title  # the cp1252 dash survives
    assert rows["11F"].measure == (
        "No child waits over 30 weeks\nMonthly waiting list reported to the board"
    )
    assert (rows["11F"].rag, rows["12B"].rag, rows["2B"].rag) == (Rag.RED, Rag.RED, None)
    assert rows["12C"].status == Status.SIGNED_OFF
    assert rows["2B"].status == Status.NOT_STARTED


def test_blank_pillar_cells_inherit_the_pillar_above() -> None:
    rows = read_plan(FIXTURES / "council_tracker_cp1252.csv", today=TODAY).rows

    pillars = {row.ref: row.workstream for row in rows}
    assert pillars["2A.4"] == pillars["2B"] == "Joint Commissioning"
    assert pillars["9A"] == "Joint Working"
    assert {pillars[ref] for ref in ("11B", "11F", "12A.1", "12B", "12C")} == {"Graduated Response"}


def test_tracker_due_dates_in_every_form() -> None:
    rows = by_ref(read_plan(FIXTURES / "council_tracker_cp1252.csv", today=TODAY))

    due = {ref: (row.due, row.due_text) for ref, row in rows.items()}
    assert due["2A.4"] == (date(2027, 3, 31), "March 2027")
    assert due["2B"] == (None, "Ongoing")
    assert due["7A"] == (date(2026, 12, 31), "Q3 2026/27")
    assert due["9A"] == (date(2027, 7, 31), "Summer term 2027")
    assert due["11A.2"] == (date(2027, 1, 31), None)
    assert due["12B"] == (date(2027, 3, 31), None)


def test_blue_in_the_rag_column_means_complete() -> None:
    row = by_ref(read_plan(FIXTURES / "council_tracker_cp1252.csv", today=TODAY))["8C"]

    assert (row.rag, row.status) == (None, Status.COMPLETE)


def test_broken_rows_are_reported_and_good_rows_still_load() -> None:
    plan = read_plan(FIXTURES / "broken_tracker.csv", today=TODAY)

    # A row with a ref and a title always loads; only the unreadable cell is left out.
    assert [(row.row, row.ref) for row in plan.rows] == [
        (2, "2A.3"),
        (3, "2A.4"),
        (4, "7A"),
        (8, "11F"),
        (9, "12B"),
    ]
    problems = {p.row: (p.ref, p.column, p.value, p.loaded, p.reason) for p in plan.problems}
    assert problems == {
        3: (
            "2A.4",
            "RAG",
            "Yellow",
            True,
            "RAG: unknown RAG word “Yellow”: use red, amber or green (or red/amber, "
            "amber/green, blue for complete) — loaded not rated (an action already in the plan "
            "keeps its rating)",
        ),
        4: (
            "7A",
            "Due",
            "someday",
            True,
            "Due: “someday” is not a date: use 31/01/2027, 2027-01-31, March 2027 or Ongoing — "
            "loaded without a due date, its wording kept (an action already in the plan keeps "
            "its date)",
        ),
        5: (None, None, None, False, "no ref"),
        6: ("2A.3", None, None, False, "2A.3 appears again (first on row 2)"),
        9: ("12B", "Status", "Blocked", True, problems[9][4]),
    }
    assert problems[9][4].startswith("Status: “Blocked” states no status (use not started")
    rows = by_ref(plan)
    assert (rows["2A.4"].rag, rows["2A.4"].unread) == (None, ["rag"])
    assert (rows["7A"].due, rows["7A"].unread, rows["7A"].rag) == (None, ["due"], Rag.GREEN)
    assert (rows["12B"].status, rows["12B"].unread) == (None, ["status"])


def test_a_row_without_a_title_gets_every_one_of_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Title,RAG,Due\n7A,,Yellow,someday\n7A,Fine,red,\n8C,Fine,red,\n")

    plan = read_plan(path)

    [no_title, again] = plan.problems
    assert (no_title.row, no_title.reason, no_title.loaded) == (2, "no title", False)
    assert (again.row, again.reason) == (3, "7A appears again (first on row 2)")
    assert [row.ref for row in plan.rows] == ["8C"]


def test_over_long_cells_are_problems_not_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(f"Ref,Title,Measure\n7A,{'x' * 501},\n8C,Fine,{'y' * 2001}\n9A,Fine,\n")

    plan = read_plan(path)

    reasons = {p.ref: p.reason for p in plan.problems}
    assert reasons["7A"] == "the title is 501 characters; the limit is 500"
    assert reasons["8C"] == (
        "Measure: the measure is 2,001 characters; the limit is 2,000 — loaded without a "
        "measure (an action already in the plan keeps its measure)"
    )
    assert [(row.ref, row.measure) for row in plan.rows] == [("8C", None), ("9A", None)]


def test_bad_refs_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Title\nsee note below!,A footnote\n7A,Fine\n")

    plan = read_plan(path)

    [problem] = plan.problems
    assert (problem.row, problem.ref) == (2, None)
    assert "is not an action ref" in problem.reason


def test_missing_workstream_column_puts_everything_under_general(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("ID,Description,Owner,Deadline\n7A,Pledge,U1; U2,Ongoing\n")

    plan = read_plan(path)

    [row] = plan.rows
    assert (row.workstream, row.leads, row.due_text) == ("General", ["U1", "U2"], "Ongoing")
    assert any("No workstream column" in note for note in plan.notes)


def test_a_row_with_only_a_pillar_is_a_heading(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Title,Area of weakness\n,,Culture\n7A,Pledge,\n")

    plan = read_plan(path)

    assert plan.problems == []
    assert [(row.ref, row.workstream) for row in plan.rows] == [("7A", "Culture")]


def test_headings_are_matched_loosely(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(
        "ACTION NUMBER,  Work Title ,Strand,Lead Officer(s),Target Date,"
        "RAG status (impact),Success criteria,Status\n"
        "12a.1,Autism training,Graduated Response,Jo Lang,31/01/2027,G,Trained,Done\n"
    )

    [row] = read_plan(path).rows

    assert (row.ref, row.title, row.workstream, row.leads) == (
        "12A.1",
        "Autism training",
        "Graduated Response",
        ["Jo Lang"],
    )
    assert (row.due, row.rag, row.measure, row.status) == (
        date(2027, 1, 31),
        Rag.GREEN,
        "Trained",
        Status.COMPLETE,
    )


def test_tab_separated_files_are_read() -> None:
    data = b"Ref\tTitle\tPillar\n7A\tPledge, charter and KPIs\tCulture\n"

    [row] = read_plan_bytes(data, "plan.csv").rows

    assert (row.ref, row.title) == ("7A", "Pledge, charter and KPIs")


def test_read_plan_bytes_reads_an_upload() -> None:
    data = (FIXTURES / "council_tracker_semicolon.csv").read_bytes()

    plan = read_plan_bytes(data, "Tracker Feb 2024.CSV", today=TODAY)

    assert [row.ref for row in plan.rows] == TRACKER_REFS


# --- Files that are not plans --------------------------------------------------------------

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


@pytest.mark.parametrize(
    ("filename", "data", "says"),
    [
        ("plan.csv", b"", "plan.csv is empty"),
        ("plan.csv", b"\xef\xbb\xbf\r\n  \n", "plan.csv is empty"),
        ("plan.csv", bytes(range(256)) * 4, "plan.csv is not a text file"),
        ("plan.csv", PNG_HEADER, "plan.csv is not a text file"),
        ("plan.csv", b"PK\x03\x04\x14\x00", "is an Excel workbook or other zip file"),
        ("plan.png", PNG_HEADER, "use a .csv, .xlsx or .yaml file"),
        ("plan.xls", b"\xd0\xcf\x11\xe0", "save old .xls workbooks as .xlsx"),
        ("plan.xlsx", b"Ref,Title\n7A,Pledge\n", "cannot be opened as an Excel workbook"),
        ("plan.xlsx", PNG_HEADER, "cannot be opened as an Excel workbook"),
        ("plan.yaml", b"- ref: 7A\n  title: Pledge\n", "needs a ‘workstreams’ list"),
        ("plan.yaml", b"plan: x\nworkstreams: Culture\n", "needs a ‘workstreams’ list"),
        ("plan.yaml", b"workstreams: [\n", "plan.yaml is not valid YAML"),
        ("plan.yaml", b"workstreams:\n  - Culture\n", "Workstream 1 in plan.yaml is not"),
        ("plan.yaml", b"workstreams:\n  - actions: []\n", "Workstream 1 in plan.yaml has no name"),
        ("plan.yaml", b"workstreams:\n  - name: Culture\n", "plan.yaml has no actions"),
        ("plan.csv", b"Ref,Title,Status\n\n,,\n", "plan.csv has no actions"),
    ],
)
def test_files_that_are_not_plans(filename: str, data: bytes, says: str) -> None:
    with pytest.raises(PlanFileError, match=re.escape(says)):
        read_plan_bytes(data, filename)


def test_missing_columns_are_named_with_what_was_found() -> None:
    data = b"Name,Colour,Size\nBob,Blue,12\n"

    with pytest.raises(PlanFileError) as raised:
        read_plan_bytes(data, "people.csv")

    message = str(raised.value)
    assert "people.csv has no ‘ref’ column (also accepted: Action No." in message
    assert "Columns found: Name, Colour, Size." in message


def test_missing_title_column_is_named() -> None:
    with pytest.raises(PlanFileError, match=r"no ‘title’ column .*Columns found: Ref, Lead"):
        read_plan_bytes(b"Ref,Lead\n7A,U1\n", "plan.csv")


def test_plan_file_errors_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="There is no file"):
        read_plan(tmp_path / "missing.csv")


# --- Excel ---------------------------------------------------------------------------------


def council_workbook(path: Path, *, cover_sheet: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if cover_sheet:
        sheet.title = "Cover"
        sheet["A1"] = "Demo SEND WSoA: read me first"
        sheet = workbook.create_sheet("Tracker")
    rows: list[list[object]] = [
        ["Demo Local Area SEND Written Statement of Action – Tracker"],
        [],
        [
            "Action No",
            "Action Description",
            "Area of weakness",
            "Owner",
            "Deadline",
            "Status",
            "RAG",
            "Success Measure",
        ],
        [
            "11F",
            "Reduce assessment waits",
            "Graduated Response",
            "Ellen Price",
            datetime(2026, 12, 31),
            "In Progress",
            "Red",
            "No child waits over 30 weeks",
        ],
        ["12B", "=Reduce exclusions", None, "U012ABC\nW0456DEF", "Q4 2026/27", None, "amber"],
        [7, "A ref typed as a number", None, None, date(2027, 1, 31)],
    ]
    for row in rows:
        sheet.append(row)
    sheet["B5"].data_type = "s"  # text that looks like a formula, as Excel stores it
    sheet.merge_cells("C4:C6")
    sheet["G4"].fill = PatternFill("solid", fgColor="FF0000")
    workbook.save(path)
    return path


def test_xlsx_with_title_rows_and_date_cells(tmp_path: Path) -> None:
    plan = read_plan(council_workbook(tmp_path / "tracker.xlsx"))

    assert plan.problems == []
    rows = by_ref(plan)
    assert [(row.row, row.ref) for row in plan.rows] == [(4, "11F"), (5, "12B"), (6, "7")]
    assert (rows["11F"].due, rows["11F"].due_text) == (date(2026, 12, 31), None)
    assert (rows["12B"].due, rows["12B"].due_text) == (date(2027, 3, 31), "Q4 2026/27")
    assert rows["7"].due == date(2027, 1, 31)
    assert rows["12B"].leads == ["U012ABC", "W0456DEF"]
    assert rows["12B"].title == "=Reduce exclusions"  # text, never a formula
    # The merged pillar cell is only filled in on its first row.
    assert {row.workstream for row in plan.rows} == {"Graduated Response"}


def test_xlsx_reads_the_first_sheet_with_a_header(tmp_path: Path) -> None:
    plan = read_plan(council_workbook(tmp_path / "tracker.xlsm", cover_sheet=True))

    assert [row.ref for row in plan.rows] == ["11F", "12B", "7"]
    assert "Read sheet ‘Tracker’, the first with a header row." in plan.notes


def test_xlsx_without_a_header_names_the_missing_column(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Action", "Lead"])
    workbook.save(tmp_path / "plan.xlsx")

    with pytest.raises(PlanFileError, match=r"plan\.xlsx has no ‘ref’ column"):
        read_plan(tmp_path / "plan.xlsx")


# --- YAML ----------------------------------------------------------------------------------


def test_yaml_plan() -> None:
    plan = read_plan(FIXTURES / "plan.yaml", today=TODAY)

    assert plan.name == "Demo Local Area SEND Written Statement of Action"
    assert [(row.row, row.ref, row.workstream) for row in plan.rows] == [
        (1, "2A.3", "Joint Commissioning"),
        (2, "2B", "Joint Commissioning"),
        (3, "11F", "Graduated Response"),
        (4, "12B", "Graduated Response"),  # loaded, its unreadable rating left out
    ]
    rows = by_ref(plan)
    assert rows["2A.3"].leads == ["U012ABC", "jo.lang@council.example"]
    assert rows["2B"].leads == ["Omar Reid", "raj.patel@council.example"]
    assert rows["11F"].leads == ["Ellen Price"]  # written as `owner:`
    assert (rows["2A.3"].due, rows["2A.3"].due_text) == (date(2027, 3, 31), None)
    assert (rows["2B"].due, rows["2B"].due_text) == (None, "Ongoing")
    assert (rows["11F"].due, rows["11F"].due_text) == (date(2027, 3, 31), "March 2027")
    assert (rows["11F"].status, rows["11F"].rag) == (Status.IN_PROGRESS, Rag.RED)
    assert rows["11F"].measure == (
        "No child waits over 30 weeks\nMonthly waiting list reported to the board"
    )
    # 11F's `updates:` history (for the demo loader) is nested data, never read as a note.
    assert [row.note for row in plan.rows] == [None] * 4
    [problem] = plan.problems
    assert (problem.row, problem.ref, problem.column, problem.loaded) == (4, "12B", "rag", True)
    assert "purple" in problem.reason
    assert rows["12B"].rag is None


def test_yaml_duplicates_are_counted_by_action() -> None:
    data = (
        b"workstreams:\n"
        b"  - name: Culture\n"
        b"    actions:\n"
        b"      - {ref: 7A, title: a}\n"
        b"      - just a string\n"
        b"      - {ref: 7a, title: b}\n"
    )

    plan = read_plan_bytes(data, "plan.yml")

    assert [(p.row, p.reason) for p in plan.problems] == [
        (2, "not an action: give it a ref, a title, and its lead, due, status…"),
        (3, "7A appears again (first on action 1)"),
    ]


# --- Exports -------------------------------------------------------------------------------


def export_rows() -> list[ExportRow]:
    return [
        ExportRow(
            ref="2A.3",
            title="Agree a joint commissioning strategy – education, health & care",
            workstream="Joint Commissioning",
            leads=["U012ABC", "jo.lang@council.example"],
            due=date(2027, 3, 31),
            due_text="March 2027",
            status="in progress",
            rag="amber",
            measure="Strategy signed\nFamilies say services are joined up",
            latest_note='=HYPERLINK("http://example.org","click")',
            latest_update_at=datetime(2027, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=0))),
            open_followups=["FU-3: How many are over 30 week wait?", "FU-4: Escalated?"],
        ),
        ExportRow(
            ref="11F",
            title="-1 week off the wait | new pathway",
            workstream="Graduated Response",
            leads=["Ellen Price"],
            due=None,
            due_text="Ongoing",
            status="signed off",
            rag=None,
            measure=None,
            latest_note=None,
            latest_update_at=None,
            open_followups=[],
        ),
        ExportRow(
            ref="12B",
            title="'+ quoted already",
            workstream="Graduated Response",
            leads=[],
            due=date(2026, 12, 31),
            due_text="Q3 2026/27",
            status="not started",
            rag="red",
            measure="@everyone",
            latest_note="Red-rated: escalated to the SEND Improvement Board",
            latest_update_at=datetime(2027, 1, 6, 14, 0),
            open_followups=[],
        ),
        ExportRow(
            ref="12C",
            title="Quality assure EHCPs",
            workstream="Graduated Response",
            leads=["Natalie Archer"],
            due=date(2027, 3, 31),
            due_text="End of March",
            status="complete",
            rag="green",
            measure=None,
            latest_note=None,
            latest_update_at=None,
            open_followups=[],
        ),
    ]


def assert_round_trip(plan: ParsedPlan, rows: list[ExportRow]) -> None:
    assert plan.problems == []
    assert len(plan.rows) == len(rows)
    for read, wrote in zip(plan.rows, rows, strict=True):
        assert read.ref == wrote.ref
        assert read.title == wrote.title
        assert read.workstream == wrote.workstream
        assert read.leads == wrote.leads
        assert read.due == wrote.due
        assert read.status == Status(wrote.status)
        assert read.rag == (Rag(wrote.rag) if wrote.rag else None)
        assert read.measure == wrote.measure
    due_texts = [row.due_text for row in plan.rows]
    # Every wording survives beside its date, even "End of March", whose date depends on the day.
    assert due_texts == ["March 2027", "Ongoing", "Q3 2026/27", "End of March"]
    # The latest note is read back as the tracker's note; the import records it only when new.
    assert [row.note for row in plan.rows] == [wrote.latest_note for wrote in rows]
    assert plan.ignored_columns == ["Latest update", "Open follow-ups"]


def test_csv_export_round_trips(tmp_path: Path) -> None:
    rows = export_rows()
    export(rows, "csv", tmp_path / "plan.csv")

    assert_round_trip(read_plan(tmp_path / "plan.csv"), rows)


def test_xlsx_export_round_trips(tmp_path: Path) -> None:
    rows = export_rows()
    export(rows, "xlsx", tmp_path / "plan.xlsx")

    assert_round_trip(read_plan(tmp_path / "plan.xlsx"), rows)


def test_csv_export_neutralises_formulas() -> None:
    out = io.StringIO()
    write_csv(export_rows(), out)

    records = list(csv.reader(io.StringIO(out.getvalue())))
    assert records[0] == list(COLUMNS)
    note = COLUMNS.index("Latest note")
    assert records[1][note] == '\'=HYPERLINK("http://example.org","click")'
    assert records[2][COLUMNS.index("Title")] == "'-1 week off the wait | new pathway"
    assert records[3][COLUMNS.index("Title")] == "''+ quoted already"
    assert records[3][COLUMNS.index("Measure")] == "'@everyone"
    assert records[1][COLUMNS.index("Latest update")] == "2027-01-05 09:30"
    assert records[1][COLUMNS.index("Open follow-ups")] == (
        "FU-3: How many are over 30 week wait?\nFU-4: Escalated?"
    )


def test_xlsx_export_is_laid_out_for_people(tmp_path: Path) -> None:
    stream = io.BytesIO()
    write_xlsx(export_rows(), stream)

    sheet = openpyxl.load_workbook(io.BytesIO(stream.getvalue())).worksheets[0]
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    note = sheet.cell(2, COLUMNS.index("Latest note") + 1)
    assert note.data_type == "s"
    assert str(note.value).startswith("'=")
    rag = COLUMNS.index("RAG") + 1
    fills = [sheet.cell(line, rag).fill.fgColor.rgb for line in (2, 4, 5)]
    assert fills == ["00FFC000", "00F8696B", "0063BE7B"]
    assert sheet.cell(3, rag).fill.fill_type is None
    # Dates in one column, the plan's wording in the next: never mixed in one column.
    due, wording = COLUMNS.index("Due") + 1, COLUMNS.index("Due as written") + 1
    assert [sheet.cell(line, due).value for line in (2, 3, 4, 5)] == [
        datetime(2027, 3, 31),
        None,
        datetime(2026, 12, 31),
        datetime(2027, 3, 31),
    ]
    assert [sheet.cell(line, wording).value for line in (2, 3, 4, 5)] == [
        "March 2027",
        "Ongoing",
        "Q3 2026/27",
        "End of March",
    ]
    assert sheet.cell(2, COLUMNS.index("Latest update") + 1).value == datetime(2027, 1, 5, 9, 30)
    widths = {
        heading: sheet.column_dimensions[chr(65 + i)].width for i, heading in enumerate(COLUMNS)
    }
    assert widths["Title"] == 60  # long titles wrap rather than stretch the sheet
    assert widths["RAG"] == len("amber") + 2
    assert widths["Ref"] == len("2A.3") + 2


def test_markdown_groups_by_workstream_and_escapes_cells() -> None:
    text = write_markdown(export_rows(), "Demo WSoA | February board")

    lines = text.splitlines()
    assert lines[0] == "# Demo WSoA \\| February board"
    assert "## Joint Commissioning" in lines and "## Graduated Response" in lines
    assert lines.index("## Joint Commissioning") < lines.index("## Graduated Response")
    wait_row = next(line for line in lines if line.startswith("| 11F |"))
    assert "-1 week off the wait \\| new pathway" in wait_row
    # Every table row has exactly the seven columns: escaped pipes do not split cells.
    table_rows = [line for line in lines if line.startswith("|")]
    assert {line.replace("\\|", "").count("|") for line in table_rows} == {8}
    first = next(line for line in lines if line.startswith("| 2A.3 |"))
    assert "| March 2027 | in progress | amber |" in first
    assert "| 31 Mar 2027 |" in next(line for line in lines if line.startswith("| 12C |"))
    assert "- FU-3: How many are over 30 week wait?" in lines


def test_markdown_keeps_line_breaks_inside_the_cell() -> None:
    row = export_rows()[0].model_copy(update={"title": "Line one\nLine two <b>"})

    text = write_markdown([row], "Plan")

    table_row = next(line for line in text.splitlines() if line.startswith("| 2A.3"))
    assert "Line one<br>Line two &lt;b>" in table_row


def test_markdown_export_of_nothing(tmp_path: Path) -> None:
    export([], "md", tmp_path / "plan.md")

    assert (tmp_path / "plan.md").read_text() == "# plan\n\nNo actions.\n"


# --- Trackers as councils write them -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("April 27", date(2027, 4, 30)),
        ("December 26", date(2026, 12, 31)),
        ("Q4 26/27", date(2027, 3, 31)),
        ("Q1 26/27", date(2026, 6, 30)),
        ("2026/27", date(2027, 3, 31)),
        ("FY 2026-27", date(2027, 3, 31)),
        ("End of Spring Term 2027", date(2027, 3, 31)),
        ("End of Summer term 2027", date(2027, 7, 31)),
        ("March 2027 (revised)", date(2027, 3, 31)),
        ("September 2026 - July 2027", date(2027, 7, 31)),
        ("Sept 2026 to July 2027", date(2027, 7, 31)),
    ],
)
def test_dates_as_councils_write_them(text: str, due: date) -> None:
    assert parse_due(text, today=TODAY) == (due, text)
    assert stable_due_wording(due, text) == text  # each names its own year: written back


@pytest.mark.parametrize("text", ["Termly", "Quarterly", "Complete"])
def test_recurring_and_done_are_no_single_date(text: str) -> None:
    assert parse_due(text) == (None, text)


def test_tbc_is_no_date_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Title,Due\n7A,Pledge,TBC\n8C,Protocol,Ongoing\n")

    plan = read_plan(path)

    assert [(row.due, row.due_text) for row in plan.rows] == [(None, "TBC"), (None, "Ongoing")]
    assert "Due date to be confirmed for 7A: no date set." in plan.notes


@pytest.mark.parametrize(
    ("text", "status", "by", "on"),
    [
        (
            "Objective met – signed off by SEND Ops 26/11/19",
            Status.SIGNED_OFF,
            "SEND Ops",
            date(2019, 11, 26),
        ),
        (
            "Objective met - Signed off by SEND Operational Leads 26/11/19",
            Status.SIGNED_OFF,
            "SEND Operational Leads",
            date(2019, 11, 26),
        ),
        ("Complete - signed off", Status.SIGNED_OFF, None, None),
        ("In progress - objective not met", Status.IN_PROGRESS, None, None),
        ("Actions to follow up", Status.IN_PROGRESS, None, None),
        ("Progress halted due to staff changes", Status.HALTED, None, None),
        ("Objective met", Status.COMPLETE, None, None),
        ("Not yet started – awaiting funding", Status.NOT_STARTED, None, None),
        ("In Progress", Status.IN_PROGRESS, None, None),
        ("Partially complete", Status.IN_PROGRESS, None, None),
        ("Delayed", Status.IN_PROGRESS, None, None),
        ("Closed", Status.COMPLETE, None, None),
        ("Proposed to close", Status.COMPLETE, None, None),
        ("Superseded", Status.HALTED, None, None),
    ],
)
def test_status_sentences(text: str, status: Status, by: str | None, on: date | None) -> None:
    reading = read_status(text)

    assert (reading.status, reading.signed_off_by, reading.signed_off_on) == (status, by, on)
    # Anything but a short status word is kept as the action's note, so no nuance is lost.
    short_words = {"Complete - signed off", "Objective met", "In Progress"}
    assert reading.sentence == (None if text in short_words else text)


def test_a_status_cell_that_states_no_status_is_refused() -> None:
    with pytest.raises(Invalid, match="states no status"):
        read_status("Blocked")


@pytest.mark.parametrize(
    ("text", "rag", "complete"),
    [
        ("R", Rag.RED, False),
        ("A", Rag.AMBER, False),
        ("G", Rag.GREEN, False),
        ("Red/Amber", Rag.RED_AMBER, False),
        ("Red / Amber", Rag.RED_AMBER, False),
        ("Amber/Green", Rag.AMBER_GREEN, False),
        ("Amber-Green", Rag.AMBER_GREEN, False),
        ("At risk", Rag.AMBER, False),
        ("Off track", Rag.RED, False),
        ("On track", Rag.GREEN, False),
        ("G/A", Rag.AMBER_GREEN, False),
        ("Green (complete)", Rag.GREEN, False),
        ("Grey", None, False),
        ("Blue", None, True),
        ("Complete", None, True),
    ],
)
def test_rag_as_trackers_write_it(tmp_path: Path, text: str, rag: Rag, complete: bool) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(f"Ref,Title,RAG\n7A,Pledge,{text}\n")

    [row] = read_plan(path).rows

    assert row.rag == rag
    assert (row.status == Status.COMPLETE) is complete


def test_the_three_and_five_point_scales() -> None:
    assert Rag.scale(3) == (Rag.RED, Rag.AMBER, Rag.GREEN)
    assert Rag.scale(5) == (Rag.RED, Rag.RED_AMBER, Rag.AMBER, Rag.AMBER_GREEN, Rag.GREEN)
    assert Rag("amber/green") is Rag.AMBER_GREEN
    assert all(rag in layout.RAG_SYMBOL for rag in Rag.scale(5))


@pytest.mark.parametrize(
    ("rgb", "meaning"),
    [
        ("FFFF0000", Rag.RED),
        ("F8696B", Rag.RED),
        ("FFC7CE", Rag.RED),  # Excel's "Bad" style
        ("FFC000", Rag.AMBER),
        ("FFFF00", Rag.AMBER),  # yellow stands for amber
        ("FFEB9C", Rag.AMBER),  # Excel's "Neutral" style
        ("00B050", Rag.GREEN),
        ("C6EFCE", Rag.GREEN),  # Excel's "Good" style
        ("0070C0", COMPLETE),
        ("FFFFFF", None),
        ("D9D9D9", None),
        ("000000", None),
        ("7030A0", None),  # purple says nothing
    ],
)
def test_fill_colours(rgb: str, meaning: object) -> None:
    assert colour_meaning(rgb) == meaning


def test_theme_colours_come_from_the_workbook_theme() -> None:
    from openpyxl.writer.theme import theme_xml

    theme = theme_colours(theme_xml)

    assert theme[4:10] == ["4F81BD", "C0504D", "9BBB59", "8064A2", "4BACC6", "F79646"]
    assert fill_meaning(PatternFill("solid", fgColor=Color(theme=5)), theme) == Rag.RED
    assert fill_meaning(PatternFill("solid", fgColor=Color(theme=9, tint=0.6)), theme) == Rag.AMBER
    assert fill_meaning(PatternFill("solid", fgColor=Color(theme=1)), theme) is None


def test_leads_split_on_every_separator_trackers_use() -> None:
    assert split_leads("Sam Lead & Raj Patel / jo@x.gov.uk; U012ABC, Ellen Price and Ann Day") == [
        "Sam Lead",
        "Raj Patel",
        "jo@x.gov.uk",
        "U012ABC",
        "Ellen Price",
        "Ann Day",
    ]
    assert split_leads("Alexander Anderson") == ["Alexander Anderson"]  # "and" inside a word


def test_a_name_is_the_e_mail_that_spells_it() -> None:
    links = link_names_to_emails(
        ["Sam Lead", "sam.lead@council.gov.uk", "J Smith", "jsmith@x.org", "Raj Patel"]
    )

    assert links.linked == {"Sam Lead": "sam.lead@council.gov.uk", "J Smith": "jsmith@x.org"}
    assert links.unmatched == ["Raj Patel"]


def test_a_name_two_e_mails_could_spell_is_not_guessed() -> None:
    links = link_names_to_emails(["Jo Lang", "jo.lang@council.gov.uk", "jo.lang@icb.nhs.uk"])

    assert links.linked == {} and links.unmatched == ["Jo Lang"]


def test_section_rows_give_the_workstream_and_lone_text_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(
        "Ref,Title,Lead\n"
        "Pillar 2 – Joint commissioning,,\n"
        "2A,Strategy,U1\n"
        ",Commission SALT jointly,\n"  # a row that lost its ref: reported, not a heading
        "2B,SALT,U2\n"
    )

    plan = read_plan(path)

    assert [(row.ref, row.workstream) for row in plan.rows] == [
        ("2A", "Pillar 2 – Joint commissioning"),
        ("2B", "Pillar 2 – Joint commissioning"),
    ]
    assert [(p.row, p.reason) for p in plan.problems] == [(4, "no ref")]


def test_strategic_priorities_are_a_list(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(
        'Ref,Title,Priority,Strategic priority\n7A,Pledge,Culture,"Health and care; Early help, '
        'Co-production"\n'
    )

    [row] = read_plan(path).rows

    assert row.workstream == "Culture"
    assert row.priorities == ["Health and care", "Early help", "Co-production"]


def test_a_hidden_column_is_not_read(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Ref", "Old RAG", "Title", "RAG"])
    sheet.append(["7A", "Red", "Pledge", None])
    sheet.column_dimensions["B"].hidden = True
    sheet["D2"].fill = PatternFill("solid", fgColor="00B050")
    workbook.save(tmp_path / "plan.xlsx")

    plan = read_plan(tmp_path / "plan.xlsx")

    [row] = plan.rows
    assert (row.rag, row.rag_from_colour) == (Rag.GREEN, True)
    assert "Hidden columns not read: Old RAG." in plan.notes


def test_markdown_orders_workstreams_by_their_position_in_the_plan() -> None:
    # Joint Commissioning comes first in the export (refs sort 2A before 11F) but second in
    # the plan.
    positions = {"Joint Commissioning": 1, "Graduated Response": 0}
    rows = [
        row.model_copy(update={"workstream_position": positions[row.workstream]})
        for row in export_rows()
    ]

    text = write_markdown(rows, "Plan")

    order = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert order == ["Graduated Response", "Joint Commissioning"]
    unordered = write_markdown(export_rows(), "Plan")  # without positions: as they appear
    assert unordered.index("## Joint Commissioning") < unordered.index("## Graduated Response")
