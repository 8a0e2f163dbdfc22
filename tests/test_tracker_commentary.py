"""A tracker that writes what is done and what is still to do instead of a status: both kept as
the action's note, the status read only where the words state one; "The difference it made"
rows kept as their workstream's impact note, shown by `summary WORKSTREAM` at the console and
in Slack; a formula without a saved result reported by cell, never read as empty."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.runtime import Runtime
from bot.store.db import unit_of_work
from bot.store.models import Action, WorkstreamImpact
from tests.conftest import ADMIN, Console
from tests.fixtures.trackers import done_and_to_do_workbook
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


@pytest.fixture
def imported(
    database_url: str,
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Path, str]:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", ADMIN)
    path = done_and_to_do_workbook(tmp_path / "update.xlsx")
    assert main(["import", str(path)]) == 1  # with problems, reported
    runtime.settings = runtime.settings.model_copy(update={"admins": frozenset({ADMIN})})
    return path, capsys.readouterr().out


def stored(runtime: Runtime) -> dict[str, Action]:
    with unit_of_work(runtime.sessions) as session:
        found = {a.ref: a for a in session.scalars(select(Action))}
        session.expunge_all()
        return found


def impact_rows(runtime: Runtime) -> list[str]:
    with unit_of_work(runtime.sessions) as session:
        return list(session.scalars(select(WorkstreamImpact.text).order_by(WorkstreamImpact.id)))


def test_done_and_to_do_are_the_note_and_state_the_status_only_where_they_say_one(
    runtime: Runtime, imported: tuple[Path, str], console: Console
) -> None:
    _, out = imported
    actions = stored(runtime)
    assert actions["1.1"].status == "signed off"
    assert "signed off by SEND Ops on 26 Nov 2019" in console("history 1.1")
    assert actions["1.2"].status == "complete"
    assert actions["1.2"].last_note == (
        "Done: Complete -Tracking mechanisms measure assessments within timescales\n"
        "Next steps: Actions for SEND Ops to follow up: monitor the data quarterly"
    )
    assert actions["1.3"].status == "halted"
    # progress described in words states no status: a new action starts not started
    assert actions["1.4"].status == "not started"
    assert "Next steps: Review its terms of reference" in (actions["1.4"].last_note or "")
    assert "Status – Complete" not in out and "Status – To Do" not in out  # both columns read
    # "2024-25" in a tracker dated by terms is the school year
    assert actions["1.1"].due == date(2025, 8, 31)


def test_a_formula_without_its_result_is_reported_not_read_as_empty(
    runtime: Runtime, imported: tuple[Path, str]
) -> None:
    _, out = imported
    assert (
        "row 6 1.3: Due: the spreadsheet shows a formula whose result the file does not keep" in out
    )
    assert "=DATE(2027,3,31)" in out
    assert stored(runtime)["1.3"].due is None


def test_the_difference_it_made_is_kept_for_its_workstream(
    runtime: Runtime,
    imported: tuple[Path, str],
    console: Console,
    slack: SlackHarness,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, out = imported
    assert impact_rows(runtime) == [
        "The difference it made: 8 new joint funding arrangements; families tell their story once."
    ]
    assert "recorded for ‘Priority 1: Integrated Agency Working’" in out
    # the one with a child's details is refused and said so, its text nowhere
    assert "what ‘Priority 2: The Local Offer’ changed: looks like it holds a date of birth" in out
    assert "Jack" not in out
    shown = console("summary priority 1")
    assert "What the work has changed: The difference it made: 8 new joint funding" in shown
    told = slack.reply("summary priority 1", ADMIN)
    assert "8 new joint funding arrangements" in json.dumps(told, ensure_ascii=False)
    assert "What the work has changed" not in console("summary priority 2")

    # the same file again records nothing new; a changed row is recorded beside the old one
    assert main(["import", str(path)]) == 1
    assert "recorded for" not in capsys.readouterr().out
    assert len(impact_rows(runtime)) == 1
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(WorkstreamImpact)) == 1
