"""Recording a measure's figure through the form, on each platform, end to end: a signed Slack
slash command or `kpi show`'s button opens a modal and its view_submission records the figure;
in Teams the same form is a dialog or a card, submitted through `POST /api/messages`. Refusals
(not a number, a percentage over 100, a month to come, a child's details, someone who is not
the owner) are shown beside the field, and nothing is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from bot.http.server import RunningServer, start_in_thread
from bot.render import cards
from bot.render.blockkit import field_block, form_callback
from bot.replies import ButtonId
from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services.forms import FIGURE
from bot.store.db import unit_of_work
from bot.store.models import Identity
from bot.teams import connector as bc
from tests.conftest import ADMIN, LEAD_11F, READER, Console
from tests.kpi_fixtures import load_demo_measures
from tests.slack_fixtures import SlackHarness, assert_view_within_limits, text_of, view_of
from tests.slack_fixtures import served_slack_app as served_slack_app
from tests.slack_requests import static_select_state, text_input_state
from tests.teams_specs import card_errors
from tests.teams_standin import TeamsStandIn
from tests.test_kpi import count_figures, figures
from tests.test_teams_wired import (
    ALISON_AAD,
    PM_AAD,
    READER_AAD,
    check_posted,
    invoke,
    message,
    post,
    shown,
)
from tests.test_teams_wired import standin as standin

CALLBACK = form_callback(FIGURE)


@pytest.fixture
def measures(demo: Runtime, tmp_path: Path) -> Runtime:
    load_demo_measures(demo, tmp_path)
    return demo


def figure_values(
    value: str | None, period: str | None, note: str | None = None, measure: str | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        field_block(FIGURE, "figure"): {"figure": text_input_state(value)},
        field_block(FIGURE, "period"): {"period": text_input_state(period)},
        field_block(FIGURE, "note"): {"note": text_input_state(note)},
    }
    if measure is not None:
        values[field_block(FIGURE, "measure")] = {"measure": static_select_state(measure)}
    return values


def opened_view(slack: SlackHarness, count: int = 1) -> dict[str, Any]:
    return view_of(slack.standin.wait_for("views.open", count)[-1])


# --- the console: the form's words where there are no forms --------------------------------


def test_kpi_record_without_a_figure_asks_for_the_form(measures: Runtime, console: Console) -> None:
    out = console("kpi record K1", user=LEAD_11F)
    assert "Type the figure after the measure" in out
    # someone who may not record it is refused before any form opens
    refused = console("kpi record K1", user=READER)
    assert "Only K1's owner (Alison Whitfield) or a programme manager" in refused
    assert "You own no measure" in console("kpi record", user=READER)


# --- Slack ---------------------------------------------------------------------------------


def test_a_figure_recorded_through_the_slack_form(measures: Runtime, slack: SlackHarness) -> None:
    typed = slack.slash("kpi record K1", LEAD_11F)
    assert (typed.status, typed.body) == (200, b"")
    view = opened_view(slack)
    assert_view_within_limits(view)
    assert view["callback_id"] == CALLBACK
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {field_block(FIGURE, f) for f in ("figure", "period", "note")} <= blocks
    assert field_block(FIGURE, "measure") not in blocks  # the measure is the one given
    [period] = [b for b in view["blocks"] if b.get("block_id") == field_block(FIGURE, "period")]
    assert period["element"]["initial_value"] == "Oct 2026"  # the month just ended
    metadata = view["private_metadata"]
    before = count_figures(measures)

    def submit(values: dict[str, Any]) -> dict[str, Any]:
        answer = slack.sim.view_submission(CALLBACK, values, LEAD_11F, metadata)
        assert answer.status == 200, answer.text
        return answer.json() if answer.body else {}

    refusals = [
        (figure_values("fifty", "Oct 2026"), "figure", "“fifty” is not a number"),
        (figure_values("101", "Oct 2026"), "figure", "is not between 0 and 100"),
        (figure_values("55", "Dec 2026"), "period", "Dec 2026 is in the future"),
        (figure_values("55", "Smarch"), "period", "is not a month"),
        (
            figure_values("55", "Oct 2026", "Jamie Smith DOB 12/03/2015 waited 40 weeks"),
            "note",
            "date of birth",
        ),
    ]
    for values, field, says in refusals:
        answer = submit(values)
        assert answer["response_action"] == "errors", says
        assert says in answer["errors"][field_block(FIGURE, field)]
    assert count_figures(measures) == before

    assert submit(figure_values("54.5", "Nov 2026", "Panel now weekly")) == {}
    assert figures(measures, "K1")[-1] == (date(2026, 11, 1), 54.5)
    confirmation = slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    said = " ".join(text_of(confirmation[-1].params))
    assert "Recorded K1 54.5% for Nov 2026" in said


def test_kpi_show_offers_the_form_to_the_owner_only(measures: Runtime, slack: SlackHarness) -> None:
    shown_to_owner = json.dumps(slack.reply("kpi show K1", LEAD_11F))
    assert ButtonId.RECORD_FIGURE in shown_to_owner and "Record a figure" in shown_to_owner
    assert ButtonId.RECORD_FIGURE not in json.dumps(slack.reply("kpi show K1", READER))

    click = slack.sim.block_action(ButtonId.RECORD_FIGURE, "K1", LEAD_11F, channel_id="C_BOARD")
    assert click.status == 200
    view = opened_view(slack)
    assert view["callback_id"] == CALLBACK

    # a reader who presses a stale button is told why, privately, and no form opens
    refused = slack.sim.block_action(ButtonId.RECORD_FIGURE, "K1", READER, channel_id="C_BOARD")
    assert refused.status == 200
    answer = slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    assert "Only K1's owner" in " ".join(text_of(answer[-1].params))
    assert len(slack.standin.calls_to("views.open")) == 1


def test_an_admin_chooses_the_measure_in_the_slack_form(
    measures: Runtime, slack: SlackHarness
) -> None:
    assert slack.slash("kpi record", ADMIN).status == 200
    view = opened_view(slack)
    [choice] = [b for b in view["blocks"] if b.get("block_id") == field_block(FIGURE, "measure")]
    options = [o["value"] for o in choice["element"]["options"]]
    assert options == ["K1", "K2", "K3"]
    metadata = view["private_metadata"]
    missing = slack.sim.view_submission(CALLBACK, figure_values("40", "Oct 2026"), ADMIN, metadata)
    assert field_block(FIGURE, "measure") in missing.json()["errors"]
    saved = slack.sim.view_submission(
        CALLBACK, figure_values("40", "2026-10", measure="K2"), ADMIN, metadata
    )
    assert (saved.status, saved.body) == (200, b"")
    assert figures(measures, "K2")[-1] == (date(2026, 10, 1), 40.0)


def test_a_forged_form_for_someone_elses_measure_records_nothing(
    measures: Runtime, slack: SlackHarness
) -> None:
    """The form is checked when saved, not only when opened: a reader's submission is refused."""
    metadata = json.dumps({"purpose": FIGURE, "subject": "K1"})
    before = count_figures(measures)
    answer = slack.sim.view_submission(CALLBACK, figure_values("55", "Oct 2026"), READER, metadata)
    assert "Only K1's owner" in answer.json()["errors"][field_block(FIGURE, "figure")]
    assert count_figures(measures) == before


