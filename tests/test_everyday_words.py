"""Everyday words: a line that starts with a ref is an update, at the console, in a signed
Slack request and in Teams alike, as it already was in a personal chat; "done", "finished" and
"completed" set the status as "complete" does; a priority's name may hold a comma; a measure's
change across missing months says so, and its chart does not join them."""

from __future__ import annotations

import json
from datetime import date

from bot.charts import _broken
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


def test_a_change_across_missing_months_says_so_and_its_chart_breaks(
    demo: Runtime, console: Console
) -> None:
    console(
        "kpi add Tribunal appeals; %; lower is better; baseline 2.1% at 2025-03-31; "
        "target 1.5% by 2027-03-31"
    )
    console("kpi record K1 2.0 2025-11")
    console("kpi record K1 3.0 2026-10")
    shown = console("kpi show K1")
    assert "+1 points since Nov 2025, 11 months earlier (no figures between)" in shown, shown
    # a termly measure's figures a term apart are consecutive: no gap is claimed
    console(
        "kpi add Attendance of pupils with an EHCP; %; higher is better; baseline 88% at "
        "2025-09-30; target 92% by 2027-07-31; termly"
    )
    console("kpi record K2 89 2026-03")
    console("kpi record K2 90 2026-07")
    assert "+1 points since Mar 2026 (better)" in console("kpi show K2")
    # figures a month apart are joined; across the missing months the line breaks
    points = [(date(2025, 10, 31), 1.9), (date(2025, 11, 30), 2.0), (date(2026, 10, 31), 3.0)]
    drawn = _broken(points, 31)
    assert len(drawn) == 4 and drawn[2][1] != drawn[2][1]  # a NaN between Nov and Oct
    assert _broken(points[:2], 31) == points[:2]
