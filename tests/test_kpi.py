"""Measures of impact through chat: `kpi list|show|record|chart` in the console (the same
`execute` every platform uses) and in a signed Slack request; the digest and summary
sections; the commentary list. The measures are in tests/kpi_fixtures.py."""

from __future__ import annotations

import json
import struct
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Mapper

from bot import impact
from bot.commands import execute
from bot.domain import Surface
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services import kpis
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.services.digests import DigestFor, build_digest
from bot.store.db import unit_of_work
from bot.store.models import Measure, MeasureActual, Plan
from tests.conftest import ADMIN, LEAD_11F, NOW, READER, Clock, Console
from tests.kpi_fixtures import OWNER_K2, load_demo_measures
from tests.slack_fixtures import SlackHarness, assert_message_within_limits, text_of
from tests.slack_fixtures import served_slack_app as served_slack_app

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def measures(demo: Runtime, tmp_path: Path) -> Runtime:
    load_demo_measures(demo, tmp_path)
    return demo


def figures(runtime: Runtime, short_id: str) -> list[tuple[date, float]]:
    """Every row recorded for a measure, in the order recorded."""
    with unit_of_work(runtime.sessions) as session:
        return [
            (row.period, row.value)
            for row in session.scalars(
                select(MeasureActual)
                .join(Measure, Measure.id == MeasureActual.measure_id)
                .where(Measure.short_id == short_id)
                .order_by(MeasureActual.id)
            )
        ]


def count_figures(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(MeasureActual)) or 0


# --- reading -----------------------------------------------------------------------------


def test_kpi_list_judges_every_measure(measures: Runtime, console: Console) -> None:
    out = console("kpi list", user=READER)
    lines = {line.split()[0]: line for line in out.splitlines() if line[:1] == "K"}
    assert "53.1% (Oct 2026)" in lines["K1"] and "on (53.1%)" in lines["K1"]
    assert "+3.1 points since Sep 2026 (better)" in lines["K1"]
    assert "86.5% by Sep 2027" in lines["K1"]
    assert "58 days (Oct 2026)" in lines["K2"] and "OFF (56.9 days)" in lines["K2"]
    assert "−2 days since Sep 2026 (better)" in lines["K2"]
    assert "103 (Oct 2026)" in lines["K3"] and "OFF (98.3)" in lines["K3"]
    assert "1 of 3 measures with figures on trajectory" in out


def test_kpi_show_has_the_definition_history_and_what_it_evidences(
    measures: Runtime, console: Console
) -> None:
    out = console("kpi show k1", user=READER)
    assert out.startswith("K1 EHCPs issued within 20 weeks")
    assert "% of new EHCPs issued within 20 weeks, excluding exceptions" in out
    assert "Now: 53.1% (Oct 2026), on trajectory (trajectory 53.1% for Oct 2026)" in out
    assert "Baseline: 50% at 30 Sep 2026" in out and "Target: 86.5% by 30 Sep 2027" in out
    assert "Owner: @Alison Whitfield" in out and "Source: SEN2 return" in out
    assert "Evidences: Graduated Response, 11F, 12B" in out
    assert "Two agency EPs started" in out
    # by name, and by an unambiguous part of it
    assert console("kpi show days to first EP assessment").startswith("K2 ")
    assert console("kpi show suspensions").startswith("K3 ")
    assert "Trajectory: 110 by 30 Jun 2026; 100 by 30 Sep 2026" in console("kpi show K3")


def test_an_unknown_measure_suggests_the_nearest(measures: Runtime, console: Console) -> None:
    out = console("kpi show K9")
    assert "No measure “K9”" in out and "Did you mean" in out and "K1" in out
    assert "not a kpi command" in console("kpi draw K1")


def test_no_measures_yet_says_how_to_load_them(demo: Runtime, console: Console) -> None:
    assert "No measures yet" in console("kpi list")
    assert "no measures yet" in console("kpi show K1")


# --- recording ---------------------------------------------------------------------------


