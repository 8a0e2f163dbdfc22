"""Measures and figures through `wsoa import` and `wsoa export`: a KPIs file of its own, KPI
sheets in the tracker workbook, long and wide layouts, cells that cannot be read, and the
export round trip."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.domain import Surface
from bot.runtime import Runtime
from bot.store.db import unit_of_work
from bot.store.models import Action, Measure, MeasureActual, MeasureEdit
from tests.conftest import Console
from tests.kpi_fixtures import (
    ACTUALS,
    MEASURES,
    MEASURES_HEADER,
    load_demo_measures,
    write_csv,
    write_workbook,
)

Wsoa = Callable[..., int]

ACTIONS = [
    ["Ref", "Title", "Workstream", "Lead", "Status", "RAG"],
    ["11F", "Reduce exclusions of children with an EHCP", "Graduated Response", "", "", "red"],
    ["12B", "EP capacity", "Graduated Response", "", "", "amber"],
    ["2A.3", "Joint commissioning framework", "Joint Commissioning", "", "", "green"],
]


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> Wsoa:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", "U0DEMOPM")

    def run(*args: str) -> int:
        return main(list(args))

    return run


def stored(runtime: Runtime) -> dict[str, list[tuple[date, float]]]:
    """Each measure's figures, every row, in the order recorded."""
    with unit_of_work(runtime.sessions) as session:
        out: dict[str, list[tuple[date, float]]] = {
            m.short_id: []
            for m in session.scalars(select(Measure).order_by(Measure.number)).unique()
        }
        for short_id, period, value in session.execute(
            select(Measure.short_id, MeasureActual.period, MeasureActual.value)
            .join(Measure, Measure.id == MeasureActual.measure_id)
            .order_by(MeasureActual.id)
        ):
            out[short_id].append((period, value))
        return out


def current(runtime: Runtime) -> dict[str, dict[date, float]]:
    """Each measure's figure for each period: the latest row recorded for it."""
    return {short_id: dict(rows) for short_id, rows in stored(runtime).items()}


