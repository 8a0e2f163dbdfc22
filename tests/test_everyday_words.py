"""Everyday words: a line that starts with a ref is an update, at the console, in a signed
Slack request and in Teams alike, as it already was in a personal chat; "done", "finished" and
"completed" set the status as "complete" does."""

from __future__ import annotations

import json

from bot.runtime import Runtime
from tests.conftest import LEAD_11F, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


def test_a_line_starting_with_a_ref_is_an_update_at_the_console(
    demo: Runtime, console: Console
) -> None:
    answer = console("11f Amber - pilot started in 12 schools", user=LEAD_11F)
    assert "Updated 11F" in answer and "RAG: red → amber" in answer
    assert "pilot started in 12 schools" in console("history 11F")
    assert "- pilot started" not in console("history 11F")
    # a word that is neither a command nor a ref is still an unknown command
    assert "There is no command “frobnicate”" in console("frobnicate 11F")
    # an unknown ref is refused as `update` refuses it, with nothing recorded
    assert "No action 11G" in console("11G amber pilot", user=LEAD_11F)


def test_a_line_starting_with_a_ref_is_an_update_in_slack(
    demo: Runtime, slack: SlackHarness
) -> None:
    before = slack.updates()
    answer = json.dumps(slack.reply("11F amber: pilot live", LEAD_11F), ensure_ascii=False)
    assert "Updated 11F" in answer
    assert slack.updates() == before + 1


def test_done_sets_the_status_at_the_console_and_in_slack(
    demo: Runtime, console: Console, slack: SlackHarness
) -> None:
    answer = console("update 11F green: done", user=LEAD_11F)
    assert "Status: in progress → complete" in answer and "Note: done" in answer
    said = json.dumps(slack.reply("12B Finished: all plans issued", LEAD_11F), ensure_ascii=False)
    assert "in progress → complete" in said
    assert "all plans issued" in said


def test_a_priority_whose_name_has_a_comma_is_mapped(demo: Runtime, console: Console) -> None:
    console("priority add Timely, good quality EHC plans")
    console("priority add Early identification of need")
    assert "12B now maps to P1 Timely, good quality EHC plans" in console(
        "map 12B Timely, good quality EHC plans"
    )
    both = console('map 12B "Timely, good quality EHC plans" P2')
    assert "P1 Timely, good quality EHC plans, P2 Early identification of need" in both
    assert "P2 Early" in console("map 12B “Early identification of need”")
