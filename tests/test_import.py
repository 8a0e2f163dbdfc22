"""`wsoa import` and `wsoa export` end to end: files in, store changed (or not), history kept."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.store.db import unit_of_work
from bot.store.models import Action, Update
from tests.conftest import Console

FIXTURES = Path(__file__).parent / "fixtures" / "plans"


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: object) -> object:
    """Run the `wsoa` CLI against the test database (already migrated by `runtime`)."""
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", "U0DEMOPM")

    def run(*args: str) -> int:
        return main(list(args))

    return run


def history_rows(runtime, ref: str) -> list[Update]:  # type: ignore[no-untyped-def]
    with unit_of_work(runtime.sessions) as session:
        action_id = session.scalars(select(Action.id).where(Action.ref == ref)).one()
        return list(
            session.scalars(select(Update).where(Update.action_id == action_id).order_by(Update.id))
        )


def ids(rows: list[Update]) -> list[int]:
    return [r.id for r in rows]


def action_count(runtime) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Action)) or 0


def test_import_a_council_tracker_then_use_it(
    wsoa, runtime, console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wsoa("import", str(FIXTURES / "council_tracker_semicolon.csv")) == 0
    out = capsys.readouterr().out
    assert "created" in out and "2A.3" in out
    assert action_count(runtime) > 5
    assert "2A.3" in console("show 2a.3")
    assert "Joint Commissioning" in console("summary")


def test_reimport_is_idempotent_and_changes_are_history(
    wsoa, runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "plan.csv"
    shutil.copy(FIXTURES / "council_tracker_semicolon.csv", source)
    assert wsoa("import", str(source)) == 0
    first = history_rows(runtime, "2A.3")
    n_actions = action_count(runtime)

    capsys.readouterr()
    assert wsoa("import", str(source)) == 0
    out = capsys.readouterr().out
    assert "created 0" in out and "changed 0" in out
    assert ids(history_rows(runtime, "2A.3")) == ids(first)
    assert action_count(runtime) == n_actions

    # The tracker moves 2A.3 to red and drops another row: a change recorded, nothing deleted.
    text = source.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    changed = [line.replace(";Amber;", ";Red;") if ";2A.3;" in line else line for line in lines]
    dropped = [line for line in changed if ";2B;" not in line]
    source.write_text("\n".join(dropped) + "\n", encoding="utf-8")
    assert wsoa("import", str(source)) == 0
    out = capsys.readouterr().out
    assert "2A.3: rag" in out
    assert "kept, not in this file" in out
    rows = history_rows(runtime, "2A.3")
    assert len(rows) == len(first) + 1
    assert (rows[-1].rag_from, rows[-1].rag_to, rows[-1].source) == ("amber", "red", "import")
    assert ids(rows[: len(first)]) == ids(first)
    assert action_count(runtime) == n_actions


def test_broken_rows_are_reported_and_good_rows_load(
    wsoa, runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wsoa("import", str(FIXTURES / "broken_tracker.csv")) == 1
    out = capsys.readouterr().out
    assert "row 3 2A.4: RAG: unknown RAG word “Yellow”" in out
    assert "row 4 7A: Due: “someday” is not a date" in out
    assert "row 5: no ref" in out
    with unit_of_work(runtime.sessions) as session:
        refs = set(session.scalars(select(Action.ref)))
        rag_7a = session.scalars(select(Action.rag).where(Action.ref == "7A")).one()
    # Rows with a ref and a title load whatever else is wrong with them.
    assert refs == {"2A.3", "2A.4", "7A", "11F", "12B"}
    assert rag_7a == "green"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "empty"),
        ("binary.csv", bytes(range(256)) * 4, "not"),
        ("columns.csv", b"Name,Age\nSam,4\n", "ref"),
        ("plan.txt", b"ref,title\n1A,x\n", ".csv"),
        ("notes.xlsx", b"this is not a workbook", "xlsx"),
        ("list.yaml", b"- 1\n- 2\n", "workstreams"),
    ],
)
def test_a_file_that_is_not_a_plan_changes_nothing(
    wsoa,
    runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert wsoa("import", str(path)) == 2
    err = capsys.readouterr().err
    assert expected.lower() in err.lower(), err
    assert "Traceback" not in err
    assert action_count(runtime) == 0


def test_missing_file_is_a_clear_error(wsoa, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert wsoa("import", str(tmp_path / "nope.csv")) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_yaml_plan_imports(wsoa, console: Console) -> None:
    assert wsoa("import", str(FIXTURES / "plan.yaml")) == 1  # its 12B has a bad RAG word
    assert "11F" in console("list red")
    assert "not rated" in console("show 12B")  # loaded, without the rating it could not read


@pytest.mark.usefixtures("demo")
def test_export_csv_xlsx_md(wsoa, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert wsoa("export", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 40
    by_ref = {r["Ref"]: r for r in rows}
    assert by_ref["11F"]["RAG"] == "red"
    assert "FU-3" in by_ref["11F"]["Open follow-ups"]
    assert by_ref["11F"]["Latest note"]

    xlsx = tmp_path / "plan.xlsx"
    assert wsoa("export", "-o", str(xlsx)) == 0
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None and sheet.max_row == 41

    md = tmp_path / "plan.md"
    assert wsoa("export", "--format", "md", "-o", str(md)) == 0
    assert "Graduated Response" in md.read_text(encoding="utf-8")

    assert wsoa("export", "--format", "xlsx") == 2  # an xlsx needs a file

    # leads as people read them, never a chat platform's user id, in every format
    assert by_ref["11F"]["Lead"].startswith("Alison Whitfield <")
    exported = [md.read_text(encoding="utf-8"), json.dumps(rows)]
    exported.append(json.dumps([[c.value for c in r] for r in sheet.iter_rows()], default=str))
    assert not any(re.search(r"\bU0[A-Z0-9]{4,}", text) for text in exported)


@pytest.mark.usefixtures("demo")
def test_export_then_reimport_changes_nothing(
    wsoa, runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xlsx = tmp_path / "plan.xlsx"
    assert wsoa("export", "-o", str(xlsx)) == 0
    with unit_of_work(runtime.sessions) as session:
        before = session.scalar(select(func.count()).select_from(Update))
    capsys.readouterr()
    assert wsoa("import", str(xlsx)) == 0
    out = capsys.readouterr().out
    assert "created 0" in out and "changed 0" in out, out
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Update)) == before


def test_import_links_email_leads_to_slack_users(
    wsoa, runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.slack_standin import SlackStandIn

    with SlackStandIn() as standin:
        standin.add_user("U0JOLANG", "jo.lang@council.example", "Jo Lang")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_API_URL", standin.url)
        assert wsoa("import", str(FIXTURES / "council_tracker_semicolon.csv")) == 0
        assert standin.calls_to("users.lookupByEmail")
    out = capsys.readouterr().out
    assert "jo.lang@council.example → U0JOLANG" in out
    assert "no Slack user for" in out


def test_a_strategic_priority_column_maps_the_actions_once(
    wsoa, runtime, console: Console, tmp_path: Path
) -> None:
    plan = tmp_path / "tracker.csv"

    def write(first: str) -> None:
        plan.write_text(
            "Action No.,Action,Pillar,Strategic priority\n"
            f"1A,Publish the Local Offer,Communication,{first}\n"
            "1B,Co-produce the charter,Communication,Early identification; Timely EHCPs\n"
            "1C,Train SENCOs,Communication,\n",
            encoding="utf-8",
        )

    write("Timely EHCPs")
    assert wsoa("import", str(plan)) == 0
    out = console("summary by priority")
    assert "Timely EHCPs" in out and "Early identification" in out
    kinds = [u.kind for u in history_rows(runtime, "1B")]
    assert kinds.count("map") == 1
    # Read again unchanged: nothing new; a changed cell: one more row, old and new named.
    assert wsoa("import", str(plan)) == 0
    assert [u.kind for u in history_rows(runtime, "1B")].count("map") == 1
    write("Early identification")
    assert wsoa("import", str(plan)) == 0
    maps = [u for u in history_rows(runtime, "1A") if u.kind == "map"]
    assert len(maps) == 2
    assert "Early identification" in (maps[-1].note or "")
    assert "were: P" in (maps[-1].note or "") and "Timely EHCPs" in (maps[-1].note or "")
    # A blank cell leaves the mapping alone.
    assert [u.kind for u in history_rows(runtime, "1C")].count("map") == 0