def test_the_owner_records_a_figure_and_a_correction_keeps_the_old_one(
    measures: Runtime, console: Console
) -> None:
    out = console("kpi record K2 56 Oct 2026 Agency EP hours doubled", user=OWNER_K2)
    assert "Recorded K2 56 days for Oct 2026" in out
    assert "This corrects 58 days, recorded Mon 23 Nov 2026 10:00" in out
    assert "Now: 56 days (Oct 2026), on trajectory" in out
    assert figures(measures, "K2")[-2:] == [(date(2026, 10, 1), 58.0), (date(2026, 10, 1), 56.0)]
    shown = console("kpi show K2")
    assert "Oct 2026 (replaced)" in shown and "Agency EP hours doubled" in shown


def test_the_period_defaults_to_the_month_just_ended(measures: Runtime, console: Console) -> None:
    # the clock says 23 Nov 2026: the figure is October's
    assert "Recorded K1 54% for Oct 2026" in console("kpi record K1 54", user=LEAD_11F)
    assert "Recorded K1 55% for Nov 2026" in console("kpi record K1 55 2026-11", user=ADMIN)
    assert "Recorded K1 56% for Nov 2026" in console(
        "kpi record EHCPs issued within 20 weeks 56 2026-11-30", user=ADMIN
    )


def test_only_the_owner_or_an_admin_may_record(measures: Runtime, console: Console) -> None:
    before = count_figures(measures)
    out = console("kpi record K1 60 2026-10", user=READER)
    assert "Only K1's owner (Alison Whitfield) or a programme manager (admin)" in out
    assert "Nothing was recorded" in out
    assert "Only K2's owner" in console("kpi record K2 40 2026-10", user=LEAD_11F)
    assert count_figures(measures) == before
    assert "Recorded K2" in console("kpi record K2 40 2026-10", user=ADMIN)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("kpi record K1 fifty 2026-10", "“fifty” is not a number"),
        ("kpi record K1 5O% 2026-10", "“5O%” is not a number"),
        ("kpi record K1 101 2026-10", "K1 is a percentage: 101 is not between 0 and 100"),
        ("kpi record K1 -1 2026-10", "K1 is a percentage: -1 is not between 0 and 100"),
        ("kpi record K2 -3 2026-10", "K2 counts days: a figure cannot be negative"),
        ("kpi record K1 55 2026-12", "Dec 2026 is in the future"),
        ("kpi record K1 55 Jan 2027", "Jan 2027 is in the future"),
        ("kpi record K1 55 2026-13", "“2026-13” is not a month"),
        (
            "kpi record K1 55 2026-10 Jamie Smith DOB 12/03/2015 waited 40 weeks",
            "looks like it holds a date of birth (DOB ••/••/••••)",
        ),
        ("kpi record K1 55 2026-10 pupil A123456789012 late", "a pupil number (UPN A12••••••••••)"),
        ("kpi record K1 55 2026-10 NHS 943 476 5919", "an NHS number (943 ••• ••••)"),
        ("kpi record K9 55", "No measure “K9”"),
        ("kpi record K9", "No measure “K9”"),
        ("kpi record K1 lots", "“lots” is not a number"),
        # with no figure it opens the form; where there are no forms, it says how to type it
        ("kpi record K1", "Type the figure after the measure: kpi record KPI VALUE"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    measures: Runtime, console: Console, command: str, says: str
) -> None:
    before = count_figures(measures)
    out = console(command, user=ADMIN)
    assert says in out
    assert "Recorded" not in out
    assert count_figures(measures) == before


# --- the chart ---------------------------------------------------------------------------


