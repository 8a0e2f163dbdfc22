"""The history writer keeps old values: an edit of the due date or the leads says what it
replaced, through the same import and console paths a programme manager uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.runtime import Runtime
from bot.services.history import field_changes
from tests.conftest import Console
from tests.test_import import history_rows

PLAN = """plan: Test partnership
workstreams:
  - name: Graduated Response
    actions:
      - ref: 11F
        title: Reduce exclusions
        lead: [sam.lead@council.example]
        due: {due}
        status: in progress
        rag: red
"""


@pytest.fixture
def load(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)

    def run(due: str, lead: str = "sam.lead@council.example") -> int:
        path = tmp_path / "plan.yaml"
        path.write_text(PLAN.format(due=due).replace("sam.lead@council.example", lead))
        return main(["import", str(path)])

    return run


def test_an_edit_keeps_the_old_due_date_and_leads(load, runtime: Runtime, console: Console) -> None:  # type: ignore[no-untyped-def]
    assert load("2027-01-31") == 0
    assert load("2027-03-31", lead="priya.ops@icb.example") == 0
    created, edit = history_rows(runtime, "11F")
    assert [c.field for c in field_changes(created)] == [
        "title",
        "due",
        "workstream",
        "leads",
        "rag",
        "status",
    ]
    changed = {c.field: (c.old, c.new) for c in field_changes(edit)}
    assert changed == {
        "due": ("2027-01-31", "2027-03-31"),
        "leads": ("Sam Lead", "Priya Ops"),
    }
    shown = console("history 11F")
    assert "due 2027-01-31 → 2027-03-31" in shown
    assert "leads Sam Lead → Priya Ops" in shown


def test_a_reimport_that_changes_nothing_writes_nothing(load, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    assert load("2027-01-31") == 0
    assert load("2027-01-31") == 0
    assert len(history_rows(runtime, "11F")) == 1
