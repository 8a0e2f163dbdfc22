"""A due date written only as years ("2024-25") is a financial year (ending 31 March) or an
academic year (ending 31 August): read as the tracker's other wording suggests, or as
`--year-end` says, always reported, the wording always kept."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.plans.dates import parse_due
from bot.store.db import unit_of_work
from bot.store.models import Action

HEADER = ["Ref", "Action", "Lead", "Due", "RAG"]


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: object) -> object:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)

    def run(path: Path, *args: str) -> int:
        return main(["import", str(path), *args])

    return run


def tracker(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "tracker.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    return path


def dues(runtime) -> dict[str, tuple[date | None, str | None]]:  # type: ignore[no-untyped-def]
    with unit_of_work(runtime.sessions) as session:
        return {a.ref: (a.due, a.due_text) for a in session.scalars(select(Action))}


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Academic year 2025/26", date(2026, 8, 31)),
        ("AY 2025-26", date(2026, 8, 31)),
        ("2025/26 school year", date(2026, 8, 31)),
        ("Financial year 2025/26", date(2026, 3, 31)),
        ("FY 2025-26", date(2026, 3, 31)),
    ],
)
def test_a_named_year_is_read_as_it_says(text: str, due: date) -> None:
    assert parse_due(text) == (due, text)


def test_a_school_tracker_reads_a_bare_span_as_an_academic_year(
    wsoa, runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tracker(
        tmp_path,
        [
            ["S1", "Train every SENCO", "ann@council.example", "2024-25", "Green"],
            ["S2", "Transition visits", "ann@council.example", "Summer term 2025", "Amber"],
            ["S3", "Agree the EHCP pathway", "ann@council.example",
             "Before the start of the academic year 2025", "Amber"],
        ],
    )  # fmt: skip
    assert wsoa(path) == 1  # S3's date could not be read, and is reported
    out = capsys.readouterr().out
    found = dues(runtime)
    assert found["S1"] == (date(2025, 8, 31), "2024-25")
    assert found["S3"] == (None, "Before the start of the academic year 2025")
    assert "(S1) read as academic years, ending 31 August" in out
    assert "terms or school years (S2, S3)" in out and "--year-end financial" in out

    # the programme manager says which: the date moves, the wording stays
    assert wsoa(path, "--year-end", "financial") == 1
    assert dues(runtime)["S1"] == (date(2025, 3, 31), "2024-25")
    assert "read as financial years, ending 31 March, as --year-end says" in capsys.readouterr().out


def test_a_tracker_with_no_school_wording_reads_a_financial_year(
    wsoa, runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tracker(
        tmp_path,
        [
            ["F1", "Recommission SALT", "ann@council.example", "2024-25", "Green"],
            ["F2", "Refresh the JSNA", "ann@council.example", "Q3 2024/25", "Amber"],
            ["F3", "Dated outright", "ann@council.example", "31/03/2025", "Amber"],
        ],
    )
    assert wsoa(path) == 0
    out = capsys.readouterr().out
    assert dues(runtime)["F1"] == (date(2025, 3, 31), "2024-25")
    assert "(F1) read as financial years, ending 31 March" in out
    assert "--year-end academic" in out

    assert wsoa(path, "--year-end", "academic") == 0
    assert dues(runtime)["F1"] == (date(2025, 8, 31), "2024-25")
    assert dues(runtime)["F2"] == (date(2024, 12, 31), "Q3 2024/25")  # a quarter is financial

    with pytest.raises(SystemExit):
        wsoa(path, "--year-end", "calendar")
    assert "invalid" in capsys.readouterr().err
