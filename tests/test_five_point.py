"""A five-point plan (the delivery-confidence scale) through import, summary, list, digest,
updates and export; a three-point plan stays three-point."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest
from bot.store.db import unit_of_work
from bot.store.models import Action, Plan
from tests.conftest import Console

TRACKER = (
    "Ref,Action,Pillar,RAG Rating,Status\n"
    "5A,Map the local offer,Health,Red,In progress\n"
    "5B,Recruit two EPs,Health,Red/Amber,In progress\n"
    "5C,Publish the JSNA,Health,Amber,In progress\n"
    "5D,Train SENCOs,Education,Amber/Green,In progress\n"
    "5E,Launch the portal,Education,Green,Complete\n"
    "5F,Agree the protocol,Education,,Not started\n"
)


@pytest.fixture
def five_point(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    path = tmp_path / "confidence.csv"
    path.write_text(TRACKER, encoding="utf-8")
    monkeypatch.setenv("WSOA_DATABASE_URL", runtime.settings.database_url)
    assert main(["import", str(path)]) == 0
    return runtime


def ratings(runtime: Runtime) -> dict[str, str | None]:
    with unit_of_work(runtime.sessions) as session:
        return {a.ref: a.rag for a in session.scalars(select(Action))}


def test_the_plan_keeps_five_ratings(five_point: Runtime) -> None:
    with unit_of_work(five_point.sessions) as session:
        assert session.scalars(select(Plan.rag_scale)).one() == 5
    assert ratings(five_point)["5B"] == "red/amber"
    assert ratings(five_point)["5D"] == "amber/green"


def test_summary_counts_five_ratings_that_add_up(five_point: Runtime, console: Console) -> None:
    out = console("summary")
    header = next(line for line in out.splitlines() if line.startswith("Workstream"))
    assert header.split()[1:8] == [
        "Red",
        "Red/Amber",
        "Amber",
        "Amber/Green",
        "Green",
        "Complete",
        "Not",
    ]
    all_row = next(line for line in out.splitlines() if line.startswith("All "))
    # its one finished action is Complete, not Green
    assert all_row.split()[1:] == ["1", "1", "1", "1", "0", "1", "1", "6", "1"]


def test_list_and_update_use_the_five_point_words(five_point: Runtime, console: Console) -> None:
    assert "5B" in console("list red/amber")
    out = console("update 5C amber/green: recruitment done")
    assert "RAG: amber → amber/green" in out
    assert ratings(five_point)["5C"] == "amber/green"


def test_the_digest_shows_five_ratings(five_point: Runtime) -> None:
    with unit_of_work(five_point.sessions) as session:
        plan = session.scalars(select(Plan)).one()
        text = render_text(
            build_digest(
                session,
                five_point.settings,
                five_point.clock(),
                DigestFor(channel_id="C1", plan_id=plan.id),
            )
        )
    assert "Red/Amber" in text and "Amber/Green" in text
    assert "0 RAG changes" in text


def test_export_writes_five_ratings(
    five_point: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["export", "--format", "csv"]) == 0
    rows = {r["Ref"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["5B"]["RAG"] == "red/amber" and rows["5D"]["RAG"] == "amber/green"


@pytest.mark.usefixtures("demo")
def test_a_three_point_plan_shows_three(console: Console) -> None:
    out = console("summary")
    assert "Red/Amber" not in out and "Amber/Green" not in out
    assert "five-point rating" in console("update 11F red/amber: slipping")
