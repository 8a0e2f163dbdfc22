"""Figures that add up (issue 10, item 9): each seen in the trial, each with a test."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.commands import COMMANDS
from bot.domain import Surface
from bot.render.blockkit import message
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest
from bot.services.plans import workstreams
from bot.store.db import unit_of_work
from bot.store.models import Action, FollowUp, Plan
from tests.conftest import ADMIN, LEAD_11F, NOW, READER, Clock, Console
from tests.slack_fixtures import assert_message_within_limits

pytestmark = pytest.mark.usefixtures("demo")


def count_rows(text: str, n_ratings: int) -> dict[str, list[int]]:
    """The summary's count table: workstream → its numbers (ratings…, total, closed)."""
    found = {}
    for line in text.splitlines():
        pattern = r"^(\S.*?)\s+((?:\d+\s+){" + str(n_ratings + 1) + r"}\d+)\s*$"
        m = re.match(pattern, line)
        if m:
            found[m.group(1).strip()] = [int(n) for n in m.group(2).split()]
    return found


def test_the_summary_row_adds_up(console: Console) -> None:
    out = console("summary", user=READER)
    assert "of which closed" in out and "Total" in out
    # red, amber, green, complete (finished: BRAG's blue), not rated
    rows = count_rows(out, 5)
    assert "All" in rows and len(rows) == 9
    for name, numbers in rows.items():
        *ratings, total, closed = numbers
        assert sum(ratings) == total, name
        assert ratings[3] <= closed <= total  # complete is a part of closed
    assert rows["All"][5] == 40
    assert sum(r[5] for n, r in rows.items() if n != "All") == 40


def test_a_workstream_summary_counts_its_own_followups(demo: Runtime, console: Console) -> None:
    with unit_of_work(demo.sessions) as session:
        ours = [
            f
            for f in session.scalars(select(FollowUp).where(FollowUp.closed_at.is_(None)))
            if (f.workstream and f.workstream.name == "Graduated Response")
            or (f.action and f.action.workstream.name == "Graduated Response")
        ]
    out = console("summary graduated response", user=READER)
    assert f"Open follow-ups: {len(ours)} " in out
    assert len(ours) < 9
    assert "Open follow-ups: 9 " in console("summary", user=READER)


def test_one_answer_is_one_answer(console: Console) -> None:
    logged = console("followup add 11F How many toolkits are in use?")
    label = re.search(r"FU-\d+", logged)
    assert label is not None
    console(f"followup answer {label.group(0)} Twelve schools", user=LEAD_11F)
    out = console("show 11F", user=READER)
    assert "(1 answer)" in out and "(1 answers)" not in out


def test_history_shows_no_status_new(console: Console) -> None:
    out = console("history 11F", user=READER)
    assert "new →" not in out
    assert "created; status" in out


def test_help_is_one_row_per_command_within_slack_limits(console: Console) -> None:
    out = console("help", user=READER)
    for c in COMMANDS.values():
        assert out.count(c.summary) == 1, c.verb
    assert "counts when it comes right after the RAG" in out


@pytest.mark.parametrize("user", [READER, ADMIN])
def test_help_renders_whole_in_block_kit(demo: Runtime, user: str) -> None:
    from bot.commands import execute
    from bot.services.context import Caller

    payload = message(execute(demo, Caller(user_id=user, source=Surface.SLACK), "help"))
    assert_message_within_limits(payload)
    text = "\n".join(str(b.get("text", {}).get("text", "")) for b in payload["blocks"])
    for c in COMMANDS.values():
        for line in c.usage:  # every usage form whole, nothing cut
            assert f"`{line}`" in text, line
        assert text.count(f" — {c.summary}") == 1, c.verb


def test_the_update_form_offers_sign_off_to_admins_only(console: Console) -> None:
    from bot.commands.updating import update_form

    lead = [
        o.value
        for o in update_form(
            Action(ref="11F", title="t", rag=None, status="in progress"), admin=False
        )
        .field("status")
        .options
    ]
    admin = [
        o.value
        for o in update_form(Action(ref="11F", title="t", rag=None, status="in progress"))
        .field("status")
        .options
    ]
    assert "signed off" not in lead and "signed off" in admin
    # A lead adding a note to an action already signed off keeps its status on offer.
    kept = update_form(Action(ref="1A", title="t", rag=None, status="signed off"), admin=False)
    assert "signed off" in [o.value for o in kept.field("status").options]


def test_show_prints_the_title_once(demo: Runtime, console: Console) -> None:
    with unit_of_work(demo.sessions) as session:
        title = session.scalars(select(Action.title).where(Action.ref == "11F")).one()
    assert console("show 11F", user=READER).count(title) == 1


def test_a_part_of_two_workstream_names_says_both(console: Console) -> None:
    out = console("list joint", user=READER)
    assert "Joint Commissioning and Joint Working" in out


def digest_text(runtime: Runtime, slug: str | None = None) -> str:
    with unit_of_work(runtime.sessions) as session:
        plans = select(Plan).order_by(Plan.id)
        plan = session.scalars(plans.where(Plan.slug == slug) if slug else plans).first()
        assert plan is not None
        reply = build_digest(
            session, runtime.settings, runtime.clock(), DigestFor(channel_id="C9", plan_id=plan.id)
        )
    return render_text(reply)


def test_the_first_digest_counts_no_creations_as_rag_changes(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    # A fresh plan imported today: 40 new actions with ratings, none a RAG change.
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "ref,title,workstream,rag,status\n"
        + "".join(f"{i}A,Action {i},Pillar {i % 3},red,in progress\n" for i in range(1, 34)),
        encoding="utf-8",
    )
    monkeypatch.setenv("WSOA_DATABASE_URL", runtime.settings.database_url)
    assert main(["plan", "create", "fresh", "A fresh plan"]) == 0
    assert main(["import", str(plan), "--plan", "fresh"]) in (0, 1)
    text = digest_text(runtime, "fresh")
    assert "0 RAG changes" in text and "33 RAG changes" not in text


def test_the_digest_lists_an_action_once(demo: Runtime, console: Console, clock: Clock) -> None:
    clock.now = NOW + timedelta(minutes=1)
    console("update 11F amber: pilot live", user=LEAD_11F)
    clock.now = NOW + timedelta(minutes=30)
    console("update 11F green: pilot evaluated", user=LEAD_11F)
    text = digest_text(demo)
    moves = [line for line in text.splitlines() if "11F" in line and "→" in line]
    assert len(moves) == 1 and "amber → green" in moves[0]


def test_markdown_export_orders_workstreams_as_the_plan(
    demo: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSOA_DATABASE_URL", demo.settings.database_url)
    md = tmp_path / "plan.md"
    assert main(["export", "--format", "md", "-o", str(md)]) == 0
    headings = [line[3:].strip() for line in md.read_text().splitlines() if line.startswith("## ")]
    with unit_of_work(demo.sessions) as session:
        plan = session.scalars(select(Plan)).one()
        expected = [w.name for w in workstreams(session, plan)]
    assert headings == expected


def test_csv_export_keeps_dates_and_words_apart(
    demo: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WSOA_DATABASE_URL", demo.settings.database_url)
    assert main(["export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert rows
    for row in rows:
        assert row["Due"] == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["Due"]), row["Due"]
    assert any(row["Due as written"] and not row["Due as written"][0].isdigit() for row in rows)