def test_a_tracker_workbook_with_kpis_and_actuals_sheets_loads_both(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_workbook(
        tmp_path / "tracker.xlsx",
        {"Actions": ACTIONS, "KPIs": [MEASURES_HEADER, *MEASURES], "Actuals": ACTUALS},
    )
    assert wsoa("import", str(path)) == 0
    out = capsys.readouterr().out
    assert "created 3: 11F, 12B, 2A.3" in out
    assert "measures created 3: K1, K2, K3" in out and "figures added 6, unchanged 0" in out
    figures = stored(runtime)
    assert figures["K1"] == [(date(2026, 9, 1), 50.0), (date(2026, 10, 1), 53.1)]
    assert figures["K2"] == [(date(2026, 9, 1), 60.0), (date(2026, 10, 1), 58.0)]
    with unit_of_work(runtime.sessions) as session:
        k1 = session.scalars(select(Measure).where(Measure.short_id == "K1")).unique().one()
        assert [a.ref for a in k1.actions] == ["11F", "12B"]
        assert [w.name for w in k1.workstreams] == ["Graduated Response"]
        assert k1.owner is not None and k1.owner.handle_on("slack") == "U0DEMO05"
        k3 = session.scalars(select(Measure).where(Measure.short_id == "K3")).unique().one()
        assert k3.trajectory == [["2026-06-30", 110.0], ["2026-09-30", 100.0]]

    # the same file again changes nothing
    assert wsoa("import", str(path)) == 0
    out = capsys.readouterr().out
    assert "measures unchanged 3" in out and "figures added 0, unchanged 6" in out
    assert stored(runtime) == figures


def test_a_wide_kpis_file_with_month_columns(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = [*MEASURES_HEADER, "Sep 2026", "2026-10", datetime(2026, 11, 1)]
    rows = [
        [*MEASURES[0], 50, "53.1%", None],
        [*MEASURES[1], 60, "n/a", 57],
        [*MEASURES[2], 104, 103, "lots"],
    ]
    path = write_workbook(tmp_path / "measures.xlsx", {"Measures": [header, *rows]})
    assert wsoa("import", str(path)) == 1
    out = capsys.readouterr().out
    assert "Imported measures from measures.xlsx" in out
    assert "Measures row 3, column 2026-10: “n/a” is not a number." in out
    assert "Measures row 4, column 2026-11-01: “lots” is not a number." in out
    assert stored(runtime) == {
        "K1": [(date(2026, 9, 1), 50.0), (date(2026, 10, 1), 53.1)],
        "K2": [(date(2026, 9, 1), 60.0), (date(2026, 11, 1), 57.0)],
        "K3": [(date(2026, 9, 1), 104.0), (date(2026, 10, 1), 103.0)],
    }


def test_a_long_actuals_csv_on_its_own(
    wsoa: Wsoa, demo: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_demo_measures(demo, tmp_path)
    actuals = [
        ["kpi", "period", "value", "note"],
        ["K1", "Nov 2026", "55", ""],
        ["EHCPs issued within 20 weeks", "2026-10", "53.5", "Revised after SEN2 check"],
        ["K1", "someday", "55", ""],
        ["K1", "2026-09", "140", ""],
        ["K2", "2099-01", "40", ""],
        ["K9", "2026-10", "1", ""],
        ["K3", "2026-10", "99", "Jamie Smith 12/03/2015 suspended twice"],
    ]
    before = stored(demo)
    assert wsoa("import", str(write_csv(tmp_path / "october.csv", actuals, ";"))) == 1
    out = capsys.readouterr().out
    assert "figures added 2, unchanged 0" in out and "measures created" not in out
    assert "october row 4, column period: “someday” is not a month" in out
    assert "october row 5, column value: K1 is a percentage: 140 is not between 0 and 100" in out
    assert "october row 6, column value: Jan 2099 is in the future" in out
    assert "october row 7, column value: no measure “K9”" in out
    assert "october row 8, column value: The note looks like it holds a name with a date" in out
    after = stored(demo)
    assert after["K1"] == [*before["K1"], (date(2026, 11, 1), 55.0), (date(2026, 10, 1), 53.5)]
    assert after["K2"] == before["K2"] and after["K3"] == before["K3"]


def test_a_csv_plan_without_measures_still_imports_as_a_plan(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wsoa("import", str(write_csv(tmp_path / "plan.csv", ACTIONS))) == 0
    out = capsys.readouterr().out
    assert "created 3" in out and "measures" not in out
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Action)) == 3
        assert session.scalar(select(func.count()).select_from(Measure)) == 0


def test_a_measure_row_that_cannot_be_read_is_reported_and_the_rest_load(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_unit = [*MEASURES[0]]
    bad_unit[0], bad_unit[2] = "Attendance of pupils with an EHCP", "percentish"
    no_target = [*MEASURES[1]]
    no_target[0], no_target[6] = "Another", ""
    rows = [MEASURES_HEADER, bad_unit, no_target, MEASURES[2]]
    assert wsoa("import", str(write_csv(tmp_path / "kpis.csv", rows))) == 1
    out = capsys.readouterr().out
    assert (
        "kpis row 2, column Unit: “percentish” is not a unit: use %, number, days or weeks." in out
    )
    assert "kpis row 3, column Target: target is empty" in out
    assert "no workstream “Joint Commissioning”" in out  # an empty plan: the measure still loads
    assert list(stored(runtime)) == ["K1"]


def sheet_rows(path: Path, title: str, skip: tuple[str, ...] = ()) -> list[list[object]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in workbook[title].iter_rows(values_only=True)]
    workbook.close()
    keep = [i for i, heading in enumerate(rows[0]) if heading not in skip]
    return [[row[i] for i in keep] for row in rows]


def test_export_writes_measures_and_actuals_and_imports_back_unchanged(
    wsoa: Wsoa,
    demo: Runtime,
    console: Console,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_demo_measures(demo, tmp_path)
    console("kpi record K2 56 2026-10 =Agency EP hours doubled", user="U0DEMO06")
    exported = tmp_path / "export.xlsx"
    assert wsoa("export", "-o", str(exported)) == 0

    measures = sheet_rows(exported, "Measures")
    assert measures[0][:5] == ["Id", "KPI", "Definition", "Unit", "Better"]
    assert measures[1][:2] == ["K1", "EHCPs issued within 20 weeks"]
    assert measures[3][9] == "2026-06-30: 110; 2026-09-30: 100"
    actuals = sheet_rows(exported, "Actuals", skip=("Recorded",))
    assert actuals[0] == ["KPI", "Measure", "Period", "Value", "Note", "By"]
    # each period's current figure; the correction wins, its formula-like note neutralised
    assert [
        "K2",
        "Days to first EP assessment",
        "2026-10",
        56,
        "'=Agency EP hours doubled",
        "Tom Bramley",  # a person, never a platform id
    ] in actuals
    assert len(actuals) == 7

    # back into the same database: nothing changes
    capsys.readouterr()
    before = stored(demo)
    assert wsoa("import", str(exported)) == 0
    out = capsys.readouterr().out
    assert "measures unchanged 3" in out and "figures added 0, unchanged 6" in out
    assert stored(demo) == before

    # into an empty database: the same measures and figures come out again
    monkeypatch.setenv("WSOA_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["import", str(exported)]) == 0
    again = tmp_path / "again.xlsx"
    assert main(["export", "-o", str(again)]) == 0
    assert sheet_rows(again, "Measures") == measures
    assert sheet_rows(again, "Actuals", skip=("Recorded", "By")) == sheet_rows(
        exported, "Actuals", skip=("Recorded", "By")
    )


def test_a_kpi_workbook_with_a_cover_sheet_is_read_as_measures_only(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cover = [["SEND Partnership performance scorecard"], ["Produced monthly by the BI team"]]
    named = [*MEASURES[0]]
    named[1] = "Waiting times, e.g. Jamie Smith 12/03/2015"
    path = write_workbook(
        tmp_path / "scorecard.xlsx",
        {"Cover": cover, "KPIs": [MEASURES_HEADER, named, MEASURES[1]], "Actuals": ACTUALS},
    )
    assert wsoa("import", str(path)) == 1
    out = capsys.readouterr().out
    assert "Imported measures from scorecard.xlsx" in out
    assert "KPIs row 2: looks like it holds a name with a date (J•••• S•••• ••/••/••••)" in out
    assert "measures created 1: K1" in out and "measures unchanged 0" in out
    # the second row took the first free id, so the file's K2 and K3 figures have no measure
    assert "Actuals row 4, column Value: no measure “K2”" in out
    assert "Actuals row 7, column Value: no measure “K3”" in out
    assert list(stored(runtime)) == ["K1"]
    with unit_of_work(runtime.sessions) as session:
        assert session.scalars(select(Measure.name)).one() == "Days to first EP assessment"


def test_a_moved_target_is_kept_in_the_measures_history(
    wsoa: Wsoa,
    demo: Runtime,
    console: Console,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_demo_measures(demo, tmp_path)
    moved = [*MEASURES[0]]
    moved[6], moved[7] = 80, "2027-12-31"
    path = write_workbook(tmp_path / "revised.xlsx", {"KPIs": [MEASURES_HEADER, moved]})
    assert wsoa("import", str(path)) == 0
    assert "measures changed 1; K1: target value, target date" in capsys.readouterr().out
    with unit_of_work(demo.sessions) as session:
        edits = session.scalars(select(MeasureEdit).order_by(MeasureEdit.id)).all()
        # each measure's definition as the first file gave it, then what the second moved
        defined = [e for e in edits if e.field == "created"]
        assert len(defined) == len(MEASURES) and all(e.person_id is None for e in defined)
        assert {e.source for e in edits} == {Surface.IMPORT}
        assert defined[0].new == (
            "%, higher is better; baseline 50% at 2026-09-30; target 86.5% by 2027-09-30"
        )
        assert [(e.field, e.old, e.new) for e in edits if e.field != "created"] == [
            ("target value", "86.5", "80"),
            ("target date", "2027-09-30", "2027-12-31"),
        ]
    shown = console("kpi show K1")
    assert "Target: 80% by 31 Dec 2027" in shown
    assert "target value 86.5 → 80 (import)" in shown
    assert "target date 2027-09-30 → 2027-12-31 (import)" in shown


def test_a_csv_export_writes_measures_and_figures_beside_it_and_they_import_back(
    wsoa: Wsoa,
    demo: Runtime,
    console: Console,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_demo_measures(demo, tmp_path)
    console("kpi record K2 56 2026-10 =Agency EP hours doubled", user="U0DEMO06")
    exported = tmp_path / "plan.csv"
    capsys.readouterr()
    assert wsoa("export", "-o", str(exported)) == 0
    said = capsys.readouterr().err
    measures_csv, actuals_csv = tmp_path / "plan-measures.csv", tmp_path / "plan-actuals.csv"
    assert f"Wrote 3 measures to {measures_csv} and 6 figures to {actuals_csv}" in said
    with measures_csv.open(encoding="utf-8-sig", newline="") as f:
        measures = list(csv.reader(f))
    assert measures[0][:5] == ["Id", "KPI", "Definition", "Unit", "Better"]
    assert measures[1][:2] == ["K1", "EHCPs issued within 20 weeks"]
    assert measures[3][9] == "2026-06-30: 110; 2026-09-30: 100"
    with actuals_csv.open(encoding="utf-8-sig", newline="") as f:
        actuals = list(csv.reader(f))
    assert ["K2", "Days to first EP assessment", "2026-10", "56", "'=Agency EP hours doubled"] in [
        row[:5] for row in actuals
    ]

    # into an empty database: the plan, then its measures, then their figures
    before = current(demo)
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("WSOA_DATABASE_URL", fresh_url)
    for part in (exported, measures_csv, actuals_csv):
        assert main(["import", str(part)]) == 0, capsys.readouterr().out
    fresh = Runtime.start(demo.settings.model_copy(update={"database_url": fresh_url}))
    try:
        assert current(fresh) == before
        assert before["K2"][date(2026, 10, 1)] == 56.0
    finally:
        fresh.close()
    again = tmp_path / "again.csv"
    assert main(["export", "-o", str(again)]) == 0
    assert (tmp_path / "again-measures.csv").read_text(
        encoding="utf-8-sig"
    ) == measures_csv.read_text(encoding="utf-8-sig")


def test_a_markdown_export_ends_with_the_measures(
    wsoa: Wsoa,
    demo: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_demo_measures(demo, tmp_path)
    exported = tmp_path / "plan.md"
    assert wsoa("export", "-o", str(exported)) == 0
    text = exported.read_text(encoding="utf-8")
    section = text.split("## Measures of impact", 1)[1]
    assert (
        "| K1 | EHCPs issued within 20 weeks | 50% at 2026-09-30 | 86.5% by 2027-09-30 |" in section
    )
    assert "| 53.1% (Oct 2026) | on trajectory" in section
    assert "| K2 | 2026-10 | 58 |" in section.split("### Figures", 1)[1]
    capsys.readouterr()
    assert wsoa("export", "--format", "md") == 0
    assert "## Measures of impact" in capsys.readouterr().out
    assert wsoa("export") == 0
    streamed = capsys.readouterr()
    assert "K1" not in streamed.out.split("\n", 1)[0]
    assert "measures are not in this CSV: export with -o plan.csv" in streamed.err
