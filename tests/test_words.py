"""Updates as people write them, what the reply says was understood, and Undo: the grammar as a
pure function, then through the console and signed Slack requests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.commands.updating import parse_update
from bot.domain import Invalid, Rag, Status
from bot.replies import ButtonId
from bot.runtime import Runtime
from bot.store.db import unit_of_work
from bot.store.models import Action, Update
from tests.conftest import ADMIN, LEAD_11F, READER, Clock, Console
from tests.slack_fixtures import (
    SlackHarness,
    assert_message_within_limits,
    served_slack_app,  # noqa: F401 (the `slack` fixture)
    text_of,
)

pytestmark = pytest.mark.usefixtures("demo")


@pytest.mark.parametrize(
    ("typed", "rag", "status", "note"),
    [
        ("11F Green: on track", Rag.GREEN, None, "on track"),
        ("11F amber, pilot live", Rag.AMBER, None, "pilot live"),
        ("11F RAG amber pilot live", Rag.AMBER, None, "pilot live"),
        ("11F rag: red Staffing gap", Rag.RED, None, "Staffing gap"),
        ("11F RAG: Amber - pilot live", Rag.AMBER, None, "pilot live"),
        (
            "11F amber in progress Toolkit pilot live",
            Rag.AMBER,
            Status.IN_PROGRESS,
            "Toolkit pilot live",
        ),
        ("11F complete: evaluation published", None, Status.COMPLETE, "evaluation published"),
        ("11F complete - evaluation published", None, Status.COMPLETE, "evaluation published"),
        ("11F status complete evaluation published", None, Status.COMPLETE, "evaluation published"),
        ("11F status: on hold, funding paused", None, Status.HALTED, "funding paused"),
        (
            "11F complete green Recovery plan delivered",
            Rag.GREEN,
            Status.COMPLETE,
            "Recovery plan delivered",
        ),
        # A note that merely begins with a status word is the note.
        (
            "11F complete evaluation of the toolkit by March",
            None,
            None,
            "complete evaluation of the toolkit by March",
        ),
        ("11F in progress meetings held", None, None, "in progress meetings held"),
        ("11F Greenwich pilot agreed", None, None, "Greenwich pilot agreed"),
        # Everyday words for finished work set the status; alone, they are the note too.
        ("11F green: done", Rag.GREEN, Status.COMPLETE, "done"),
        ("11F Done: evaluation published", None, Status.COMPLETE, "evaluation published"),
        ("11F finished", None, Status.COMPLETE, "finished"),
        ("11F amber completed - report to board", Rag.AMBER, Status.COMPLETE, "report to board"),
        # …but after a RAG, prose that opens with one of them is a note
        ("11F green completed the audit", Rag.GREEN, None, "completed the audit"),
        ("11F done the audit of case files", None, None, "done the audit of case files"),
    ],
)
def test_updates_as_people_write_them(
    typed: str, rag: Rag | None, status: Status | None, note: str
) -> None:
    change = parse_update(typed).change
    assert change is not None
    assert (change.rag, change.status, change.note) == (rag, status, note)


def test_a_status_word_in_the_note_is_reported_not_applied() -> None:
    parsed = parse_update("11F complete evaluation of the toolkit by March")
    assert parsed.status_in_note is Status.COMPLETE
    assert parse_update("11F complete: done").status_in_note is None


def test_five_point_words_need_a_five_point_plan() -> None:
    change = parse_update("11F red/amber: recruitment slipping", 5).change
    assert change is not None and change.rag is Rag.RED_AMBER
    change = parse_update("11F Amber/Green pilot live", 5).change
    assert change is not None and change.rag is Rag.AMBER_GREEN
    with pytest.raises(Invalid, match="five-point rating"):
        parse_update("11F red/amber: recruitment slipping", 3)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("11F rag: purple pilot", "“purple” is not a RAG rating"),
        ("11F RAG soon", "“soon” is not a RAG rating"),
        ("11F status sorted well", "“sorted” is not a status"),
        ("11F Green:", "Add a note"),
    ],
)
def test_unreadable_updates_are_refused(typed: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_update(typed)


def state(runtime: Runtime, ref: str) -> tuple[str | None, str, str | None, int]:
    with unit_of_work(runtime.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        rows = session.scalars(select(Update).where(Update.action_id == action.id)).all()
        return action.rag, action.status, action.last_note, len(rows)


def test_the_reply_says_exactly_what_changed(demo: Runtime, console: Console) -> None:
    out = console("update 11F Green: on track", user=LEAD_11F)
    assert "RAG: red → green" in out
    assert "Status: in progress (unchanged)" in out
    assert "Note: on track" in out
    assert "undo 11F" in out
    out = console("update 11F complete evaluation of the toolkit by March", user=LEAD_11F)
    assert "Status: in progress (unchanged)" in out
    assert "begins with “complete”" in out and "update 11F complete: NOTE" in out
    assert state(demo, "11F")[:2] == ("green", "in progress")


def test_undo_restores_and_is_recorded(demo: Runtime, console: Console, clock: Clock) -> None:
    before = state(demo, "11F")
    console("update 11F Green complete: pilot finished", user=LEAD_11F)
    assert state(demo, "11F")[:3] == ("green", "complete", "pilot finished")
    out = console("undo", user=LEAD_11F)
    assert "Undid your update to 11F" in out and "RAG green → red" in out
    after = state(demo, "11F")
    assert after[:3] == before[:3] and after[3] == before[3] + 2
    history = console("history 11F")
    assert "undone" in history and "RAG green → red" in history
    assert "status complete → in progress" in history
    # Undoing twice is refused: the undo is the latest change.
    assert "undone it since" in console("undo 11F", user=LEAD_11F)


def test_undo_refuses_after_15_minutes(demo: Runtime, console: Console, clock: Clock) -> None:
    console("update 11F amber: pilot live", user=LEAD_11F)
    start = clock.now
    clock.now = start + timedelta(minutes=16)
    assert "no update to 11F in the last 15 minutes" in console("undo 11F", user=LEAD_11F)
    with unit_of_work(demo.sessions) as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    assert "can no longer be undone" in console(f"undo #{row_id}", user=LEAD_11F)
    assert state(demo, "11F")[0] == "amber"
    clock.now = start


def test_undo_refuses_when_someone_else_updated_since(demo: Runtime, console: Console) -> None:
    console("update 11F amber: pilot live", user=LEAD_11F)
    with unit_of_work(demo.sessions) as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    console("update 11F green: verified by the PM", user=ADMIN)
    out = console(f"undo #{row_id}", user=LEAD_11F)
    assert "has changed 11F since" in out and "Nothing was undone" in out
    assert state(demo, "11F")[0] == "green"
    # Nor may anyone but its author undo an update.
    console("update 11F red: reopened", user=LEAD_11F)
    with unit_of_work(demo.sessions) as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    assert "Only the person who made an update" in console(f"undo #{row_id}", user=ADMIN)
    assert state(demo, "11F")[0] == "red"


def test_undo_of_a_first_rating_leaves_it_not_rated(demo: Runtime, console: Console) -> None:
    with unit_of_work(demo.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == "12A.1")).one()
        action.rag = None
    console("update 12A.1 amber: first rating", user=LEAD_11F)
    assert "RAG amber → not rated" in console("undo 12A.1", user=LEAD_11F)
    assert state(demo, "12A.1")[0] is None


def said(body: dict[str, object]) -> str:
    return " ".join(text_of(body))


def test_updates_and_undo_through_slack(demo: Runtime, slack: SlackHarness) -> None:
    answer = slack.reply("update 11F RAG amber pilot live", LEAD_11F)
    assert "*RAG:* red → amber" in said(answer)
    assert_message_within_limits(answer)
    [undo] = [
        e
        for block in answer["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["action_id"].startswith(ButtonId.UNDO)
    ]
    assert state(demo, "11F")[0] == "amber"
    # Only its author may use the button: anyone else is refused privately.
    refused = slack.sim.block_action(undo["action_id"], undo["value"], ADMIN, channel_id="C1")
    assert refused.status == 200
    calls = slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    assert "Only the person who made an update" in json.dumps(calls[-1].params)
    click = slack.sim.block_action(undo["action_id"], undo["value"], LEAD_11F, channel_id="C1")
    assert click.status == 200
    calls = slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    assert "Undid your update to 11F" in json.dumps(calls[-1].params)
    assert state(demo, "11F")[0] == "red"


def test_undo_by_someone_who_made_no_update(demo: Runtime, console: Console) -> None:
    before = state(demo, "11F")
    assert "You have made no update" in console("undo", user=READER)
    assert "You have made no update to 11F" in console("undo 11F", user=LEAD_11F)
    assert state(demo, "11F") == before
