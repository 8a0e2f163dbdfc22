"""The Slack app end to end: served on a local port, driven by signed requests shaped as Slack
sends them, with its Web API calls answered and recorded by a local stand-in."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any
from urllib.request import urlopen

import pytest
from sqlalchemy import create_engine, select

from bot.render.blockkit import (
    ANSWER_ACTION,
    ANSWER_BLOCK,
    ANSWER_CALLBACK,
    NOTE_ACTION,
    NOTE_BLOCK,
    RAG_ACTION,
    RAG_BLOCK,
    STATUS_ACTION,
    STATUS_BLOCK,
    UPDATE_CALLBACK,
)
from bot.replies import ButtonId
from bot.runtime import Runtime
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.store.models import Action, Answer, FollowUp
from tests.conftest import ADMIN, LEAD_11F, READER
from tests.slack_fixtures import (
    SlackHarness,
    assert_message_within_limits,
    assert_view_within_limits,
    everything_sent,
    served_slack_app,  # noqa: F401 (the `slack` fixture)
    text_of,
    view_of,
)
from tests.slack_requests import HttpResult, static_select_state, text_input_state
from tests.slack_standin import SlackStandIn

HOME = {"id": "V_HOME", "type": "home", "callback_id": "", "private_metadata": ""}


def said(body: dict[str, Any]) -> str:
    return " ".join(text_of(body))


def action_11f(runtime: Runtime) -> Action:
    with runtime.sessions() as session:
        found = session.scalars(select(Action).where(Action.ref == "11F")).one()
        session.expunge(found)
        return found


def update_values(rag: str | None, status: str | None, note: str | None) -> dict[str, Any]:
    return {
        RAG_BLOCK: {RAG_ACTION: static_select_state(rag)},
        STATUS_BLOCK: {STATUS_ACTION: static_select_state(status)},
        NOTE_BLOCK: {NOTE_ACTION: text_input_state(note)},
    }


def open_form_from(slack: SlackHarness, click: HttpResult, count: int = 1) -> dict[str, Any]:
    assert click.status == 200, click.text
    return view_of(slack.standin.wait_for("views.open", count)[-1])


def response_post(slack: SlackHarness, name: str | None = None) -> dict[str, Any]:
    """What the app posted to a response_url (by default the latest one Slack handed out)."""
    calls = slack.standin.wait_for(f"response_url:{name or slack.sim.last_response_name}")
    return calls[-1].params


# --- serving and signatures --------------------------------------------------------------------


def test_building_the_app_talks_to_nobody(runtime: Runtime) -> None:
    with SlackStandIn() as standin:
        settings = runtime.settings.model_copy(update={"slack_api_url": standin.url})
        build_app(runtime, make_client(settings))
        assert standin.calls == []


@pytest.mark.parametrize(
    "forgery",
    [
        {"signature": ""},
        {"signature": "v0=" + "0" * 64},
        {"timestamp": int(time.time()) - 301},
    ],
    ids=["missing", "wrong", "older-than-five-minutes"],
)
def test_unsigned_or_stale_requests_are_refused_and_change_nothing(
    demo: Runtime, slack: SlackHarness, forgery: dict[str, Any]
) -> None:
    before = slack.updates()
    typed = slack.sim.slash("update 11F amber Forged note", user_id=LEAD_11F, **forgery)
    form = slack.sim.view_submission(
        UPDATE_CALLBACK,
        update_values("green", None, "Forged"),
        user_id=LEAD_11F,
        private_metadata=json.dumps({"subject": "11F"}),
        **forgery,
    )
    assert (typed.status, form.status) == (401, 401)
    assert slack.updates() == before
    assert action_11f(demo).rag == "red"
    assert slack.standin.calls == []


def test_slacks_url_verification_handshake(slack: SlackHarness) -> None:
    answer = slack.sim.url_verification("a-challenge")
    assert answer.status == 200
    assert answer.json() == {"challenge": "a-challenge"}


def test_healthz_answers_while_the_database_does(slack: SlackHarness) -> None:
    with urlopen(f"{slack.base_url}/healthz", timeout=5) as answer:
        assert (answer.status, answer.read()) == (200, b"ok\n")

    working = slack.runtime.engine
    slack.runtime.engine = create_engine("sqlite:////nonexistent-folder/gone/wsoa.db")
    try:
        with pytest.raises(Exception) as refused:
            urlopen(f"{slack.base_url}/healthz", timeout=5)
        assert getattr(refused.value, "code", None) == 503
    finally:
        slack.runtime.engine.dispose()
        slack.runtime.engine = working


# --- every command -----------------------------------------------------------------------------


def test_help_summary_show_list_mine(demo: Runtime, slack: SlackHarness) -> None:
    help_ = slack.reply("help", READER)
    assert help_["response_type"] == "ephemeral"
    assert "followup add" in json.dumps(help_)

    summary = slack.reply("summary", READER)
    assert summary["response_type"] == "in_channel"
    assert "Graduated Response" in json.dumps(summary)

    shown = slack.reply("show 11F", LEAD_11F)
    assert shown["response_type"] == "ephemeral"
    buttons = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {(b["action_id"], b["value"]) for b in buttons} >= {
        (ButtonId.UPDATE, "11F"),
        (ButtonId.ANSWER, "FU-3"),
    }
    as_reader = slack.reply("show 11F", READER)
    assert not [b for b in as_reader["blocks"] if b["type"] == "actions"]

    amber = slack.reply("list amber", READER)
    assert amber["response_type"] == "ephemeral"
    assert "Amber actions (13)" in json.dumps(amber)

    mine = slack.reply("mine", LEAD_11F)
    assert "12A.1" in json.dumps(mine) and "11F" in json.dumps(mine)
    for body in (help_, summary, shown, amber, mine):
        assert_message_within_limits(body)


def test_a_typed_update_is_recorded_and_refreshes_the_home_tab(
    demo: Runtime, slack: SlackHarness
) -> None:
    answer = slack.reply("update 11F amber in progress Toolkit pilot live", LEAD_11F)
    assert answer["response_type"] == "ephemeral"
    assert "Updated 11F" in said(answer)
    assert action_11f(demo).rag == "amber"
    [published] = slack.standin.wait_for("views.publish")
    assert published.params["user_id"] == LEAD_11F
    assert view_of(published)["type"] == "home"

    refused = slack.reply("update 11F green Not mine to change", READER)
    assert "leads" in said(refused)
    assert action_11f(demo).rag == "amber"
    # A refusal changed nothing, so nobody's Home tab is published again.
    slack.reply("update 11F yellow Wrong word", LEAD_11F)
    time.sleep(0.5)  # a publish would follow the acknowledgement within milliseconds
    assert len(slack.standin.calls_to("views.publish")) == 1


def test_update_with_only_a_ref_opens_the_form(demo: Runtime, slack: SlackHarness) -> None:
    typed = slack.sim.slash("update 11F", user_id=LEAD_11F, trigger_id="trigger-11f")
    assert (typed.status, typed.body) == (200, b"")
    [opened] = slack.standin.wait_for("views.open")
    assert opened.params["trigger_id"] == "trigger-11f"
    view = view_of(opened)
    assert view["callback_id"] == UPDATE_CALLBACK
    assert json.loads(view["private_metadata"])["subject"] == "11F"
    assert_view_within_limits(view)


def test_history_signoff_and_assign(demo: Runtime, slack: SlackHarness) -> None:
    slack.reply("update 11F amber Case conferences extended to two secondaries", LEAD_11F)
    history = slack.reply("history 11F", READER)
    assert "Case conferences extended to two secondaries" in json.dumps(history)

    # 2B is overdue: confirmed first, then signed off
    asked = slack.reply("signoff 2B Objective met, signed off by SEND Ops", ADMIN)
    assert "2B is overdue" in said(asked)
    signed = slack.reply("signoff 2B confirm Objective met, signed off by SEND Ops", ADMIN)
    assert "Signed off 2B" in said(signed)
    refused = slack.reply("signoff 2A.3 Not mine", LEAD_11F)
    assert "programme managers" in said(refused)

    # With "Escape channels, users, and links" on, Slack sends a mention like this.
    assigned = slack.reply("assign 11F <@U0DEMO07|fiona.kerr>", ADMIN)
    assert "Fiona Kerr" in json.dumps(assigned)
    assert [p.handle_on("slack") for p in action_11f(demo).leads] == ["U0DEMO07"]


def test_followups_through_slack(demo: Runtime, slack: SlackHarness) -> None:
    added = slack.reply("followup add 11F How many suspensions this term?", ADMIN)
    label = re.findall(r"FU-\d+", said(added))[0]
    answered = slack.reply(f"followup answer {label} 12 this term, down from 19", LEAD_11F)
    assert "Answer recorded" in said(answered)
    listed = slack.reply("followup list 11F", READER)
    assert "12 this term, down from 19" in json.dumps(listed)
    closed = slack.reply(f"followup close {label}", ADMIN)
    assert f"Closed {label}" in said(closed)
    assert "already closed" in said(slack.reply(f"followup close {label}", ADMIN))


def test_boards_and_digests(demo: Runtime, slack: SlackHarness) -> None:
    added = slack.reply("board add 2027-03-04 14:00 SEND Improvement Board", ADMIN, "C_SIB")
    shown = " ".join(text_of(added))
    assert "Added B-" in shown
    board_id = re.findall(r"B-\d+", shown)[0]
    listed = slack.reply("board list", READER)
    assert "C_SIB" in json.dumps(listed)
    removed = slack.reply(f"board remove {board_id}", ADMIN)
    assert f"Removed {board_id}" in " ".join(text_of(removed))

    preview = slack.reply("digest preview", READER)
    assert preview["response_type"] == "ephemeral"
    now = slack.reply("digest now", ADMIN)
    assert now["response_type"] == "in_channel"
    weekly = slack.reply("digest weekly Monday 09:00", ADMIN)
    assert weekly["response_type"] == "ephemeral"
    assert "every Monday at 09:00" in json.dumps(weekly)
    for body in (preview, now):
        assert_message_within_limits(body)


def test_an_unknown_command_is_answered_privately(slack: SlackHarness) -> None:
    answer = slack.reply("sumary", READER)
    assert answer["response_type"] == "ephemeral"
    assert "summary" in said(answer)


# --- forms and buttons -------------------------------------------------------------------------


def test_update_form_round_trip_from_a_button(demo: Runtime, slack: SlackHarness) -> None:
    view = open_form_from(
        slack, slack.sim.block_action(ButtonId.UPDATE, "11F", LEAD_11F, channel_id="C_BOARD")
    )
    button_url = slack.sim.last_response_name
    assert view["callback_id"] == UPDATE_CALLBACK
    metadata = view["private_metadata"]
    before = slack.updates()

    empty = slack.sim.view_submission(
        UPDATE_CALLBACK, update_values("amber", None, None), LEAD_11F, metadata
    )
    assert empty.json()["response_action"] == "errors"
    assert NOTE_BLOCK in empty.json()["errors"]

    # A lead cannot sign off: the service's refusal is shown in the form.
    signing = slack.sim.view_submission(
        UPDATE_CALLBACK, update_values(None, "signed off", "All done"), LEAD_11F, metadata
    )
    assert signing.json()["response_action"] == "errors"
    assert "programme managers" in signing.json()["errors"][NOTE_BLOCK]
    assert slack.updates() == before

    saved = slack.sim.view_submission(
        UPDATE_CALLBACK,
        update_values("amber", "in progress", "Adviser in post from January"),
        LEAD_11F,
        metadata,
    )
    assert (saved.status, saved.body) == (200, b"")
    action = action_11f(demo)
    assert (action.rag, action.last_note) == ("amber", "Adviser in post from January")
    assert slack.updates() == before + 1
    confirmation = response_post(slack, button_url)
    assert "Updated 11F" in said(confirmation)
    assert confirmation["response_type"] == "ephemeral"
    assert confirmation["replace_original"] is False
    [home] = slack.standin.wait_for("views.publish")
    assert home.params["user_id"] == LEAD_11F
    assert "Adviser in post from January" in json.dumps(view_of(home))


def test_an_update_button_refuses_a_reader_privately(demo: Runtime, slack: SlackHarness) -> None:
    click = slack.sim.block_action(ButtonId.UPDATE, "11F", READER, channel_id="C_BOARD")
    assert click.status == 200
    refusal = response_post(slack)
    assert "leads" in said(refusal) and refusal["response_type"] == "ephemeral"
    assert slack.standin.calls_to("views.open") == []


def test_the_answer_button_and_its_form(demo: Runtime, slack: SlackHarness) -> None:
    # The renderer numbers a second Answer button in one block `…:2`; both are the same button.
    click = slack.sim.block_action(f"{ButtonId.ANSWER}:2", "FU-3", LEAD_11F, channel_id="C_BOARD")
    view = open_form_from(slack, click)
    assert view["callback_id"] == ANSWER_CALLBACK
    assert "Exclusions for CYP with an EHCP" in json.dumps(view)
    assert_view_within_limits(view)
    metadata = view["private_metadata"]

    empty = slack.sim.view_submission(
        ANSWER_CALLBACK, {ANSWER_BLOCK: {ANSWER_ACTION: text_input_state(None)}}, LEAD_11F, metadata
    )
    assert empty.json()["response_action"] == "errors"

    answer = "Yes: the secondary case conferences start in January; 4 schools signed up."
    saved = slack.sim.view_submission(
        ANSWER_CALLBACK,
        {ANSWER_BLOCK: {ANSWER_ACTION: text_input_state(answer)}},
        LEAD_11F,
        metadata,
    )
    assert (saved.status, saved.body) == (200, b"")
    with demo.sessions() as session:
        assert session.scalars(select(Answer.text).where(Answer.followup_id == 3)).all() == [answer]
    assert "Answer recorded on FU-3" in response_post(slack)["text"]
    slack.standin.wait_for("views.publish")


def test_the_answer_button_refuses_someone_who_cannot_answer(
    demo: Runtime, slack: SlackHarness
) -> None:
    click = slack.sim.block_action(ButtonId.ANSWER, "FU-3", READER, channel_id="C_BOARD")
    assert (click.status, click.body) == (200, b"")
    assert "Only the leads for 11F" in response_post(slack)["text"]
    assert slack.standin.calls_to("views.open") == []
    with demo.sessions() as session:
        assert session.get(FollowUp, 3) is not None


# --- App Home ----------------------------------------------------------------------------------


def test_updates_in_a_row_fold_their_home_refreshes_into_one_from_the_newest_data(
    demo: Runtime, slack: SlackHarness
) -> None:
    """A Home is being built and published while the lead sends two more updates: those two
    ask for one more Home between them, built after both, instead of one each."""
    first_publish, let_it_finish = threading.Event(), threading.Event()

    def slow_first(params: dict[str, Any]) -> dict[str, Any]:
        if not first_publish.is_set():
            first_publish.set()
            let_it_finish.wait(10)
        return {"view": {"id": "V_HOME"}}

    slack.standin.answer_with("views.publish", slow_first)
    slack.reply("update 11F amber: first of three", LEAD_11F)
    assert first_publish.wait(10)
    slack.reply("update 11F amber: second of three", LEAD_11F)
    slack.reply("update 11F red: third of three", LEAD_11F)
    time.sleep(0.3)  # the two later refreshes were asked for while the first was publishing
    let_it_finish.set()
    published = slack.standin.wait_for("views.publish", count=2)
    time.sleep(0.5)  # a third publish would follow within milliseconds
    assert len(slack.standin.calls_to("views.publish")) == 2
    assert "third of three" in json.dumps(view_of(published[-1]))


def test_app_home_is_published_when_opened(demo: Runtime, slack: SlackHarness) -> None:
    messages_tab = slack.sim.event({"type": "app_home_opened", "user": LEAD_11F, "tab": "messages"})
    opened = slack.sim.event(
        {"type": "app_home_opened", "user": LEAD_11F, "channel": "D0LEAD", "tab": "home"}
    )
    assert (messages_tab.status, opened.status) == (200, 200)
    [published] = slack.standin.wait_for("views.publish")
    time.sleep(0.2)
    assert len(slack.standin.calls_to("views.publish")) == 1
    assert published.ok and published.params["user_id"] == LEAD_11F
    view = view_of(published)
    assert view["type"] == "home"
    assert_view_within_limits(view)
    shown = json.dumps(view)
    assert all(ref in shown for ref in ("11F", "12B", "12A.1", "FU-3", "Next board meeting"))
    assert ButtonId.UPDATE in shown and ButtonId.ANSWER in shown


def test_an_update_from_app_home_confirms_by_direct_message_despite_a_rate_limit(
    demo: Runtime, slack: SlackHarness
) -> None:
    view = open_form_from(
        slack, slack.sim.block_action(ButtonId.UPDATE, "12B", LEAD_11F, view=HOME)
    )
    slack.standin.fail_next("chat.postMessage", status=429, retry_after=1)
    saved = slack.sim.view_submission(
        UPDATE_CALLBACK,
        update_values(None, None, "Agency EP capacity started"),
        LEAD_11F,
        view["private_metadata"],
    )
    assert saved.status == 200
    limited, delivered = slack.standin.wait_for("chat.postMessage", count=2)
    assert (limited.status, delivered.status) == (429, 200)
    assert delivered.at - limited.at >= 1.0  # Retry-After was honoured
    assert delivered.params["channel"] == LEAD_11F
    assert "Updated 12B" in delivered.params["text"]
    slack.standin.wait_for("views.publish")
    time.sleep(0.3)
    assert len(slack.standin.calls_to("chat.postMessage")) == 2  # delivered once


# --- escaping ----------------------------------------------------------------------------------

HOSTILE_NOTE = "Heads up <!channel> and <@U0EVIL99>: see <https://evil.example|the evidence> & more"
RAW = ("<!channel>", "<@U0EVIL99>", "<https://evil.example|the evidence>", "<https://evil.example")


def test_user_text_can_never_ping_or_smuggle_a_link(demo: Runtime, slack: SlackHarness) -> None:
    responses = [slack.slash(f"update 11F amber {HOSTILE_NOTE}", LEAD_11F)]
    slack.reply("followup add 11F Why? <!channel> <@U0EVIL99>", ADMIN)
    for text, user in [
        ("show 11F", READER),
        ("history 11F", READER),
        ("mine", LEAD_11F),
        ("list amber", READER),
        ("list 11F<!channel>", READER),
        ("followup list", READER),
        ("digest preview", READER),
        ("digest now", ADMIN),
    ]:
        responses.append(slack.slash(text, user))
    slack.sim.event({"type": "app_home_opened", "user": LEAD_11F, "tab": "home"})
    view = open_form_from(
        slack, slack.sim.block_action(ButtonId.UPDATE, "12B", LEAD_11F, view=HOME)
    )
    responses.append(
        slack.sim.view_submission(
            UPDATE_CALLBACK,
            update_values(None, None, HOSTILE_NOTE),
            LEAD_11F,
            view["private_metadata"],
        )
    )
    slack.standin.wait_for("chat.postMessage")
    slack.standin.wait_for("views.publish", count=3)

    sent = everything_sent(slack, responses)
    for raw in RAW:
        assert raw not in sent
    assert "&lt;!channel&gt;" in sent
    assert "&lt;@U0EVIL99&gt;" in sent


# --- the one error handler ---------------------------------------------------------------------


def _boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("the database caught fire")


def _assert_apology(text: str, caplog: pytest.LogCaptureFixture) -> None:
    assert "Sorry, something went wrong" in text
    assert "Traceback" not in text and "caught fire" not in text
    reference = text.split("reference: ")[1][:8]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info


def test_an_unexpected_error_in_a_command_gets_an_apology_with_a_reference(
    demo: Runtime,
    slack: SlackHarness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("bot.slack.listeners.execute", _boom)
    answer = slack.reply("summary", READER)
    assert answer["response_type"] == "ephemeral"
    _assert_apology(said(answer), caplog)


def test_an_unexpected_error_after_a_click_gets_an_apology(
    demo: Runtime,
    slack: SlackHarness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("bot.services.followups.can_answer", _boom)
    click = slack.sim.block_action(ButtonId.ANSWER, "FU-3", LEAD_11F, channel_id="C_BOARD")
    assert click.status == 200
    _assert_apology(response_post(slack)["text"], caplog)


def test_an_unexpected_error_saving_a_form_replaces_it_with_an_apology(
    demo: Runtime,
    slack: SlackHarness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = open_form_from(
        slack, slack.sim.block_action(ButtonId.UPDATE, "11F", LEAD_11F, view=HOME)
    )
    monkeypatch.setattr("bot.services.actions.record_update", _boom)
    saved = slack.sim.view_submission(
        UPDATE_CALLBACK, update_values(None, None, "A note"), LEAD_11F, view["private_metadata"]
    )
    answer = saved.json()
    assert saved.status == 200 and answer["response_action"] == "update"
    _assert_apology(json.dumps(answer["view"]["blocks"]), caplog)
