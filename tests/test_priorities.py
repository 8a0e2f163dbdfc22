"""Strategic priorities through the console path (the same `execute` Slack uses), on the demo
plan: adding them, mapping actions by key, number or name, `summary by priority` and the
workstream × priority matrix; refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.domain import NotFound
from bot.runtime import Runtime
from bot.services import priorities as priority_service
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import Action, Priority, Update, action_priorities
from tests.conftest import ADMIN, LEAD_11F, READER, Console

pytestmark = pytest.mark.usefixtures("demo")

PRIORITIES = ("Early identification of need", "Timely EHCPs", "Inclusive education")


def add_priorities(console: Console) -> None:
    for name in PRIORITIES:
        assert "Added P" in console(f"priority add {name}")


def mapping(runtime: Runtime, ref: str) -> list[str]:
    with unit_of_work(runtime.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        return [p.key for p in priority_service.mapped(session, [action.id])[action.id]]


def counts(runtime: Runtime) -> tuple[int, int, int]:
    """(priorities, mappings, history rows)."""
    with unit_of_work(runtime.sessions) as session:
        return (
            session.scalar(select(func.count()).select_from(Priority)) or 0,
            session.scalar(select(func.count()).select_from(action_priorities)) or 0,
            session.scalar(select(func.count()).select_from(Update)) or 0,
        )


def test_admins_add_priorities_and_everyone_lists_them(demo: Runtime, console: Console) -> None:
    assert "No strategic priorities yet" in console("priority list", user=READER)
    out = console("priority add Early identification of need")
    assert "Added P1: Early identification of need" in out
    assert "Added P2: Timely EHCPs" in console("priority add   Timely   EHCPs")
    listed = console("priority list", user=READER)
    assert "P1" in listed and "Early identification of need" in listed
    assert "P2" in listed and "Timely EHCPs" in listed
    assert (
        "Not mapped to any priority: 40 (3 red, 13 amber, 18 green, 5 complete, 1 not rated)"
        in listed
    )


@pytest.mark.parametrize(
    ("command", "user", "answer"),
    [
        ("priority add Inclusion", LEAD_11F, "Only programme managers"),
        ("priority add", ADMIN, "The priority name is empty"),
        ("priority add early IDENTIFICATION of need", ADMIN, "already a priority"),
        ("priority remove P1", ADMIN, "Use `priority list` or `priority add NAME`"),
    ],
)
def test_bad_priority_commands_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, answer: str
) -> None:
    console("priority add Early identification of need")
    before = counts(demo)
    assert answer in console(command, user=user)
    assert counts(demo) == before


def test_map_by_key_number_and_name_and_history_shows_it(demo: Runtime, console: Console) -> None:
    add_priorities(console)
    out = console("map 11f p1 3")
    assert "11F now maps to P1 Early identification of need, P3 Inclusive education" in out
    assert mapping(demo, "11F") == ["P1", "P3"]
    assert "2A.3 now maps to P2 Timely EHCPs" in console("map 2A.3 timely ehcps")
    assert "12B now maps to P1" in console("map 12B Early identification of need, Timely EHCPs")
    assert mapping(demo, "12B") == ["P1", "P2"]

    history = console("history 11F", user=READER)
    assert "strategic priorities changed" in history
    assert "Strategic priorities: P1 Early identification of need, P3 Inclusive education" in (
        history
    )
    # Mapping is not progress: the latest note and staleness stay the lead's.
    with unit_of_work(demo.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        assert action.last_note is not None and "Inclusion adviser" in action.last_note

    before = counts(demo)
    assert "already maps to" in console("map 11F P3 P1")
    assert counts(demo) == before
    assert "11F now maps to no priority" in console("map 11F none")
    assert mapping(demo, "11F") == []


@pytest.mark.parametrize(
    ("command", "user", "answer"),
    [
        ("map 11F P9", ADMIN, "No priority “P9”. The priorities are: P1 Early identification"),
        ("map 11F P1 Wellbeing", ADMIN, "No priority “Wellbeing”"),
        ("map 11F 7", ADMIN, "No priority “7”"),
        ("map 11F", ADMIN, "Map 11F to which priorities?"),
        ("map", ADMIN, "Map which action?"),
        ("map 11G P1", ADMIN, "No action 11G"),
        ("map 11F P1", LEAD_11F, "Only programme managers"),
    ],
)
def test_bad_maps_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, answer: str
) -> None:
    add_priorities(console)
    console("map 11F P2")
    before = counts(demo)
    assert answer in console(command, user=user)
    assert counts(demo) == before
    assert mapping(demo, "11F") == ["P2"]


def test_map_with_no_priorities_says_how_to_add_them(console: Console) -> None:
    assert "no strategic priorities yet" in console("map 11F P1")


def test_summary_by_priority_and_the_matrix(console: Console) -> None:
    add_priorities(console)
    console("map 11F P1 P3")  # red, Graduated Response
    console("map 12B P1")  # red, Graduated Response
    console("map 2A.3 P1")  # amber, Joint Commissioning
    out = console("summary  By Priority", user=READER)
    assert "summary by strategic priority" in out
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines() if line[:2] == "P1"}
    # P1: 2 red, 1 amber, 0 green, 0 complete, 0 not rated, 0 closed, 3 actions
    assert rows["P1 Early identification of need"][-7:] == ["2", "1", "0", "0", "0", "0", "3"]
    unmapped = next(line for line in out.splitlines() if line.startswith("Not mapped"))
    # the five finished actions are Complete (BRAG's blue), not green
    assert unmapped.split()[-7:] == ["1", "12", "18", "5", "1", "6", "37"]
    graduated = next(line for line in out.splitlines() if line.startswith("Graduated Response"))
    assert "2 (2 red)" in graduated and "1 (1 red)" in graduated
    assert "5 (1 red, 4 amber)" in graduated
    commissioning = next(line for line in out.splitlines() if line.startswith("Joint Comm"))
    assert "1 (1 amber)" in commissioning


def test_summary_by_priority_without_priorities(console: Console) -> None:
    assert "priority add NAME" in console("summary by priority")


def test_summary_by_priority_reads_in_constant_statements(
    demo: Runtime, console: Console, count_statements: Callable[[Callable[[], object]], int]
) -> None:
    add_priorities(console)
    few = count_statements(lambda: console("summary by priority"))
    for ref in ("11F", "12B", "12C", "2A.3", "2A.4", "2B", "7A", "9A"):
        console(f"map {ref} P1 P2 P3")
    assert count_statements(lambda: console("summary by priority")) == few


def test_map_priorities_for_the_tracker_column(demo: Runtime, console: Console) -> None:
    """What the importer calls with a row's "Strategic priority" names."""
    console("priority add Early identification of need")
    with unit_of_work(demo.sessions) as session:
        plan = current_plan(session, demo.clock(), create=True)
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        chosen = priority_service.map_priorities(
            session, plan.id, action, ["early identification of NEED", "Preparing for adulthood"]
        )
        assert [(p.key, p.name) for p in chosen] == [
            ("P1", "Early identification of need"),
            ("P2", "Preparing for adulthood"),
        ]
        # the column is the truth for the row: a second import replaces the mapping
        chosen = priority_service.map_priorities(session, plan.id, action, ["P2", ""])
        assert [p.key for p in chosen] == ["P2"]
    assert mapping(demo, "11F") == ["P2"]

    before = counts(demo)
    with (
        pytest.raises(NotFound, match="No priority “Wellbeing”"),
        unit_of_work(demo.sessions) as session,
    ):
        plan = current_plan(session, demo.clock(), create=True)
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        priority_service.map_priorities(session, plan.id, action, ["P1", "Wellbeing"], create=False)
    assert counts(demo) == before
    assert mapping(demo, "11F") == ["P2"]


def test_tally_words_never_rest_on_colour() -> None:
    tally = priority_service.Tally()
    assert tally.words() == "0" and tally.worst is None
    tally.add("amber", "in progress", 2)
    tally.add(None, "not started", 1)
    tally.add("green", "signed off", 1)
    # a signed-off action is Complete, whatever its last rating
    assert tally.words() == "4 (2 amber, 1 complete, 1 not rated)"
    assert (tally.closed, tally.worst) == (1, "amber")
    finished = priority_service.Tally()
    finished.add("green", "complete", 2)
    finished.add(None, "signed off", 1)
    assert finished.words() == "3 (3 complete)" and finished.worst == "complete"
