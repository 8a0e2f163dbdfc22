"""Complete is a rating of its own (BRAG's blue): finished work, written "Complete" or "Blue" in
a tracker's RAG column or signed off in chat, is counted Complete in the summary, the digest
and the board pack, on the console and in Slack; never "not rated"; and a workstream whose
actions are all finished is complete."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from bot.cli import main
from bot.console import reply_for
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from tests.conftest import ADMIN, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401

HEADER = ["Ref", "Workstream", "Action", "Lead", "Due", "RAG", "Status"]
ROWS = [
    ["R1.1", "Early Years", "Publish the Local Offer page", "ann@council.example", "31/03/2026",
     "Complete", "Complete"],
    ["R1.2", "Early Years", "Train portage workers", "ann@council.example", "31/03/2026",
     "Blue", "Done"],
    ["R2.1", "Preparing for Adulthood", "Agree transition protocol", "raj@council.example",
     "31/07/2027", "Amber", "In progress"],
    ["R2.2", "Preparing for Adulthood", "Launch supported internships", "raj@council.example",
     "31/07/2027", "Green", "In progress"],
]  # fmt: skip


@pytest.fixture
def brag(
    database_url: str, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Runtime:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", ADMIN)
    path = tmp_path / "tracker.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *ROWS])
    assert main(["import", str(path)]) == 0
    runtime.settings = runtime.settings.model_copy(update={"admins": frozenset({ADMIN})})
    return runtime


def counts(text: str) -> dict[str, list[str]]:
    """The summary table's rows: workstream → Red, Amber, Green, Complete, Not rated, Total,
    of which closed."""
    found = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) >= 8 and all(c.isdigit() for c in cells[-7:]):
            found[" ".join(cells[:-7])] = cells[-7:]
    return found


def test_finished_work_counts_complete_in_the_summary(brag: Runtime, console: Console) -> None:
    out = console("summary")
    header = next(line for line in out.splitlines() if line.startswith("Workstream"))
    assert "Complete" in header.split()
    rows = counts(out)
    assert rows["Early Years"] == ["0", "0", "0", "2", "0", "2", "2"]
    assert rows["All"] == ["0", "1", "1", "2", "0", "4", "2"]
    listed = console("list complete")
    assert "R1.1" in listed and "R1.2" in listed and "R2.1" not in listed
    # Signed off in chat: counted complete, whatever its last rating.
    assert "Signed off" in console("signoff R2.2 Internships running")
    assert counts(console("summary"))["Preparing for Adulthood"][:4] == ["0", "1", "0", "1"]
    assert "R2.2" not in console("list green")


def test_the_digest_and_the_pack_rate_finished_work_complete(
    brag: Runtime, console: Console
) -> None:
    console("board add 2027-01-20 14:00 SEND Improvement Board")
    with unit_of_work(brag.sessions) as session:
        board = session.scalars(select(BoardMeeting)).one()
        digest = render_text(
            build_digest(
                session,
                brag.settings,
                brag.clock(),
                DigestFor(channel_id="console", plan_id=board.plan_id, board=board),
            )
        )
    assert counts(digest)["Early Years"][3] == "2"
    assert "Not rated 2" not in digest

    pack = reply_for(brag, ADMIN, "boardpack")
    document = docx.Document(io.BytesIO(pack.files[0].data))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    by_workstream = next(t for t in tables if t[0][:2] == ["Workstream", "Overall"])
    assert by_workstream[0][2:7] == ["Red", "Amber", "Green", "Complete", "Not rated"]
    early = next(r for r in by_workstream if r[0] == "Early Years")
    assert early[1] == "complete" and early[5] == "2" and early[6] == "0"
    text = "\n".join(p.text for p in document.paragraphs)
    assert "2 complete, 0 not rated" in text


def test_slack_counts_finished_work_complete(brag: Runtime, slack: SlackHarness) -> None:
    answer = slack.reply("summary", ADMIN)
    shown = json.dumps(answer)
    assert "Complete" in shown
    listed = json.dumps(slack.reply("list complete", ADMIN))
    assert "R1.1" in listed and "R1.2" in listed and "R2.1" not in listed
