"""A re-import is a merge: a programme manager keeps the spreadsheet as the master copy and
imports it whenever they like, and nothing done in chat since the last import is undone
without a word. On SQLite and PostgreSQL, through `wsoa import` as a person runs it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.domain import Surface, UpdateKind
from bot.runtime import Runtime
from bot.store.models import Action, Update
from tests.conftest import ADMIN, Console

HEADER = ["Ref", "Workstream", "Action", "Lead", "Due", "RAG", "Status"]
ROWS = {
    "1A.1": ["Graduated Response", "Publish the toolkit", "sam@council.example",
             "31/03/2027", "Green", "In progress"],
    "1A.2": ["Graduated Response", "Train SENCOs", "sam@council.example",
             "31/03/2027", "Amber", "In progress"],
    "1A.3": ["Joint Commissioning", "Agree the strategy", "priya@icb.example",
             "30/04/2027", "Amber", "In progress"],
    "1A.4": ["Joint Commissioning", "Map provision", "priya@icb.example",
             "31/05/2027", "Amber", "In progress"],
}  # fmt: skip


@pytest.fixture
def wsoa(
    database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> Callable[..., int]:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", ADMIN)
    return lambda *args: main(list(args))


def tracker(path: Path, changes: dict[tuple[str, str], str] | None = None) -> Path:
    rows = {ref: dict(zip(HEADER[1:], cells, strict=True)) for ref, cells in ROWS.items()}
    for (ref, column), value in (changes or {}).items():
        rows[ref][column] = value
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for ref, cells in rows.items():
            writer.writerow([ref, *(cells[h] for h in HEADER[1:])])
    return path


def state(runtime: Runtime, ref: str) -> tuple[str | None, str, str | None]:
    with runtime.sessions() as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        return (action.rag, action.status, action.due.isoformat() if action.due else None)


def imports_of(runtime: Runtime, ref: str) -> list[UpdateKind]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(Update.kind)
                .join(Action)
                .where(Action.ref == ref, Update.source == Surface.IMPORT)
                .order_by(Update.id)
            )
        )


def test_a_reimport_keeps_chat_work_applies_changed_cells_and_names_conflicts(
    wsoa: Callable[..., int],
    runtime: Runtime,
    console: Console,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = tracker(tmp_path / "tracker.csv")
    assert wsoa("import", str(first)) == 0
    # A month of chat: a sign-off, a rating, a due date moved.
    assert "Signed off" in console("signoff 1A.1 Toolkit published and in use")
    assert "1A.2" in console("update 1A.2 red: trainer left, sessions cancelled")
    assert "2027-06-30" in console("edit 1A.3 due 30/06/2027 because the trainer left")
    capsys.readouterr()

    # The unchanged spreadsheet, imported again: nothing done in chat is undone.
    assert wsoa("import", str(first)) == 0
    out = capsys.readouterr().out
    assert "changed 0" in out, out
    assert "kept as changed in the bot" in out
    assert "1A.1: status" in out and "1A.2: rag" in out and "1A.3: due" in out
    assert state(runtime, "1A.1")[1] == "signed off"
    assert state(runtime, "1A.2")[0] == "red"
    assert state(runtime, "1A.3")[2] == "2027-06-30"

    # Cells changed in the file: one only there (applied), one also in chat (a conflict,
    # the bot's kept), a blank due date (clears nothing).
    second = tracker(
        tmp_path / "tracker-v2.csv",
        {("1A.4", "RAG"): "Green", ("1A.2", "RAG"): "Green", ("1A.3", "Due"): ""},
    )
    assert wsoa("import", str(second)) == 0
    out = capsys.readouterr().out
    assert "changed 1" in out and "1A.4: rag" in out, out
    assert "changed both in the bot and in the file since the last import (1" in out
    assert "1A.2: rag: kept “red” from the bot; the file says “green”" in out
    assert state(runtime, "1A.4")[0] == "green"
    assert state(runtime, "1A.2")[0] == "red"
    assert state(runtime, "1A.3")[2] == "2027-06-30"
    assert state(runtime, "1A.1")[1] == "signed off"

    # The same file again: the conflict is still named until someone settles it…
    assert wsoa("import", str(second)) == 0
    assert "1A.2: rag: kept “red”" in capsys.readouterr().out
    # …and --prefer-file settles it the file's way, in the history as an import.
    assert wsoa("import", "--prefer-file", str(second)) == 0
    out = capsys.readouterr().out
    assert "1A.2: rag: the file's “green” applied over the bot's “red”" in out
    assert state(runtime, "1A.2")[0] == "green"
    assert imports_of(runtime, "1A.2") == [UpdateKind.CREATED, UpdateKind.UPDATE]
    # Once settled, the file and the bot agree: nothing more to say.
    assert wsoa("import", str(second)) == 0
    out = capsys.readouterr().out
    assert "changed 0" in out and "changed both" not in out and "1A.2" not in out


@pytest.mark.usefixtures("demo")
def test_actions_loaded_before_imports_were_remembered_go_by_their_history(
    wsoa: Callable[..., int],
    runtime: Runtime,
    console: Console,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo's actions have no record of an import's reading. A field last set by an import
    is the import's (the file applies); one changed in chat since is kept and named."""
    exported = tmp_path / "plan.xlsx"
    assert wsoa("export", "-o", str(exported)) == 0
    assert "11F" in console("update 11F green: toolkit live in every school", user=ADMIN)
    capsys.readouterr()
    assert wsoa("import", str(exported)) == 0
    out = capsys.readouterr().out
    assert "11F: rag: kept “green” from the bot; the file says “red”" in out, out
    assert state(runtime, "11F")[0] == "green"


def test_a_cell_changed_twice_is_remembered_each_time(
    wsoa: Callable[..., int],
    runtime: Runtime,
    console: Console,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The import remembers what each file said even when it also writes a change: after
    amber → green in the file, a rating set to red in chat is kept at the next import of the
    same file, never overwritten by its green."""
    assert wsoa("import", str(tracker(tmp_path / "a.csv"))) == 0
    green = tracker(tmp_path / "b.csv", {("1A.2", "RAG"): "Green"})
    assert wsoa("import", str(green)) == 0
    assert state(runtime, "1A.2")[0] == "green"
    console("update 1A.2 red: trainer left")
    capsys.readouterr()
    assert wsoa("import", str(green)) == 0
    out = capsys.readouterr().out
    assert state(runtime, "1A.2")[0] == "red", out
    # kept as changed in the bot alone: the file's green is what the last import read
    assert "kept as changed in the bot" in out and "1A.2: rag" in out
    assert "changed both in the bot and in the file" not in out, out


def test_a_lead_named_two_ways_in_one_file_is_one_person(
    wsoa: Callable[..., int], runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "names.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerow(["2A.1", "Health", "Refresh the JSNA", "Sam Jones", "", "Green", ""])
        writer.writerow(["2A.2", "Health", "Map provision", "sam jones", "", "Amber", ""])
    assert wsoa("import", str(path)) == 0
    with runtime.sessions() as session:
        leads = {
            a.ref: [p.id for p in a.leads]
            for a in session.scalars(select(Action).where(Action.ref.in_(["2A.1", "2A.2"])))
        }
    assert leads["2A.1"] == leads["2A.2"] and len(leads["2A.1"]) == 1
