"""`kpi add`: a programme manager defines a measure in chat, in one line; the definition is
kept in the measure's history; anything the bot cannot read or find is refused, naming it,
and nothing is added."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.commands import execute
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services import kpis
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.store.db import unit_of_work
from bot.store.models import Measure, MeasureEdit
from tests.conftest import ADMIN, LEAD_11F, READER, Console, person_of
from tests.slack_fixtures import SlackHarness, text_of
from tests.slack_fixtures import served_slack_app as served_slack_app

FULL = (
    "kpi add % of EHCPs issued within 20 weeks, excluding exceptions; %; higher is better; "
    "baseline 42% at 2026-03-31; target 75% by Mar 2027; owner alison.whitfield@demo.example; "
    "evidences 11F, 12B, graduated response; monthly; source SEN2 return"
)


def measure_count(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Measure)) or 0


def test_an_admin_defines_a_measure_and_its_owner_records_a_figure(
    demo: Runtime, console: Console
) -> None:
    out = console(FULL, user=ADMIN)
    assert "Added K1 % of EHCPs issued within 20 weeks, excluding exceptions." in out
    assert "Baseline: 42% at 31 Mar 2026" in out and "Target: 75% by 31 Mar 2027" in out
    assert "Owner: @Alison Whitfield" in out
    assert "Evidences: Graduated Response, 11F, 12B" in out and "Reported: monthly" in out

    shown = console("kpi show K1", user=READER)
    assert "Defined: Mon 23 Nov 2026 10:00 by Sophie Carrington" in shown
    assert "Source: SEN2 return" in shown
    with unit_of_work(demo.sessions) as session:
        [edit] = session.scalars(select(MeasureEdit)).all()
        assert (edit.field, edit.old, edit.person_id, edit.source) == (
            "created",
            None,
            person_of(session, ADMIN),
            "console",
        )
        assert (
            edit.new == "%, higher is better; baseline 42% at 2026-03-31; target 75% by 2027-03-31"
        )

    # Alison owns it, so she records its figures; the new measure is judged like any other
    assert "Recorded K1 44% for Oct 2026" in console("kpi record K1 44 2026-10", user=LEAD_11F)
    assert "K1" in console("kpi list", user=READER)

    second = console(
        "kpi add Tribunal appeals rate | % | lower is better | baseline 2.1 at 31/03/2026 | "
        "target 1.5 by 31/03/2027 | quarterly",
        user=ADMIN,
    )
    assert "Added K2 Tribunal appeals rate" in second and "Owner: none yet" in second


def test_the_words_a_programme_manager_types_are_read(demo: Runtime, console: Console) -> None:
    out = console(
        "kpi add Attendance of children with an EHCP; unit percentage; better: higher; "
        "baseline 88.5 as at 2026-03-31; target 91 by 2027-07-31; id K7; "
        "definition Overall attendance, pupils with an EHCP, all schools; reported termly; "
        "workstreams joint working | owner <@U0DEMO05|alison>",
        user=ADMIN,
    )
    assert "Added K7 Attendance of children with an EHCP" in out
    assert "Owner: @Alison Whitfield" in out  # a Slack mention, which holds a `|` of its own
    assert "Reported: termly" in out
    shown = console("kpi show K7", user=READER)
    assert "Overall attendance, pupils with an EHCP, all schools" in shown
    # the next one given continues after the id given
    assert "Added K8" in console(
        "kpi add Suspensions; number; lower; baseline 120 at 2026-03-31; target 90 by 2027-03-31",
        user=ADMIN,
    )


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("kpi add", "Give the measure's name"),
        ("kpi add EHCPs in 20 weeks", "Give the measure's name, then its unit"),
        (
            "kpi add EHCPs in 20 weeks; %; baseline 42 at 2026-03-31",
            "needs which way is better (higher is better, lower is better); the target",
        ),
        (
            "kpi add X; furlongs; higher; baseline 1 at 2026-03-31; target 2 by 2027-03-31",
            "“furlongs” is not part of a measure",
        ),
        (
            "kpi add X; unit furlongs; higher; baseline 1 at 2026-03-31; target 2 by 2027-03-31",
            "“furlongs” is not a unit",
        ),
        (
            "kpi add X; %; higher; baseline lots at 2026-03-31; target 2 by 2027-03-31",
            "The baseline: “lots” is not a number",
        ),
        (
            "kpi add X; %; higher; baseline 40 at someday; target 2 by 2027-03-31",
            "The baseline's date “someday” is not a date",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2026-03-31; target 120 by 2027-03-31",
            "A percentage's target is between 0 and 100, not 120",
        ),
        (
            "kpi add X; days; lower; baseline 40 at 2026-03-31; target -2 by 2027-03-31",
            "A target in days cannot be negative",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2027-03-31; target 50 by 2026-03-31",
            "The target date (2026-03-31) must come after the baseline date",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2026-03-31; target 50 by 2027-03-31; "
            "evidences 11G",
            "No action 11G",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2026-03-31; target 50 by 2027-03-31; "
            "evidences pastoral care",
            "“pastoral care” is neither an action's ref nor a workstream",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2026-03-31; target 50 by 2027-03-31; "
            "owner @nobody",
            "No one called",
        ),
        (
            "kpi add X; %; higher; baseline 40 at 2026-03-31; target 50 by 2027-03-31; id 7",
            "“7” is not a measure id",
        ),
        (
            "kpi add Jamie Smith 12/03/2015 waits; %; higher; baseline 40 at 2026-03-31; "
            "target 50 by 2027-03-31",
            "looks like it holds",
        ),
    ],
)
def test_bad_definitions_are_refused_and_add_nothing(
    demo: Runtime, console: Console, command: str, says: str
) -> None:
    out = console(command, user=ADMIN)
    assert says in out
    assert "Added" not in out
    assert measure_count(demo) == 0


def test_only_admins_define_measures_and_names_are_not_repeated(
    demo: Runtime, console: Console
) -> None:
    refused = console(FULL, user=LEAD_11F)
    assert "Only programme managers (admins) can define a measure" in refused
    assert measure_count(demo) == 0
    console(FULL, user=ADMIN)
    again = console(FULL.replace("% of EHCPs", "% OF  ehcps"), user=ADMIN)
    assert "K1 is already called" in again
    taken = console(
        "kpi add Other; %; higher; baseline 1 at 2026-03-31; target 2 by 2027-03-31; id K1",
        user=ADMIN,
    )
    assert "K1 is taken" in taken
    assert measure_count(demo) == 1


def test_help_shows_kpi_add(demo: Runtime, console: Console) -> None:
    assert "kpi add NAME; UNIT; higher|lower is better" in console("help", user=ADMIN)


def test_kpi_add_through_a_signed_slack_request(demo: Runtime, slack: SlackHarness) -> None:
    added = slack.reply(
        "kpi add Tribunal appeals rate; %; lower is better; baseline 4.2 at 2026-03-31; "
        "target 2.5 by 2027-03-31; owner <@U0DEMO05|alison>; evidences 9B",
        ADMIN,
    )
    assert added["response_type"] == "ephemeral"
    said = " ".join(text_of(added))
    assert "Added K1" in said and "Evidences:" in said and "9B" in said
    refused = slack.reply(FULL, LEAD_11F)
    assert "Only programme managers (admins) can define a measure" in " ".join(text_of(refused))
    assert measure_count(demo) == 1


# --- kpi edit -----------------------------------------------------------------------------------


def definition(runtime: Runtime) -> tuple[object, ...]:
    """K1's definition as stored, and how many history rows it has."""
    with unit_of_work(runtime.sessions) as session:
        m = session.scalars(select(Measure).where(Measure.short_id == "K1")).unique().one()
        n_edits = session.scalar(select(func.count()).select_from(MeasureEdit)) or 0
        owner = m.owner.email if m.owner else None
        linked = sorted([w.name for w in m.workstreams] + [a.ref for a in m.actions])
        return (m.unit, m.target_value, m.target_date, m.baseline_value, owner, *linked, n_edits)


