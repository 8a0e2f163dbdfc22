"""Edits from chat with old values kept, `add`, and `wsoa audit`: through the console, a signed
Slack request and the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.runtime import Runtime
from bot.services.audit import AUDIT_COLUMNS
from bot.store.db import unit_of_work
from bot.store.models import Action, Update
from tests.conftest import ADMIN, LEAD_11F, Console
from tests.slack_fixtures import (
    SlackHarness,
    served_slack_app,  # noqa: F401 (the `slack` fixture)
    text_of,
)

pytestmark = pytest.mark.usefixtures("demo")


def action(runtime: Runtime, ref: str) -> Action | None:
    with unit_of_work(runtime.sessions) as session:
        found = session.scalars(select(Action).where(Action.ref == ref)).first()
        if found is not None:
            _ = found.workstream
        return found


def n_updates(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def due_of(runtime: Runtime, ref: str) -> str:
    found = action(runtime, ref)
    assert found is not None and found.due is not None
    return found.due.isoformat()


def test_a_slipped_due_date_keeps_its_old_value(demo: Runtime, console: Console) -> None:
    was = due_of(demo, "11F")
    out = console("edit 11F due End of Spring Term 2027 because the pilot moved to the spring term")
    assert f"due {was} → 2027-03-31 (End of Spring Term 2027)" in out
    found = action(demo, "11F")
    assert found is not None and found.due_text == "End of Spring Term 2027"
    history = console("history 11F")
    assert f"due {was} → 2027-03-31 (End of Spring Term 2027)" in history
    assert "the pilot moved to the spring term" in history
    assert "due 2027-03-31 (End of Spring Term 2027) → 2027-04-30 (April 27)" in console(
        "edit 11F due April 27 because of the Easter break"
    )


def test_a_due_date_moves_only_with_a_reason(demo: Runtime, console: Console) -> None:
    before = n_updates(demo), due_of(demo, "11F")
    refused = console("edit 11F due June 2027")
    assert "Say why 11F's due date moves" in refused and "Nothing was changed" in refused
    assert (n_updates(demo), due_of(demo, "11F")) == before
    # a reason is optional for other fields, and kept when given
    console("edit 11F title Cut exclusions because the board renamed it")
    assert "the board renamed it" in console("history 11F")


def test_title_measure_and_workstream_edits(demo: Runtime, console: Console) -> None:
    assert "title " in console("edit 11F title Cut exclusions of pupils with an EHCP")
    assert "→ none" in console("edit 11F measure none")
    assert "workstream Graduated Response → Joint Working" in console(
        "edit 11F workstream joint working"
    )
    found = action(demo, "11F")
    assert found is not None
    assert found.title == "Cut exclusions of pupils with an EHCP" and found.measure is None
    assert found.workstream.name == "Joint Working"
    history = console("history 11F")
    assert "title Reduce suspensions" in history and "→ Cut exclusions" in history


@pytest.mark.parametrize(
    ("command", "user", "says"),
    [
        ("edit 11F due someday because x", ADMIN, "someday"),
        ("edit 11F colour red", ADMIN, "“colour” cannot be edited"),
        ("edit 11F due", ADMIN, "Edit needs the ref"),
        ("edit 11F workstream joint", ADMIN, "Joint Commissioning and Joint Working"),
        ("edit 11F title " + "x" * 600, ADMIN, "the limit is 500"),
        ("edit 11F due TODAYS because x", ADMIN, "already that. Nothing was changed"),
        ("edit 11F due March 2027 because x", LEAD_11F, "Only programme managers"),
        ("add 11F graduated response Again", ADMIN, "11F already exists"),
        ("add 11Z nowhere at all Title", ADMIN, "No workstream at the start"),
        ("add 11Z", ADMIN, "Add needs a ref"),
        ("add 11Z graduated", ADMIN, "No workstream at the start"),
        ("add 11Z graduated New action", LEAD_11F, "Only programme managers"),
    ],
)
def test_bad_edits_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, says: str
) -> None:
    before = n_updates(demo)
    command = command.replace("TODAYS", due_of(demo, "11F"))
    assert says in console(command, user=user)
    assert n_updates(demo) == before
    assert action(demo, "11Z") is None


def test_add_an_action(demo: Runtime, console: Console) -> None:
    out = console("add 11g Graduated Response Train SENCOs in the toolkit")
    assert "Added 11G to Graduated Response: Train SENCOs in the toolkit" in out
    found = action(demo, "11G")
    assert found is not None and found.status == "not started"
    history = console("history 11G")
    assert "created; status not started" in history and "Added from chat" in history
    assert "11G" in console("list graduated response")


def audit_rows(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_wsoa_audit_exports_every_changed_field(
    demo: Runtime,
    console: Console,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    was = due_of(demo, "11F")
    console("edit 11F due March 2027 because the panel meets later")
    console('update 11F amber complete: =HYPERLINK("x") pilot done', user=LEAD_11F)
    monkeypatch.setenv("WSOA_DATABASE_URL", demo.settings.database_url)
    capsys.readouterr()
    assert main(["audit"]) == 0
    rows = audit_rows(capsys)
    assert list(rows[0]) == list(AUDIT_COLUMNS)
    due = [r for r in rows if r["Action"] == "11F" and r["Field"] == "due" and r["Kind"] == "edit"]
    assert due[-1]["Old"] == was and due[-1]["New"] == "2027-03-31 (March 2027)"
    assert due[-1]["Who"] == "Sophie Carrington <sophie.carrington@demo.example>"
    # One row per changed field: the update moved RAG and status.
    last = [r for r in rows if r["Action"] == "11F" and r["Kind"] == "update"][-2:]
    assert [(r["Field"], r["Old"], r["New"]) for r in last] == [
        ("rag", "red", "amber"),
        ("status", "in progress", "complete"),
    ]
    assert last[0]["Note"].startswith("'=HYPERLINK")  # neutralised, as in the export
    assert last[0]["Source"] == "console"
    # Never a raw platform id.
    assert not any(r["Who"].startswith("U0") for r in rows)

    xlsx = tmp_path / "audit.xlsx"
    assert main(["audit", "--format", "xlsx", "-o", str(xlsx)]) == 0
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header == ["When (Europe/London)", *AUDIT_COLUMNS[1:]]
    assert sheet.max_row == len(rows) + 1
    assert main(["audit", "--format", "xlsx"]) == 2  # an xlsx needs a file


def test_wsoa_audit_has_the_measures_and_their_figures(
    demo: Runtime,
    console: Console,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A measure's definition and each figure recorded for it, among the actions' rows in time
    order; a corrected figure shows the one it replaced."""
    console(
        "kpi add Suspensions of children with SEND; number; lower is better; "
        "baseline 120 at 2026-03-31; target 90 by 2027-03-31; owner alison.whitfield@demo.example"
    )
    console("update 11F amber Panel moved to fortnightly", user=LEAD_11F)
    console("kpi record K1 96 Oct 2026", user=LEAD_11F)
    console("kpi record K1 94 Oct 2026 after the October panel", user=LEAD_11F)
    monkeypatch.setenv("WSOA_DATABASE_URL", demo.settings.database_url)
    capsys.readouterr()
    assert main(["audit"]) == 0
    rows = audit_rows(capsys)

    [created] = [r for r in rows if r["Action"] == "K1" and r["Kind"] == "measure"]
    assert created["Field"] == "created" and "target 90 by 2027-03-31" in created["New"]
    assert created["Who"] == "Sophie Carrington <sophie.carrington@demo.example>"
    figures = [r for r in rows if r["Kind"] == "figure"]
    assert [(r["Action"], r["Field"], r["Old"], r["New"]) for r in figures] == [
        ("K1", "Oct 2026", "", "96"),
        ("K1", "Oct 2026", "96", "94"),
    ]
    assert figures[1]["Note"] == "after the October panel" and figures[1]["Source"] == "console"
    assert figures[1]["Who"] == "Alison Whitfield <alison.whitfield@demo.example>"
    # among the actions' rows, in time order
    assert rows.index(created) < rows.index(figures[0])
    assert any(r["Action"] == "11F" and r["Note"] == "Panel moved to fortnightly" for r in rows)
    assert not any(r["Who"].startswith("U0") for r in rows)
    assert [r["When"] for r in rows] == sorted(r["When"] for r in rows)


def test_edits_through_slack(demo: Runtime, slack: SlackHarness) -> None:
    was = due_of(demo, "11F")
    asked = slack.reply("edit 11F due Q4 26/27", ADMIN)
    assert "Say why 11F's due date moves" in json.dumps(asked, ensure_ascii=False)
    answer = slack.reply("edit 11F due Q4 26/27 because the pilot moved", ADMIN)
    assert f"{was} → 2027-03-31 (Q4 26/27)" in json.dumps(answer, ensure_ascii=False)
    refused = slack.reply("edit 11F due March 2027", LEAD_11F)
    assert "Only programme managers" in " ".join(text_of(refused))
    added = slack.reply("add 11G graduated Train SENCOs", ADMIN)
    assert "Added 11G" in " ".join(text_of(added))