def test_kpi_chart_is_a_png_with_alt_text_and_the_figures_plotted(measures: Runtime) -> None:
    reply = execute(measures, Caller(user_id=READER, channel_id=CONSOLE_CHANNEL), "kpi chart K1")
    [chart] = reply.files
    assert chart.media_type == "image/png" and chart.filename == "K1-trend.png"
    assert chart.data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", chart.data[16:24])  # the IHDR chunk
    assert (width, height) == (800, 360)
    assert 10_000 < len(chart.data) < 500_000
    assert chart.alt_text == (
        "Line chart of K1 EHCPs issued within 20 weeks (%, higher is better). "
        "Baseline 50% at Sep 2026; target 86.5% by Sep 2027. "
        "2 monthly figures from Sep 2026 to Oct 2026: rose from 50% to 53.1%. "
        "Latest is on trajectory (trajectory 53.1% for Oct 2026)."
    )
    assert chart.alt_text in render_text(reply)
    assert "[K1 EHCPs issued within 20 weeks: trend: K1-trend.png" in render_text(reply)

    with unit_of_work(measures.sessions) as session:
        measure = kpis.find_measure(session, 1, "K1")
        drawn, _ = kpis.chart_of(kpis.standing_of(session, measure))
    assert drawn.actuals == [(date(2026, 9, 30), 50.0), (date(2026, 10, 31), 53.1)]
    assert drawn.trajectory == [(date(2026, 9, 30), 50.0), (date(2027, 9, 30), 86.5)]
    assert drawn.target == (date(2027, 9, 30), 86.5)
    assert drawn.png == chart.data


def test_a_chart_with_interim_points_and_no_figures(measures: Runtime, console: Console) -> None:
    with unit_of_work(measures.sessions) as session:
        k3 = kpis.find_measure(session, 1, "K3")
        drawn, alt = kpis.chart_of(impact.judge(k3, []))
    assert [v for _, v in drawn.trajectory] == [120, 110, 100, 90]
    assert drawn.actuals == []
    assert alt.endswith("No figures recorded yet; the chart shows the trajectory only.")


# --- the digest, the summary and commentary ------------------------------------------------


def digest_text(runtime: Runtime) -> str:
    with unit_of_work(runtime.sessions) as session:
        plan_id = session.scalars(select(Plan.id)).one()
        reply = build_digest(
            session,
            runtime.settings,
            runtime.clock(),
            DigestFor(channel_id=CONSOLE_CHANNEL, plan_id=plan_id),
        )
    return render_text(reply)


def test_the_digest_says_how_many_measures_are_on_trajectory_and_what_moved(
    measures: Runtime, clock: Clock, console: Console
) -> None:
    text = digest_text(measures)
    assert "Measures of impact: 1 of 3 measures on trajectory." in text
    off = [line for line in text.splitlines() if line.startswith(("K2 ", "K3 "))]
    assert len(off) == 2
    assert "58 days (Oct 2026)" in off[0] and "56.9 days" in off[0]
    assert "23.5 days by Sep 2027" in off[0]
    assert "103 (Oct 2026)" in off[1] and "90 by Mar 2027" in off[1]
    # the channel's first digest: figures recorded in the last week
    assert "New figures: K1 50% for Sep 2026 (on); K1 53.1% for Oct 2026 (on); K2 60 days" in text

    clock.now = NOW + timedelta(minutes=30)
    console("digest now")
    clock.now = NOW + timedelta(hours=1)
    console("kpi record K2 56 2026-10 Agency EP hours doubled", user=OWNER_K2)
    clock.now = NOW + timedelta(hours=2)
    text = digest_text(measures)
    assert "Measures of impact: 2 of 3 measures on trajectory." in text
    assert "New figures: K2 56 days for Oct 2026 (on)." in text


def test_the_digest_section_costs_the_same_few_statements_for_any_number_of_measures(
    measures: Runtime, count_statements
) -> None:  # type: ignore[no-untyped-def]
    def section() -> None:
        with unit_of_work(measures.sessions) as session:
            kpis.impact_section(session, 1, since=NOW - timedelta(days=7))

    few = count_statements(section)
    with unit_of_work(measures.sessions) as session:
        k1 = kpis.find_measure(session, 1, "K1")
        for n in range(4, 30):
            extra = Measure(
                plan_id=1,
                short_id=f"K{n}",
                number=n,
                name=f"Measure {n}",
                key=f"measure {n}",
                unit="number",
                better="higher",
                baseline_value=0,
                baseline_date=date(2026, 1, 31),
                target_value=10,
                target_date=date(2027, 1, 31),
                trajectory=[],
                owner_id=k1.owner_id,
                created_at=NOW,
                workstreams=list(k1.workstreams),
                actions=list(k1.actions),
            )
            session.add(extra)
            session.flush()
            for month in (8, 9, 10):
                session.add(
                    MeasureActual(
                        measure_id=extra.id,
                        period=date(2026, month, 1),
                        value=month,
                        recorded_at=NOW,
                        source=Surface.IMPORT,
                    )
                )
    assert count_statements(section) == few <= 5


