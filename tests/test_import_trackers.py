"""Real council trackers into the store: every row present, each oddity reported, re-imports
that change nothing, notes and sign-offs recorded once, and exports that read back exactly."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.domain import Rag, Surface
from bot.plans.read import ParsedPlan, read_plan
from bot.plans.report import report_lines
from bot.runtime import Runtime
from bot.services import imports
from bot.services.context import Caller
from bot.services.imports import ImportReport, apply_plan
from bot.store.db import unit_of_work
from bot.store.models import Action, Person, Update, Workstream
from tests.conftest import Console
from tests.fixtures.trackers import five_point_workbook, merged_ref_workbook, pillar_workbook

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
TRACKER = FIXTURES / "council_tracker_2024.csv"
TRACKER_REFS = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3"]
TODAY = date(2026, 11, 14)


def load(runtime: Runtime, path: Path) -> tuple[ParsedPlan, ImportReport, list[str]]:
    parsed = read_plan(path, today=TODAY)
    with runtime.work(Caller(user_id="import", source=Surface.IMPORT), making_plan=True) as ctx:
        report = apply_plan(ctx, parsed, path.name)
    return parsed, report, report_lines(path.name, parsed, report)


def actions(runtime: Runtime) -> dict[str, Action]:
    with unit_of_work(runtime.sessions) as session:
        found = {a.ref: a for a in session.scalars(select(Action))}
        for action in found.values():
            _ = action.leads, action.workstream  # loaded before the session closes
        return found


def updates(runtime: Runtime, ref: str) -> list[tuple[str, str | None, str | None]]:
    with unit_of_work(runtime.sessions) as session:
        rows = session.execute(
            select(Update.kind, Update.status_to, Update.note)
            .join(Action, Action.id == Update.action_id)
            .where(Action.ref == ref)
            .order_by(Update.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def update_count(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def test_a_council_tracker_loads_every_row_and_reports_each_oddity(runtime: Runtime) -> None:
    parsed, report, lines = load(runtime, TRACKER)
    text = "\n".join(lines)

    stored = actions(runtime)
    assert sorted(stored, key=TRACKER_REFS.index) == TRACKER_REFS
    assert report.created == TRACKER_REFS
    # Section rows are the workstreams of the rows under them.
    assert stored["1.4"].workstream.name == (
        "Area of Weakness 1: Identification and assessment of need"
    )
    assert stored["3.3"].workstream.name == "Area of Weakness 3: Preparing for adulthood"
    # Status sentences and RAG words, as the tracker writes them.
    assert (stored["1.1"].status, stored["1.2"].status) == ("signed off", "in progress")
    assert (stored["2.1"].status, stored["3.1"].status) == ("halted", "complete")
    assert (stored["2.2"].status, stored["2.2"].rag) == ("signed off", None)
    assert (stored["1.2"].rag, stored["1.4"].rag, stored["3.3"].rag) == ("amber", "amber", "red")
    assert stored["3.2"].rag == "green"  # "On track"
    # Dates as councils write them.
    assert (stored["1.1"].due, stored["1.1"].due_text) == (date(2027, 4, 30), "April 27")
    assert (stored["1.3"].due, stored["1.3"].due_text) == (date(2027, 3, 31), "2026/27")
    assert (stored["2.1"].due, stored["2.1"].due_text) == (None, "TBC")
    # Unreadable cells are left out of rows that still load, each reported where it is.
    assert (stored["2.4"].due, stored["2.4"].rag, stored["3.3"].status) == (
        None,
        None,
        "not started",
    )
    assert "cells not read, the row loaded without them (3):" in text
    assert "row 15 2.4: Timescale: “someday” is not a date" in text
    assert "row 15 2.4: RAG: unknown RAG word “Purple”" in text
    assert "row 19 3.3: Status: “Blocked” states no status" in text
    assert "rows not loaded" not in text
    # Everything else worth knowing about the file.
    assert "note: Due date to be confirmed for 2.1: no date set." in text
    assert "Sam Lead is sam.lead@council.gov.uk" in text
    assert "five-point delivery-confidence scale" in text and parsed.rag_scale == 5
    assert "columns not used: Notes for officers" in text
    assert "Raj Patel" in report.unmatched_leads and "leads matching nobody known" in text


def test_a_name_and_an_e_mail_for_one_lead_are_one_person(runtime: Runtime) -> None:
    load(runtime, TRACKER)

    stored = actions(runtime)
    lead_11 = {p.email or p.name for p in stored["1.1"].leads}
    assert lead_11 == {"sam.lead@council.gov.uk", "Raj Patel"}
    assert [p.id for p in stored["1.2"].leads] == [
        p.id for p in stored["1.1"].leads if p.email == "sam.lead@council.gov.uk"
    ]
    assert {p.name for p in stored["3.2"].leads} == {
        "Rachael Williams",
        "Matt Gifford",
        "Laureen Wardle",
    }
    with unit_of_work(runtime.sessions) as session:
        sams = session.scalars(select(Person).where(Person.name.ilike("sam lead"))).unique().all()
    assert len(sams) == 1


def test_status_sentences_and_progress_updates_are_recorded_once(runtime: Runtime) -> None:
    load(runtime, TRACKER)
    first = update_count(runtime)

    assert updates(runtime, "1.1")[1:] == [
        (
            "note",
            "signed off",
            "Objective met – signed off by SEND Ops 26/11/19\n"
            "Pathway agreed by all partners; training rolled out",
        ),
        (
            "map",
            "signed off",
            "Imported from council_tracker_2024.csv: strategic priorities P1 Early "
            "identification, P2 Joint working (were: none)",
        ),
    ]
    assert actions(runtime)["1.4"].last_note == "Two sessions held; third postponed"
    # The history row is dated when the import recorded it; its note keeps the sign-off's date.
    created = updates(runtime, "1.1")[0]
    assert created[1] == "signed off"
    assert created[2] == (
        "Imported from council_tracker_2024.csv; signed off by SEND Ops on 26 Nov 2019, "
        "as the tracker says"
    )

    _, report, lines = load(runtime, TRACKER)

    assert (report.created, report.changed, report.unchanged) == ([], {}, len(TRACKER_REFS))
    assert report.notes_recorded == []
    assert update_count(runtime) == first
    assert "  changed 0:" in lines


def test_a_new_progress_update_is_a_new_note(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "tracker.csv"
    shutil.copy(TRACKER, path)
    load(runtime, path)
    path.write_text(
        path.read_text().replace("Two sessions held; third postponed", "All three sessions held")
    )

    _, report, _ = load(runtime, path)

    assert report.changed == {"1.4": ["note"]}
    assert updates(runtime, "1.4")[-1] == ("note", "in progress", "All three sessions held")
    assert actions(runtime)["1.4"].last_note == "All three sessions held"


def test_an_unreadable_cell_on_reimport_keeps_what_the_action_had(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.csv"
    shutil.copy(TRACKER, path)
    load(runtime, path)
    before = actions(runtime)["1.2"]
    count = update_count(runtime)
    lines = path.read_text().splitlines()
    lines[7] = lines[7].replace("Q4 26/27", "when funded").replace(",A,", ",Mauve,")
    lines[7] = lines[7].replace("In progress - objective not met", "Stuck")
    path.write_text("\n".join(lines) + "\n")

    parsed, report, text = load(runtime, path)

    after = actions(runtime)["1.2"]
    assert (after.due, after.due_text, after.rag, after.status) == (
        before.due,
        before.due_text,
        before.rag,
        before.status,
    )
    assert "1.2" not in report.changed and update_count(runtime) == count
    assert {(p.ref, p.column) for p in parsed.problems if p.ref == "1.2"} == {
        ("1.2", "Timescale"),
        ("1.2", "RAG"),
        ("1.2", "Status"),
    }
    assert any("row 8 1.2: RAG: unknown RAG word “Mauve”" in line for line in text)


def test_a_sign_off_sentence_records_a_sign_off(
    runtime: Runtime, tmp_path: Path, console: Console
) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text("Ref,Title,Status\n4A,Agree the transition protocol,In progress\n")
    load(runtime, path)
    path.write_text(
        "Ref,Title,Status\n"
        "4A,Agree the transition protocol,Objective met – signed off by SEND Ops 26/11/19\n"
    )

    parsed, report, _ = load(runtime, path)

    [row] = parsed.rows
    assert (row.signed_off_by, row.signed_off_on) == ("SEND Ops", date(2019, 11, 26))
    assert report.changed == {"4A": ["status", "note"]}
    assert updates(runtime, "4A")[1:] == [
        (
            "signoff",
            "signed off",
            # dated when imported; the sign-off's own date is kept in its note
            "Imported from tracker.csv; signed off by SEND Ops on 26 Nov 2019, as the tracker says",
        ),
        ("note", "signed off", "Objective met – signed off by SEND Ops 26/11/19"),
    ]
    history = console("history 4A")
    assert "signed off" in history and "signed off by SEND Ops 26/11/19" in history


def test_a_workbook_with_a_sheet_per_pillar(runtime: Runtime, tmp_path: Path) -> None:
    path = pillar_workbook(tmp_path / "Anyshire WSoA tracker.xlsx")

    parsed, report, lines = load(runtime, path)
    text = "\n".join(lines)

    stored = actions(runtime)
    assert sorted(stored) == ["1A", "1B", "1C", "2A", "2B", "2C", "2D"]
    assert parsed.sheets_read == ["Identification of need", "Joint commissioning"]
    assert "‘Cover’ (no header row with ref and title)" in text
    assert "‘Lookups’ (hidden)" in text and "99Z" not in stored
    assert "Hidden columns not read: Previous RAG" in text
    # The sheet names the workstream; a section row overrides it for the rows under it.
    assert stored["1A"].workstream.name == "Identification of need"
    assert stored["1C"].workstream.name == "Area of Weakness 1b: Early years"
    assert stored["2D"].workstream.name == "Joint commissioning"
    # Ratings shown only by colour: red, amber, theme green, yellow as amber, indexed red;
    # blue is complete, and pale grey says nothing (and is said to say nothing).
    ratings = {ref: action.rag for ref, action in stored.items()}
    assert ratings == {
        "1A": "red",
        "1B": "amber",
        "1C": "green",
        "2A": None,
        "2B": "amber",
        "2C": "red",
        "2D": None,
    }
    assert stored["2A"].status == "signed off"
    assert "RAG read from the cell colour for 1A, 1B, 1C, 2A, 2B, 2C" in text
    assert "No RAG for 2D" in text
    # The lead merged down over 1A and 1B is both actions' lead, and the same person as
    # sam.lead@council.gov.uk on the other sheet.
    assert {p.email for p in stored["1B"].leads} == {"sam.lead@council.gov.uk"}
    assert stored["1A"].leads[0].id == stored["2A"].leads[0].id
    assert stored["1A"].last_note == "Toolkit drafted with SENDCos"
    assert report.problems == []

    _, again, _ = load(runtime, path)
    assert (again.created, again.changed) == ([], {})


def test_a_ref_merged_down_over_rows_is_one_action_with_every_row_s_leads_and_notes(
    runtime: Runtime, tmp_path: Path
) -> None:
    parsed, _, lines = load(runtime, merged_ref_workbook(tmp_path / "merged.xlsx"))

    assert [row.ref for row in parsed.rows] == ["2A.3", "2A.4"]
    stored = actions(runtime)
    assert {p.email or p.name for p in stored["2A.3"].leads} == {
        "Priya Shah",
        "sam.lead@council.gov.uk",
    }
    assert stored["2A.3"].rag == "amber"  # the first row's; the third row's differs, said
    assert stored["2A.3"].last_note == "Draft\nPilot live\nChapter agreed"
    text = "\n".join(lines)
    assert "continue the action above them" in text and "2A.3 (rows 3, 4)" in text
    problems = {(p.row, p.column): p.reason for p in parsed.problems}
    assert "differs from row 2's, which 2A.3 keeps" in problems[(4, "RAG")]
    # further down, not under it: a second action with the same ref, refused as before
    assert "2A.3 appears again (first on row 2)" in problems[(6, None)]
    assert (3, None) not in problems and (4, None) not in problems
    before = update_count(runtime)
    _, again, _ = load(runtime, tmp_path / "merged.xlsx")
    assert (again.created, again.changed, update_count(runtime)) == ([], {}, before)


def test_a_five_point_tracker_keeps_its_scale(
    runtime: Runtime, tmp_path: Path, console: Console
) -> None:
    parsed, report, lines = load(runtime, five_point_workbook(tmp_path / "confidence.xlsx"))

    assert parsed.rag_scale == 5
    assert [row.rag for row in parsed.rows] == list(Rag.scale(5))
    stored = {ref: a.rag for ref, a in actions(runtime).items()}
    if imports.STORE_FIVE_POINT:
        assert stored["5B"] == "red/amber" and stored["5D"] == "amber/green"
    else:
        # Until the summary, digest and store hold five ratings: the cautious neighbour, said.
        assert (stored["5B"], stored["5D"]) == ("red", "amber")
        assert report.ratings_narrowed == ["5B (red/amber → red)", "5D (amber/green → amber)"]
        assert any("5B (red/amber → red), 5D (amber/green → amber)" in line for line in lines)
    # Whatever the store holds, every reading of the plan still works.
    assert "Health" in console("summary")
    assert "5A" in console("digest preview")


def test_a_three_point_tracker_stays_three_point() -> None:
    parsed = read_plan(FIXTURES / "council_tracker_semicolon.csv", today=TODAY)

    assert parsed.rag_scale == 3
    assert not any("five-point" in note for note in parsed.notes)


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> object:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", "U0DEMOPM")
    return lambda *args: main(list(args))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged_wording_included(
    wsoa, runtime: Runtime, tmp_path: Path, fmt: str
) -> None:
    source = tmp_path / "tracker.csv"
    shutil.copy(TRACKER, source)
    assert wsoa("import", str(source)) == 1  # three cells could not be read
    exported = tmp_path / f"export.{fmt}"
    assert wsoa("export", "--format", fmt, "-o", str(exported)) == 0
    before = {
        ref: (a.due, a.due_text, a.rag, a.status, a.title) for ref, a in actions(runtime).items()
    }
    count = update_count(runtime)

    parsed, report, _ = load(runtime, exported)

    assert parsed.problems == []
    assert (report.created, report.changed) == ([], {})
    assert report.unchanged == len(TRACKER_REFS)
    assert update_count(runtime) == count
    after = {
        ref: (a.due, a.due_text, a.rag, a.status, a.title) for ref, a in actions(runtime).items()
    }
    assert after == before
    assert after["1.4"][:2] == (date(2027, 3, 31), "End of Spring Term 2027")


def test_the_csv_export_never_mixes_dates_and_words_in_one_column(wsoa, tmp_path: Path) -> None:
    assert wsoa("import", str(TRACKER)) == 1
    exported = tmp_path / "export.csv"
    assert wsoa("export", "--format", "csv", "-o", str(exported)) == 0

    with exported.open(encoding="utf-8-sig", newline="") as stream:
        records = {r["Ref"]: r for r in csv.DictReader(stream)}
    assert all(r["Due"] == "" or date.fromisoformat(r["Due"]) for r in records.values())
    assert (records["1.1"]["Due"], records["1.1"]["Due as written"]) == ("2027-04-30", "April 27")
    assert (records["2.1"]["Due"], records["2.1"]["Due as written"]) == ("", "TBC")
    assert (records["3.1"]["Due"], records["3.1"]["Due as written"]) == ("2027-03-31", "")


def test_import_exit_codes(wsoa, tmp_path: Path) -> None:
    assert wsoa("import", str(FIXTURES / "council_tracker_semicolon.csv")) == 0
    assert wsoa("import", str(TRACKER)) == 1  # rows loaded, cells reported
    assert wsoa("import", str(tmp_path / "missing.csv")) == 2


def test_workstreams_keep_their_position(runtime: Runtime) -> None:
    load(runtime, TRACKER)

    with unit_of_work(runtime.sessions) as session:
        names = list(session.scalars(select(Workstream.name).order_by(Workstream.position)))
    assert [name.split(":")[0] for name in names] == [
        "Area of Weakness 1",
        "Area of Weakness 2",
        "Area of Weakness 3",
    ]


def test_team_names_placeholders_spreadsheet_errors_and_a_stray_five_point_cell(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A tracker as a council writes it: a team with "and" in its name is one lead; "New lead
    to be identified" and "TBC" name no one; a cell showing #REF! or #N/A is reported by cell
    and never stored; one R/A among red, amber and green leaves the plan three-point."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    rows = [
        ["Ref", "Action", "Lead", "RAG", "Progress update", "Due"],
        ["R3.1", "Inclusion outreach", "Access and Inclusion Team", "Green", "Started", "Mar 2027"],
        ["R3.2", "Train SENCOs", "Sam Lead and Raj Patel", "Amber", "Planned", "Mar 2027"],
        ["R3.3", "Commission SALT", "New lead to be identified", "R/A", "#REF!", "#N/A"],
        ["R3.4", "Refresh the JSNA", "TBC", "Red", "Scoping", "Mar 2027"],
        ["R3.5", "#REF!", "Sam Lead", "Red", "", ""],
        ["R3.6", "Agree the EHCP pathway", "Sam Lead", "Amber", "",
         "Before the start of the academic year 2025 (to be confirmed by the board)"],
    ]  # fmt: skip
    for row in rows:
        sheet.append(row)
    path = tmp_path / "tracker.xlsx"
    book.save(path)

    parsed, _, lines = load(runtime, path)
    text = "\n".join(lines)
    loaded = actions(runtime)
    assert [p.name for p in loaded["R3.1"].leads] == ["Access and Inclusion Team"]
    assert sorted(p.name for p in loaded["R3.2"].leads) == ["Raj Patel", "Sam Lead"]
    assert loaded["R3.3"].leads == [] and loaded["R3.4"].leads == []
    assert "No lead named yet for R3.3, R3.4" in text
    # the broken formulas: named by cell, nothing stored from them
    assert "R3.3: Progress update: the spreadsheet shows the error #REF!" in text
    assert "R3.3: Due: the spreadsheet shows the error #N/A" in text
    assert loaded["R3.3"].due is None and loaded["R3.3"].last_note is None
    assert "R3.5" not in loaded and "the title: the spreadsheet shows the error #REF!" in text
    with unit_of_work(runtime.sessions) as session:
        notes = session.scalars(select(Update.note).where(Update.note.contains("#"))).all()
        assert notes == []
    # a due date in words with no date in them: the row loads, the words kept in full
    assert loaded["R3.6"].due is None
    assert loaded["R3.6"].due_text == (
        "Before the start of the academic year 2025 (to be confirmed by the board)"
    )
    cells_heading = text.index("cells not read, the row loaded without them")
    assert text.index("R3.6: Due:") > cells_heading
    assert "“Before the start of the academic year 2025 (to be confirmed by the board)”" in text
    # one stray R/A: still a three-point plan, the nearer three-point rating kept and said
    assert parsed.rag_scale == 3 and "One five-point rating (R3.3)" in text
    assert loaded["R3.3"].rag == Rag.RED