def test_an_admin_changes_a_measure_and_its_history_keeps_old_and_new(
    demo: Runtime, console: Console
) -> None:
    console(FULL, user=ADMIN)
    out = console(
        "kpi edit K1 target 80% by Jun 2027; owner sophie.carrington@demo.example; "
        "evidences 11F; source SEN2 and the case system",
        user=ADMIN,
    )
    assert "Changed K1 " in out
    assert "target value 75 → 80" in out and "target date 2027-03-31 → 2027-06-30" in out
    assert "owner Alison Whitfield" in out and "→ Sophie Carrington" in out
    assert "evidences Graduated Response, 11F, 12B → 11F" in out
    assert "source SEN2 return → SEN2 and the case system" in out

    shown = console("kpi show K1", user=READER)
    assert "Target: 80% by 30 Jun 2027" in shown or "80% by Jun 2027" in shown
    assert "Definition changed:" in shown and "target value 75 → 80 (Sophie Carrington" in shown
    assert "U0DEMO" not in shown  # people by name, not platform ids
    with unit_of_work(demo.sessions) as session:
        edits = session.scalars(select(MeasureEdit).order_by(MeasureEdit.id)).all()
        assert [e.field for e in edits] == [
            "created",
            "target value",
            "target date",
            "source",
            "owner",
            "evidences",
        ]
        admin = person_of(session, ADMIN)
        assert all(e.person_id == admin and e.source == "console" for e in edits)