def test_a_plan_without_measures_has_no_measures_section(demo: Runtime, console: Console) -> None:
    assert "Measures of impact" not in digest_text(demo)
    assert "Measures of impact" not in console("summary")


def test_summary_has_the_measures_line_for_the_plan_or_the_workstream(
    measures: Runtime, console: Console
) -> None:
    assert "Measures of impact: 1 of 3 measures on trajectory." in console("summary")
    one = console("summary joint commissioning")
    assert "Measures of impact: 0 of 1 measure on trajectory." in one
    assert "K3 Suspensions of pupils with an EHCP" in one and "K2 " not in one


def test_two_periods_off_trajectory_ask_the_owner_for_commentary(
    measures: Runtime, console: Console
) -> None:
    with unit_of_work(measures.sessions) as session:
        [ask] = kpis.commentary_needed(session, 1)
        assert ask.short_id == "K3"
        assert ask.owner is not None and ask.owner.handle_on("slack") == "U0DEMO05"
        assert ask.periods == [date(2026, 9, 1), date(2026, 10, 1)]
        assert ask.key == f"kpi-commentary:{ask.measure_id}:2026-10-01"
        message = render_text(kpis.commentary_request(ask))
    assert "K3 has been off its trajectory for 2 periods in a row (Sep 2026, Oct 2026)" in message
    assert "Latest 103 (Oct 2026), trajectory 98.3, target 90 by Mar 2027" in message
    # K2 is off for one period only; a figure back on trajectory ends K3's run
    console("kpi record K3 95 2026-11 Restorative practice in 12 schools", user=LEAD_11F)
    with unit_of_work(measures.sessions) as session:
        assert kpis.commentary_needed(session, 1) == []


# --- Slack -------------------------------------------------------------------------------


def test_kpi_commands_through_a_signed_slack_request(
    measures: Runtime, slack: SlackHarness
) -> None:
    listed = slack.reply("kpi list", READER)
    assert listed["response_type"] == "ephemeral"
    assert "EHCPs issued within 20 weeks" in json.dumps(listed)
    assert_message_within_limits(listed)

    recorded = slack.reply("kpi record K1 54.5 2026-11 Panel now weekly", LEAD_11F)
    assert "Recorded K1 54.5% for Nov 2026" in " ".join(text_of(recorded))
    assert figures(measures, "K1")[-1] == (date(2026, 11, 1), 54.5)

    refused = slack.reply("kpi record K1 120 2026-11", LEAD_11F)
    assert "is not between 0 and 100" in " ".join(text_of(refused))
    assert figures(measures, "K1")[-1] == (date(2026, 11, 1), 54.5)

    # a chart is drawn after the acknowledgement, as a board pack is made
    chart = slack.answer_after("kpi chart K1", READER)
    assert chart["response_type"] == "in_channel"
    assert "Line chart of K1" in " ".join(text_of(chart))
    assert_message_within_limits(chart)


def test_a_summary_judges_the_measures_from_plain_rows(measures: Runtime, console: Console) -> None:
    """A summary judges every measure of the plan: its figures are read as rows, and the
    actions the measures evidence are not read at all."""
    loaded: list[str] = []

    def seen(target: object, _context: object) -> None:
        loaded.append(type(target).__name__)

    event.listen(Mapper, "load", seen)
    try:
        text = console("summary")
    finally:
        event.remove(Mapper, "load", seen)
    assert "Measures of impact: 1 of 3 measures on trajectory." in text
    assert "MeasureActual" not in loaded
    assert "Action" not in loaded
