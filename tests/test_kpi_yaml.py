"""Measures in YAML plan files (`measures:` beside `workstreams:`), and the demo partnership's
measures, which are loaded the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import load_demo
from bot.runtime import Runtime
from bot.store.db import unit_of_work
from tests.conftest import READER, Console
from tests.test_kpi_files import stored

Wsoa = Callable[..., int]

PLAN = """\
plan: Demo Local Area SEND Written Statement of Action
workstreams:
  - name: Graduated Response
    actions:
      - ref: 12B
        title: Restore EHC needs assessment timeliness
        lead: alison.whitfield@demo.example
        rag: amber
measures:
  - name: EHCPs issued within 20 weeks
    definition: New EHCPs issued within 20 weeks, excluding exceptions
    unit: "%"
    better: higher
    baseline: 50
    baseline date: 2026-09-30
    target: 86.5
    target date: 2027-09-30
    trajectory: {2027-03-31: 65}
    workstream: [Graduated Response]
    actions: [12B]
    owner: alison.whitfield@demo.example
    frequency: monthly
    actuals: {2026-09: 50, 2026-10: 53.1}
  - name: Tribunal appeals rate
    unit: "%"
    better: lower
    baseline: 4.2
    baseline date: 2026-03-31
    target: 2.5
    target date: 2027-03-31
    actuals:
      - {period: Jun 2026, value: 4.0, note: Quarter 1}
  - name: Broken measure
    unit: furlongs
    better: higher
    baseline: 1
    baseline date: 2026-03-31
    target: 2
    target date: 2027-03-31
    actuals: {2026-09: 1}
"""


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> Wsoa:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)

    def run(*args: str) -> int:
        return main(list(args))

    return run


def test_a_yaml_plan_with_measures_loads_actions_and_measures(
    wsoa: Wsoa,
    runtime: Runtime,
    console: Console,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    assert wsoa("import", str(plan)) == 1  # one measure could not be read
    out = capsys.readouterr().out
    assert "created 1: 12B" in out
    assert "measures created 2: K1, K2" in out and "figures added 3" in out
    assert "measures row 3, column Unit: “furlongs” is not a unit" in out
    assert stored(runtime) == {
        "K1": [(date(2026, 9, 1), 50.0), (date(2026, 10, 1), 53.1)],
        "K2": [(date(2026, 6, 1), 4.0)],
    }
    shown = console("kpi show K1", user=READER)
    assert (
        "Trajectory: 65% by 31 Mar 2027" in shown and "Evidences: Graduated Response, 12B" in shown
    )
    assert "Quarter 1" in console("kpi show K2", user=READER)

    # the same file again changes nothing
    assert wsoa("import", str(plan)) == 1
    again = capsys.readouterr().out
    assert "measures unchanged 2" in again and "figures added 0, unchanged 3" in again


def test_a_yaml_file_of_measures_alone(
    wsoa: Wsoa, runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = tmp_path / "measures.yml"
    alone.write_text("measures:\n" + PLAN.split("measures:\n", 1)[1], encoding="utf-8")
    wsoa("import", str(alone))
    out = capsys.readouterr().out
    assert "Imported measures from measures.yml" in out and "measures created 2" in out


def test_the_demo_has_measures_with_figures(runtime: Runtime, console: Console) -> None:
    with unit_of_work(runtime.sessions) as session:
        load_demo(session, runtime.clock(), runtime.settings.tz)
    listed = console("kpi list", user=READER)
    assert "Measures of impact (5)" in listed
    assert "% of new EHCPs issued within 20 weeks, excluding exceptions" in listed
    assert "SEND Tribunal appeals" in listed and "Attendance of children" in listed
    # the clock is 23 Nov 2026: the latest figures are October's, and some are off trajectory
    assert "46% (Oct 2026)" in listed and "OFF" in listed and "no figures yet" in listed
    assert "Line chart of K1" in console("kpi chart K1", user=READER)
    assert "Measures of impact:" in console("summary", user=READER)