@pytest.mark.parametrize(
    ("command", "user", "says"),
    [
        ("kpi edit K1 target 80% by Jun 2027", LEAD_11F, "Only programme managers"),
        ("kpi edit K9 target 80% by Jun 2027", ADMIN, "K9"),
        ("kpi edit K1", ADMIN, "Which measure, and what changes?"),
        ("kpi edit K1 target 120 by Jun 2027", ADMIN, "between 0 and 100, not 120"),
        ("kpi edit K1 target 80 by 2025-01-31", ADMIN, "must come after the baseline date"),
        ("kpi edit K1 baseline lots at 2026-03-31", ADMIN, "“lots” is not a number"),
        ("kpi edit K1 colour blue", ADMIN, "“colour blue” is not part of a measure"),
        ("kpi edit K1 id K5", ADMIN, "A measure keeps its id"),
        ("kpi edit K1 owner @nobody", ADMIN, "No one called"),
        ("kpi edit K1 evidences 11G", ADMIN, "No action 11G"),
        ("kpi edit K1 definition Jamie Smith 12/03/2015 waits", ADMIN, "looks like it holds"),
        ("kpi edit K1 target 75% by 2027-03-31", ADMIN, "K1 already says that"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, says: str
) -> None:
    console(FULL, user=ADMIN)
    before = definition(demo)
    out = console(command, user=user)
    assert says in out and "Changed" not in out
    assert definition(demo) == before


def test_kpi_edit_through_a_signed_slack_request(demo: Runtime, slack: SlackHarness) -> None:
    slack.reply(FULL, ADMIN)
    changed = " ".join(text_of(slack.reply("kpi edit K1 quarterly; lower is better", ADMIN)))
    assert "Changed K1" in changed
    assert "better higher → lower" in changed and "frequency monthly → quarterly" in changed
    refused = slack.reply("kpi edit K1 monthly", LEAD_11F)
    assert "Only programme managers" in " ".join(text_of(refused))
    with unit_of_work(demo.sessions) as session:
        m = session.scalars(select(Measure)).unique().one()
        assert (m.better, m.frequency) == ("lower", "quarterly")


def test_two_edits_at_once_are_recorded_one_after_the_other(
    demo: Runtime, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both admins' edits read the measure before either writes; the second still records the
    first's new target as its old one, and the measure ends with one of them."""
    console(FULL, user=ADMIN)
    both_read = threading.Barrier(2, timeout=10)
    find = kpis.find_measure

    def find_then_wait(*args: Any) -> Any:
        found = find(*args)
        both_read.wait()
        return found

    monkeypatch.setattr(kpis, "find_measure", find_then_wait)
    replies: list[str] = []

    def edit(target: int) -> None:
        caller = Caller(user_id=ADMIN, channel_id=CONSOLE_CHANNEL)
        reply = execute(demo, caller, f"kpi edit K1 target {target}% by Jun 2027")
        replies.append(render_text(reply))

    threads = [threading.Thread(target=edit, args=(t,)) for t in (80, 85)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all("Changed K1" in r for r in replies), replies
    with unit_of_work(demo.sessions) as session:
        moves = [
            (e.old, e.new)
            for e in session.scalars(
                select(MeasureEdit)
                .where(MeasureEdit.field == "target value")
                .order_by(MeasureEdit.id)
            )
        ]
        final = session.scalars(select(Measure)).unique().one().target_value
    assert len(moves) == 2 and moves[0][0] == "75" and moves[1][0] == moves[0][1], moves
    assert f"{final:g}" == moves[1][1]
