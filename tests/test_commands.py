"""Every `/wsoa` command through the console path (the same `execute` Slack uses), on the demo
plan, with its unhappy paths: a refusal or a bad input answers clearly and changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.commands import COMMANDS
from bot.commands.updating import parse_update
from bot.domain import Invalid, Rag, Status
from bot.runtime import Runtime
from bot.store.db import unit_of_work
from bot.store.models import Action, Answer, BoardMeeting, FollowUp, Subscription, Update
from tests.conftest import ADMIN, LEAD_11F, READER, Console

pytestmark = pytest.mark.usefixtures("demo")


def action_state(runtime: Runtime, ref: str) -> tuple[str | None, str, int]:
    """(rag, status, number of history rows) of an action."""
    with unit_of_work(runtime.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        n = session.scalar(select(func.count()).where(Update.action_id == action.id))
        return action.rag, action.status, n or 0


def count(runtime: Runtime, model: type) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- reading ---------------------------------------------------------------------------


def test_help_lists_every_command_with_examples(console: Console) -> None:
    out = console("help", user=READER)
    for verb in COMMANDS:
        assert verb in out
    assert "update 11F amber Toolkit pilot live" in out


def test_help_for_admins_lists_leads_not_linked_to_slack(demo: Runtime, console: Console) -> None:
    console("assign 2B someone.new@council.example", user=ADMIN)
    assert "someone.new@council.example" in console("help", user=ADMIN)
    assert "someone.new@council.example" not in console("help", user=READER)


def test_summary_reads_like_a_review_note(console: Console) -> None:
    out = console("summary", user=READER)
    assert "Graduated Response: red 11F, 12B, 12C; amber 11A.2, 11B, 12A.1, 12A.2" in out
    assert "Joint Commissioning: amber 2A.3, 2A.4, 2A.5, 2B, 2C" in out
    assert "Overdue (5): 2B, 7A, 9A, 11A.2, 12B" in out
    assert "Open follow-ups: 9" in out
    assert "Next board meeting: SEND Operational Leads (6-weekly)" in out


def test_summary_of_one_workstream(console: Console) -> None:
    out = console("summary graduated response")
    assert "Graduated Response: red 11F, 12B, 12C" in out
    assert "Joint Commissioning" not in out


def test_summary_of_unknown_workstream_suggests(console: Console) -> None:
    out = console("summary graduated reponse")
    assert "No workstream" in out and "Graduated Response" in out


def test_show(console: Console) -> None:
    out = console("show 11f", user=READER)
    assert "11F Reduce suspensions" in out
    assert "Workstream: Graduated Response" in out
    assert "Leads: @Alison Whitfield, @Lucy Fenwick" in out
    assert "RAG: red" in out and "Status: in progress" in out
    assert "Success measure:" in out
    assert "FU-3" in out  # its open follow-up


def test_unknown_ref_suggests_the_nearest(console: Console) -> None:
    assert "No action 11G. Did you mean 11F" in console("show 11g")
    assert "No action 99Z." in console("history 99Z")


def test_list_by_rag_overdue_stale_and_workstream(console: Console) -> None:
    red = console("list red")
    assert "Red actions (3)" in red and "11F" in red and "2A.3" not in red
    assert "Overdue actions (5)" in console("list overdue")
    stale = console("list stale")
    assert "Stale actions (no update for 42 days) (6)" in stale and "12C" in stale
    assert "Culture (4)" in console("list culture")
    assert "No workstream" in console("list purple")
    assert "List what?" in console("list")


def test_mine(console: Console) -> None:
    out = console("mine", user=LEAD_11F)
    assert "11F" in out and "12B" in out and "12A.1" in out and "2A.3" not in out
    assert "You do not lead any actions" in console("mine", user=READER)


# --- updating --------------------------------------------------------------------------


def test_lead_updates_in_any_case_and_history_records_it(demo: Runtime, console: Console) -> None:
    out = console("update 11f Amber In Progress Toolkit pilot live", user=LEAD_11F)
    assert "Updated 11F" in out and "RAG: red → amber" in out
    rag, status, n = action_state(demo, "11F")
    assert (rag, status) == ("amber", "in progress")
    history = console("history 11F", user=READER)
    assert "RAG red → amber · Toolkit pilot live" in history
    assert "@Alison Whitfield" in history
    assert f"{n} changes" in history


def test_update_status_before_rag_and_note_only(demo: Runtime, console: Console) -> None:
    console("update 12B complete green Recovery plan delivered", user=LEAD_11F)
    assert action_state(demo, "12B")[:2] == ("green", "complete")
    before = action_state(demo, "12A.1")
    console("update 12A.1 Started the audit; complete by March", user=LEAD_11F)
    after = action_state(demo, "12A.1")
    assert after[:2] == before[:2] and after[2] == before[2] + 1


def test_parse_update_grammar() -> None:
    assert parse_update("2a.3 Amber in-progress JSNA  draft") == parse_update(
        "2a.3 amber in progress JSNA  draft"
    )
    change = parse_update("11F in progress amber Pilot live").change
    assert change is not None
    assert (change.rag, change.status, change.note) == (Rag.AMBER, Status.IN_PROGRESS, "Pilot live")
    assert parse_update("11F").change is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("update 11F yellow Toolkit live", "“yellow” is not a RAG rating. Use red, amber or green"),
        ("update 11F amber", "Add a note"),
        ("update 11F red " + "x" * 10_000, "the limit is 3,000"),
        ("update 11X amber Pilot", "No action 11X. Did you mean"),
        ("update", "Which action?"),
        ("update 11F signed off: Done", "Signing off is for programme managers"),
        ("update !!! amber note", "is not an action ref"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(
    demo: Runtime, console: Console, command: str, expected: str
) -> None:
    before = action_state(demo, "11F")
    assert expected in console(command, user=LEAD_11F)
    assert action_state(demo, "11F") == before


def test_someone_else_cannot_update_and_nothing_changes(demo: Runtime, console: Console) -> None:
    before = action_state(demo, "2A.3")
    out = console("update 2A.3 green Done", user=LEAD_11F)
    assert "Only 2A.3's leads (Bethan Lyndon, Daniel Osei) or a programme manager" in out
    assert action_state(demo, "2A.3") == before


def test_update_with_no_note_asks_for_the_form(console: Console) -> None:
    assert "Type the update after the ref" in console("update 11F", user=LEAD_11F)
    assert "Only 11F's leads" in console("update 11F", user=READER)


def test_a_note_that_would_ping_the_channel_is_kept_as_text(
    demo: Runtime, console: Console
) -> None:
    console("update 11F <!channel> see <https://evil.example|this> <@U999>", user=LEAD_11F)
    with unit_of_work(demo.sessions) as session:
        note = session.scalars(select(Action.last_note).where(Action.ref == "11F")).one()
    assert note == "<!channel> see <https://evil.example|this> <@U999>"


def test_signoff_is_for_admins(demo: Runtime, console: Console) -> None:
    before = action_state(demo, "13A")
    assert "Only programme managers" in console("signoff 13A Objective met", user=LEAD_11F)
    assert action_state(demo, "13A") == before
    assert "Signed off 13A" in console("signoff 13a Objective met – signed off by SEND Ops")
    assert action_state(demo, "13A")[1] == "signed off"
    assert "already signed off" in console("signoff 13A again")
    assert "signed off" in console("history 13A")
    assert "needs the ref and a note" in console("signoff 13A")


def test_assign_sets_leads_from_mentions_and_emails(demo: Runtime, console: Console) -> None:
    assert "Only programme managers" in console("assign 11F <@U0DEMO01>", user=LEAD_11F)
    out = console("assign 11F <@U0DEMO01|helen> priya@ccg.example")
    assert "Leads: Helen Marlow, Priya" in out
    assert "were: Alison Whitfield, Lucy Fenwick" in out
    assert "11F" in console("mine", user="U0DEMO01")
    assert "11F" not in console("mine", user=LEAD_11F)


# --- follow-ups ------------------------------------------------------------------------


def test_followup_lifecycle(demo: Runtime, console: Console) -> None:
    out = console("followup add 12B How many are over 30 week wait?")
    assert "Logged FU-11 on 12B" in out
    out = console("followup add graduated response Is the GR toolkit consistent across schools?")
    assert "Logged FU-12 on Graduated Response" in out
    assert "FU-11" in console("followup list 12B")

    assert "Only the leads for 12B" in console("followup answer FU-11 46", user=READER)
    assert "Answer recorded on FU-11" in console(
        "followup answer fu-11 46 over 30 weeks, 3 over 52", user=LEAD_11F
    )
    assert "Answer recorded on FU-12" in console(
        "followup answer 12 Toolkit audit in spring", user=LEAD_11F
    )
    assert "46 over 30 weeks" in console("followup list answered")

    assert "Only programme managers" in console("followup close FU-11", user=LEAD_11F)
    assert "Closed FU-11" in console("followup close FU-11")
    assert "FU-11" not in console("followup list")
    assert "FU-11" in console("followup list all")
    assert "is closed" in console("followup answer FU-11 more", user=LEAD_11F)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("followup add 12B", "needs what it is about and the question"),
        ("followup add 99Q Why?", "No action 99Q"),
        ("followup add Nowhere land Why?", "No workstream"),
        ("followup answer FU-999 yes", "No follow-up FU-999"),
        ("followup answer banana yes", "not a follow-up id"),
        ("followup answer FU-1", "needs the id and the answer"),
        ("followup frobnicate", "not a follow-up command"),
    ],
)
def test_bad_followups_change_nothing(
    demo: Runtime, console: Console, command: str, expected: str
) -> None:
    before = (count(demo, FollowUp), count(demo, Answer))
    assert expected in console(command)
    assert (count(demo, FollowUp), count(demo, Answer)) == before


def test_only_admins_log_followups(demo: Runtime, console: Console) -> None:
    before = count(demo, FollowUp)
    assert "Only programme managers" in console("followup add 11F Why?", user=LEAD_11F)
    assert count(demo, FollowUp) == before


# --- boards and digests ----------------------------------------------------------------


def test_board_add_list_remove(demo: Runtime, console: Console) -> None:
    out = console("board add 2027-03-04 14:00 SEND Improvement Board")
    assert "Added B-4: SEND Improvement Board, Thu 4 Mar 2027 14:00" in out
    assert "digest at Tue 2 Mar 2027 14:00" in out
    listing = console("board list", user=READER)
    assert "B-4" in listing and "not yet due" in listing
    assert "Only programme managers" in console("board remove B-4", user=LEAD_11F)
    assert "Removed B-4" in console("board remove 4")
    assert "B-4" not in console("board list")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("board add 2027-02-30 14:00 Board", "is not a date"),
        ("board add 04/03/2027 14:00 Board", "is not a date"),
        ("board add 2027-03-04 25:00 Board", "is not a time"),
        ("board add 2020-03-04 14:00 Board", "in the past"),
        ("board add 2027-03-04 14:00", "needs a date, a time and a name"),
        ("board remove 99", "No board meeting 99"),
    ],
)
def test_bad_board_commands_change_nothing(
    demo: Runtime, console: Console, command: str, expected: str
) -> None:
    before = count(demo, BoardMeeting)
    assert expected in console(command)
    assert count(demo, BoardMeeting) == before


def test_digest_preview_and_weekly(demo: Runtime, console: Console) -> None:
    preview = console("digest preview", user=READER)
    assert "Red actions (3)" in preview and "Open follow-ups (9)" in preview
    assert "every Monday at 09:00" in console("digest weekly")
    assert "every Thursday at 16:30" in console("digest weekly thu 16:30")
    assert count(demo, Subscription) == 1
    assert "is not a day" in console("digest weekly someday 09:00")
    assert "Only programme managers" in console("digest weekly mon 09:00", user=READER)
    assert "weekly digest is off" in console("digest weekly off")
    assert "has no weekly digest" in console("digest weekly off")


def test_unknown_command_suggests(console: Console) -> None:
    assert "There is no command “sumary”. Did you mean `summary`?" in console("sumary")


# --- cost ------------------------------------------------------------------------------


def _add_actions(runtime: Runtime, start: int, stop: int) -> None:
    from bot.domain import ref_sort_key

    with unit_of_work(runtime.sessions) as session:
        template = session.scalars(select(Action).where(Action.ref == "11F")).one()
        for i in range(start, stop):
            ref = f"90X.{i}"
            session.add(
                Action(
                    plan_id=template.plan_id,
                    workstream_id=template.workstream_id,
                    ref=ref,
                    sort_key=ref_sort_key(ref),
                    title=f"Extra action {i}",
                    rag=("red", "amber", "green")[i % 3],
                    status="in progress",
                    created_at=template.created_at,
                    due=template.due,
                    leads=list(template.leads),
                )
            )


@pytest.mark.parametrize("command", ["summary", "show 11F", "list amber", "digest preview", "mine"])
def test_statements_do_not_grow_with_the_plan(
    demo: Runtime,
    console: Console,
    count_statements: Callable[[Callable[[], object]], int],
    command: str,
) -> None:
    _add_actions(demo, 0, 150)
    small = count_statements(lambda: console(command, user=LEAD_11F))
    _add_actions(demo, 150, 600)
    large = count_statements(lambda: console(command, user=LEAD_11F))
    assert large == small, f"{command}: {small} statements at 190 actions, {large} at 640"
    assert small <= 25


def test_rag_and_status_words() -> None:
    assert Rag.parse("Amber") is Rag.AMBER
    assert Status.parse("In-Progress") is Status.IN_PROGRESS
    with pytest.raises(Invalid, match="red, amber, green"):
        Rag.parse("yellow")
    with pytest.raises(Invalid, match="not started, in progress"):
        Status.parse("sort of")


def test_dates_read_in_english_whatever_the_locale() -> None:
    from datetime import date, datetime

    from bot.domain import day_text, moment_text

    assert day_text(date(2026, 12, 1)) == "1 Dec 2026"
    assert moment_text(datetime(2026, 12, 1, 14, 5)) == "Tue 1 Dec 2026 14:05"
