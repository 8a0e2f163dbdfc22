"""A sign-off a board would question (red, not started, overdue) asks to be confirmed, with a
button or `signoff REF confirm NOTE`, and `undo` takes a sign-off back within 15 minutes."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.replies import ButtonId
from bot.runtime import Runtime
from bot.store.models import Action
from tests.conftest import ADMIN, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


def state(runtime: Runtime, ref: str) -> tuple[str | None, str]:
    with runtime.sessions() as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        return action.rag, action.status


def test_a_red_action_is_signed_off_only_when_confirmed(demo: Runtime, console: Console) -> None:
    before = state(demo, "11F")
    asked = console("signoff 11F Objective met")
    assert "11F is rated red: are you sure" in asked and "signoff 11F confirm" in asked
    assert state(demo, "11F") == before
    done = console("signoff 11F confirm Objective met, evidence in the board pack")
    assert "Signed off 11F" in done and "undo 11F" in done
    assert state(demo, "11F") == ("green", "signed off")
    assert "evidence in the board pack" in console("history 11F")


def test_undo_takes_a_sign_off_back(demo: Runtime, console: Console) -> None:
    before = state(demo, "11F")
    console("signoff 11F confirm Objective met")
    undone = console("undo 11F")
    assert "Undid" in undone, undone
    assert state(demo, "11F") == before
    shown = console("history 11F")
    assert "signed off" in shown and "undo" in shown.lower()


def test_confirm_in_slack_with_the_button(demo: Runtime, slack: SlackHarness) -> None:
    asked = slack.reply("signoff 12C Objective met", ADMIN)
    [confirm] = [
        element
        for block in asked["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id", "").startswith(ButtonId.CONFIRM_SIGNOFF)
    ]
    assert confirm["value"] == "12C confirm Objective met"
    click = slack.sim.block_action(ButtonId.CONFIRM_SIGNOFF, confirm["value"], ADMIN, "C_BOARD")
    assert click.status == 200
    [told] = slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    assert "Signed off 12C" in json.dumps(told.params, ensure_ascii=False)
    assert state(demo, "12C") == ("green", "signed off")


def test_a_note_on_the_next_line_is_the_note(demo: Runtime, console: Console) -> None:
    asked = console("signoff 12C\nObjective met, evidence in the pack")
    assert "12C is rated red" in asked
    done = console("signoff 12C confirm\nObjective met, evidence in the pack")
    assert "Signed off 12C" in done


def test_a_note_starting_with_confirm_keeps_the_word_when_nothing_is_asked(
    demo: Runtime, console: Console, slack: SlackHarness
) -> None:
    """1C is green, in progress and not overdue: no confirmation is asked for, so "confirm"
    is the first word of the note, not an answer to a question nobody asked."""
    done = console("signoff 1C confirm the framework is reviewed each term")
    assert "Signed off 1C" in done
    assert "confirm the framework is reviewed each term" in console("history 1C")
    # where a confirmation is asked for, the word is the confirmation, in Slack as at the console
    told = slack.reply("signoff 12C confirm confirm the panel's decision", ADMIN)
    assert "Signed off 12C" in json.dumps(told, ensure_ascii=False)
    assert "confirm the panel's decision" in console("history 12C")
    asked = console("signoff 11F confirm")
    assert "needs the ref and a note" in asked and state(demo, "11F")[1] != "signed off"
