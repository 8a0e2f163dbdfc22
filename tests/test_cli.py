"""The `wsoa` console script as a user runs it: a real process, stdin or -c."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOW

WSOA = [sys.executable, "-m", "bot"]


def run(
    args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """`wsoa ARGS` in a real process, on the tests' clock (WSOA_AS_OF) unless `env` says
    otherwise, so that nothing it prints depends on the day the suite runs."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WSOA_"))}
    environ["WSOA_AS_OF"] = NOW.isoformat()
    return subprocess.run(
        WSOA + args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ | env,
        check=False,
    )


def test_demo_runs_the_done_when_walkthrough(tmp_path: Path) -> None:
    script = "summary\nshow 11F\nupdate 11F amber Toolkit pilot live\nhistory 11F\n"
    result = run(["demo"], tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Graduated Response: red 11F, 12B, 12C" in out
    assert "Leads: @Alison Whitfield, @Lucy Fenwick" in out
    assert "Updated 11F" in out and "RAG red → amber" in out
    assert "RAG red → amber · Toolkit pilot live" in out
    assert (tmp_path / "wsoa-demo.db").exists()


def test_demo_never_touches_the_configured_database(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    result = run(["demo", "-c", "summary"], tmp_path, WSOA_DATABASE_URL=f"sqlite:///{real}")
    assert result.returncode == 0, result.stderr
    assert not real.exists()


def test_console_creates_and_migrates_an_empty_database(tmp_path: Path) -> None:
    result = run(["console", "-c", "summary"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "There is no plan here yet" in result.stdout and "wsoa import FILE" in result.stdout
    assert (tmp_path / "wsoa.db").exists()
    # reading made no plan
    assert "No plans yet" in run(["plan", "list"], tmp_path).stdout
    upgraded = run(["db", "upgrade"], tmp_path)
    assert upgraded.returncode == 0 and "current schema" in upgraded.stdout


def test_console_reads_commands_from_stdin_as_a_user(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    plan = Path(__file__).parent / "fixtures" / "plans" / "council_tracker_semicolon.csv"
    assert run(["import", str(plan)], tmp_path, WSOA_DATABASE_URL=db).returncode == 0
    result = run(
        ["console", "--user", "UPM"],
        tmp_path,
        stdin="/wsoa list amber\n\n# a comment\nsignoff 2A.3 confirm done\n",
        WSOA_DATABASE_URL=db,
        WSOA_ADMINS="UPM",
    )
    assert result.returncode == 0, result.stderr
    assert "Amber actions" in result.stdout
    assert "Signed off 2A.3" in result.stdout


def test_an_export_to_dash_goes_to_standard_output(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    plan = Path(__file__).parent / "fixtures" / "plans" / "council_tracker_semicolon.csv"
    assert run(["import", str(plan)], tmp_path, WSOA_DATABASE_URL=db).returncode == 0
    result = run(["export", "-o", "-"], tmp_path, WSOA_DATABASE_URL=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].lower().startswith("ref,") and "2A.3" in result.stdout
    assert not (tmp_path / "-").exists()
    as_markdown = run(["export", "--format", "md", "-o", "-"], tmp_path, WSOA_DATABASE_URL=db)
    assert as_markdown.returncode == 0 and "| 2A.3 |" in as_markdown.stdout.replace(
        "|2A.3|", "| 2A.3 |"
    )


@pytest.mark.parametrize("args", [["frobnicate"], ["tick", "--at", "yesterday"]])
def test_bad_arguments_are_refused(tmp_path: Path, args: list[str]) -> None:
    result = run(args, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_rows_pasted_from_a_spreadsheet_import_from_stdin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    pasted = (
        "Action No.\tAction\tPillar\tLead Officer\tTimescale\tRAG Rating\n"
        "2A.3\tAgree the joint commissioning strategy\tJoint Commissioning\tU0A\tMarch 2027"
        "\tAmber\n"
        "11F\tReduce exclusions\tGraduated Response\tsam@council.example\t31/01/2027\tRed\n"
    )
    result = run(["import", "-"], tmp_path, stdin=pasted, WSOA_DATABASE_URL=db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created 2: 2A.3, 11F" in result.stdout
    shown = run(["console", "-c", "list red"], tmp_path, WSOA_DATABASE_URL=db)
    assert "11F" in shown.stdout