# --- Teams ---------------------------------------------------------------------------------


@pytest.fixture
def teams_measures(measures: Runtime) -> Runtime:
    """The demo plan with measures, served to Teams in dev mode; Alison Whitfield (K1's owner)
    uses Teams only and is linked by her e-mail, as in tests/test_teams_wired.py."""
    measures.settings = measures.settings.model_copy(
        update={"teams_dev": True, "admins": frozenset({PM_AAD}), "answer_within": 10.0}
    )
    with unit_of_work(measures.sessions) as session:
        session.execute(delete(Identity).where(Identity.external_id == LEAD_11F))
    return measures


@pytest.fixture
def served(teams_measures: Runtime) -> Iterator[RunningServer]:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    running = start_in_thread(build_serving_app(teams_measures, teams=connector))
    yield running
    running.stop()
    connector.close()


def answer_of(served: RunningServer, body: dict[str, Any]) -> dict[str, Any]:
    status, raw = post(served.url, body)
    assert status == 200, raw
    found: dict[str, Any] = json.loads(raw)
    return found


def test_a_figure_recorded_through_a_teams_dialog(
    teams_measures: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    post(served.url, message("kpi record K1", url, aad=ALISON_AAD, user="29:alison"))
    # in a channel the form is a card with a button that opens the dialog, in her personal chat
    [card_post] = standin.wait_for("send")
    assert "Record K1" in shown(card_post)

    fetched = answer_of(
        served,
        invoke(
            "task/fetch",
            {"data": {"msteams": {"type": "task/fetch"}, "purpose": FIGURE, "key": "K1"}},
            url,
            aad=ALISON_AAD,
            user="29:alison",
        ),
    )
    dialog = fetched["task"]["value"]["card"]["content"]
    assert card_errors(dialog) == []
    assert {n["id"] for n in dialog["body"] if "id" in n} == {"figure", "period", "note"}
    [submit] = dialog["actions"]
    before = count_figures(teams_measures)

    def submitted(**values: str) -> dict[str, Any]:
        data = {**submit["data"], **values}
        return answer_of(
            served, invoke("task/submit", {"data": data}, url, aad=ALISON_AAD, user="29:alison")
        )

    for values, says in [
        ({"figure": "120", "period": "Oct 2026"}, "is not between 0 and 100"),
        ({"figure": "lots", "period": "Oct 2026"}, "is not a number"),
        ({"figure": "55", "period": "Jan 2027"}, "Jan 2027 is in the future"),
        ({"figure": "55", "period": "Oct 2026", "note": "NHS 943 476 5919"}, "an NHS number"),
    ]:
        again = submitted(**values)
        assert again["task"]["type"] == "continue", says
        assert says in cards.unescape(json.dumps(again, ensure_ascii=False)), json.dumps(
            again["task"]["value"]["card"]["content"]["body"]
        )
        assert card_errors(again["task"]["value"]["card"]["content"]) == []
    assert count_figures(teams_measures) == before

    assert submitted(figure="56", period="Nov 2026", note="Panel weekly") == {}
    assert figures(teams_measures, "K1")[-1] == (date(2026, 11, 1), 56.0)
    confirmation = standin.wait_for("send", count=2)[1]
    assert "Recorded K1 56% for Nov 2026" in shown(confirmation)
    check_posted(standin)


def test_kpi_shows_button_opens_the_form_in_the_teams_card(
    teams_measures: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    post(served.url, message("kpi show K1", url, aad=ALISON_AAD, user="29:alison", personal=True))
    [shown_card] = standin.wait_for("send")
    [card] = [a["content"] for a in shown_card.json["attachments"]]
    verbs = [a.get("verb") for n in card["body"] if n["type"] == "ActionSet" for a in n["actions"]]
    assert ButtonId.RECORD_FIGURE in verbs

    def press(aad: str, user: str) -> dict[str, Any]:
        action = {"type": "Action.Execute", "verb": ButtonId.RECORD_FIGURE, "data": {"value": "K1"}}
        return answer_of(
            served, invoke("adaptiveCard/action", {"action": action}, url, aad=aad, user=user)
        )

    form = press(ALISON_AAD, "29:alison")["value"]
    assert card_errors(form) == []
    [execute] = form["actions"]
    assert execute["verb"] == cards.FORM_SUBMIT_VERB
    data = {**execute["data"], "figure": "57", "period": "2026-11"}
    submitted = {"action": {"type": "Action.Execute", "verb": cards.FORM_SUBMIT_VERB, "data": data}}
    saved = answer_of(
        served, invoke("adaptiveCard/action", submitted, url, aad=ALISON_AAD, user="29:alison")
    )
    assert "Recorded K1 57% for Nov 2026" in cards.unescape(json.dumps(saved, ensure_ascii=False))
    assert figures(teams_measures, "K1")[-1] == (date(2026, 11, 1), 57.0)

    refused = press(READER_AAD, "29:reader")
    assert "Only K1's owner" in cards.unescape(json.dumps(refused, ensure_ascii=False))
    assert figures(teams_measures, "K1")[-1] == (date(2026, 11, 1), 57.0)


def test_an_admin_chooses_the_measure_in_a_teams_dialog(
    teams_measures: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    fetch = {"data": {"msteams": {"type": "task/fetch"}, "purpose": FIGURE, "key": ""}}
    fetched = answer_of(served, invoke("task/fetch", fetch, url, aad=PM_AAD, user="29:pm"))
    dialog = fetched["task"]["value"]["card"]["content"]
    assert card_errors(dialog) == []
    [choice] = [n for n in dialog["body"] if n.get("id") == "measure"]
    assert [c["value"] for c in choice["choices"]] == ["K1", "K2", "K3"]
    [submit] = dialog["actions"]

    def submitted(**values: str) -> dict[str, Any]:
        data = {**submit["data"], **values}
        return answer_of(
            served, invoke("task/submit", {"data": data}, url, aad=PM_AAD, user="29:pm")
        )

    again = submitted(figure="40", period="2026-10")
    assert "Choose the measure" in cards.unescape(json.dumps(again, ensure_ascii=False))
    assert submitted(measure="K2", figure="40", period="2026-10") == {}
    assert figures(teams_measures, "K2")[-1] == (date(2026, 10, 1), 40.0)
    check_posted(standin)
