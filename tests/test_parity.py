"""The parity matrix, generated from the core's registries: every command (its usage lines that
need no values, and every example) on a three-point and a five-point plan, through the console, a
signed Slack request and a Teams activity, gets an answer and no apology; every button of the
interaction table, harvested from real replies, pressed on Slack and on Teams does what its entry
says, and every form it opens, submitted as the platform's client would, is saved.

Adding a command, an example or a button adds its rows here with no new test code; a button that
no reply offers fails `test_every_button_is_offered_by_some_reply`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.commands import COMMANDS, execute, interactions
from bot.commands.registry import WORKING, is_slow
from bot.commands.reports import checkin_reply
from bot.console import run_line
from bot.demo import load_demo
from bot.domain import Rag, Surface
from bot.http.server import RunningServer, start_in_thread
from bot.render import cards
from bot.render.blockkit import form_callback
from bot.replies import ButtonId, Buttons, Reply
from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.store.db import unit_of_work
from bot.store.models import (
    Action,
    Answer,
    BoardMeeting,
    HighlightReport,
    MeasureActual,
    Person,
    Plan,
    Update,
)
from bot.teams import connector as bc
from tests.conftest import ADMIN, LEAD_11F
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.teams_standin import TeamsStandIn
from tests.test_teams_wired import (
    ALISON_AAD,
    NAMES,
    PM_AAD,
    invoke,
    message,
    post,
)

FAILED = re.compile(r"something went wrong on our side|no longer in use", re.IGNORECASE)
PLACEHOLDER = re.compile(r"[A-Z]{2,}|…|\|")


def command_lines(scale: int) -> list[str]:
    """Every example of every command, and each usage line that needs no values (`kpi list`,
    `digest preview`), with the ratings of the plan's scale to list."""
    lines: list[str] = []
    for command in COMMANDS.values():
        for usage in command.usage:
            literal = re.sub(r"\s*\[[^\]]*\]|\s*\([^)]*\)", "", usage).strip()
            if not PLACEHOLDER.search(literal):
                lines.append(literal)
        lines += [re.sub(r"\s*\(opens a form\)$", "", e) for e in command.examples]
    lines += [f"list {rag.value}" for rag in Rag.scale(scale)]
    lines += ["list all", "summary by priority"]
    return list(dict.fromkeys(lines))


@pytest.fixture(params=[3, 5], ids=["three-point", "five-point"])
def plan(request: pytest.FixtureRequest, runtime: Runtime) -> int:
    """The demo partnership with its measures; on five points, some actions rated between."""
    with unit_of_work(runtime.sessions) as session:
        load_demo(session, runtime.clock(), runtime.settings.tz)
        if request.param == 5:
            session.execute(update(Plan).values(rag_scale=5))
            for ref, rag in (("11F", Rag.RED_AMBER), ("12B", Rag.AMBER_GREEN)):
                session.execute(update(Action).where(Action.ref == ref).values(rag=rag.value))
    runtime.settings = runtime.settings.model_copy(
        update={"admins": frozenset({ADMIN, PM_AAD}), "teams_dev": True, "answer_within": 10.0}
    )
    return int(request.param)


@pytest.fixture
def teams(plan: int, runtime: Runtime) -> Iterator[tuple[RunningServer, TeamsStandIn]]:
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as standin:
        for user, aad in (("29:alison", ALISON_AAD), ("29:pm", PM_AAD)):
            email = NAMES[aad].lower().replace(" ", ".") + "@demo.example"
            standin.add_member(user, NAMES[aad], aad, email)
        # Unpaced: the pacing of posts to one conversation is tested on its own
        # (test_teams_connector); here it would only make each command wait.
        connector = bc.Connector(
            tokens=bc.DevTokens(),
            retry=bc.RetryPolicy(base_delay=0.05),
            pacer=bc.Pacer(interval=0.0),
        )
        running = start_in_thread(build_serving_app(runtime, teams=connector))
        try:
            yield running, standin
        finally:
            running.stop()
            connector.close()


def _shown(payload: Any) -> str:
    return cards.unescape(json.dumps(payload, ensure_ascii=False))


# --- every command on every surface ------------------------------------------------------------


def test_every_command_answers_at_the_console(plan: int, runtime: Runtime) -> None:
    for line in command_lines(plan):
        answer = run_line(runtime, ADMIN, line)
        assert answer.strip() and not FAILED.search(answer), (line, answer[:300])


def test_every_command_answers_in_slack(plan: int, slack: SlackHarness) -> None:
    for line in command_lines(plan):
        before = len(slack.standin.calls_to("views.open"))
        told = len(slack.standin.response_posts())
        result = slack.slash(line, ADMIN)
        assert result.status == 200, (line, result.text)
        if is_slow(line):
            # acknowledged at once; the answer follows through the response_url
            later = _wait_for(slack, "response_url", told)
            assert not FAILED.search(_shown(later.params)), (line, _shown(later.params)[:300])
        elif result.body:
            assert not FAILED.search(_shown(result.json())), (line, result.text[:300])
        else:
            # an empty acknowledgement: the command opened a form
            assert len(slack.standin.wait_for("views.open", before + 1)) > before, line


def test_every_command_answers_in_teams(
    plan: int, teams: tuple[RunningServer, TeamsStandIn]
) -> None:
    served, standin = teams
    for line in command_lines(plan):
        before = len(standin.calls)
        status, _ = post(served.url, message(line, standin.service_url, aad=PM_AAD, user="29:pm"))
        assert status == 200, line
        posted = [c for c in standin.calls[before:] if c.kind in ("send", "reply")]
        assert posted, f"no answer to {line!r}"
        if is_slow(line):
            # acknowledged at once ("Working on it"); the answer follows when it is made
            assert any(WORKING in _shown(c.json) for c in posted), line
            posted = _teams_answer_after(standin, before, line)
        for call in posted:
            assert not FAILED.search(_shown(call.json)), (line, _shown(call.json)[:300])


# --- every button and form on every surface ----------------------------------------------------


def _buttons(reply: Reply) -> list[tuple[ButtonId, str]]:
    return [
        (button.action_id, button.value)
        for element in reply.elements
        if isinstance(element, Buttons)
        for button in element.buttons
    ]


def harvest_buttons(runtime: Runtime) -> dict[ButtonId, tuple[str, bool]]:
    """One value for each button, taken from the replies that offer it, and whether it was
    offered to the programme manager (else to the lead of 11F), who presses it: an update's
    Undo, the Update and Answer of `show`, a measure's Record a figure, a check-in's No change
    and Update, the Sign off of a red action's sign-off."""
    lead = Caller(user_id=LEAD_11F, channel_id=CONSOLE_CHANNEL, source=Surface.CONSOLE)
    admin = Caller(user_id=ADMIN, channel_id=CONSOLE_CHANNEL, source=Surface.CONSOLE)
    execute(runtime, admin, "followup add 11F How many SENCOs have been trained?")
    execute(runtime, admin, "kpi edit K1 owner U0DEMO05")
    found: dict[ButtonId, tuple[str, bool]] = {}
    for caller, line in (
        (lead, "update 11F amber Parity check"),
        (lead, "show 11F"),
        (lead, "kpi show K1"),
        (admin, "signoff 12C Objective met"),
    ):
        for button, value in _buttons(execute(runtime, caller, line)):
            found.setdefault(button, (value, caller is admin))
    execute(runtime, admin, "board add 2027-01-20 14:00 SEND Operational Group --reporting")
    with runtime.sessions() as session:
        board = session.scalars(select(BoardMeeting).where(BoardMeeting.reporting)).first()
        person = (
            session.scalars(select(Person).where(Person.name == "Alison Whitfield")).unique().one()
        )
        mine = session.scalars(select(Action).where(Action.ref.in_(["12B"]))).all()
        assert board is not None
        checkin = checkin_reply(runtime.settings, board, person, mine)
    for button, value in _buttons(checkin):
        found.setdefault(button, (value, False))
    return found


def test_every_button_is_offered_by_some_reply(plan: int, runtime: Runtime) -> None:
    assert set(harvest_buttons(runtime)) == set(ButtonId) == set(interactions.BUTTONS)
    assert {entry.opened_by for entry in interactions.FORMS.values()} <= set(ButtonId)


def _recorded(runtime: Runtime) -> int:
    """Rows of what a button or form records: updates, answers, figures, highlight reports."""
    with runtime.sessions() as session:
        return sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Update, Answer, MeasureActual, HighlightReport)
        )


def _form_opened_by(button: ButtonId) -> str | None:
    return next((str(p) for p, e in interactions.FORMS.items() if e.opened_by == button), None)


def _slack_state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What Slack's client sends for a modal left as opened, with each required text filled:
    its placeholder where it shows one (a figure), else a short note."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        element = block.get("element")
        if block.get("type") != "input" or not element:
            continue
        if element["type"] == "static_select":
            option = element.get("initial_option") or element["options"][0]
            state = {"type": "static_select", "selected_option": option}
        else:
            text = element.get("initial_value")
            if not text and not block.get("optional"):
                text = (element.get("placeholder") or {}).get("text") or "Parity check"
            state = {"type": element["type"], "value": text}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def _teams_answer_after(standin: TeamsStandIn, before: int, line: str) -> list[Any]:
    """The posts after the first `before` calls, once one of them is more than the
    acknowledgement of a slow command."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        posted = [c for c in standin.calls[before:] if c.kind in ("send", "reply")]
        if any(c.json.get("attachments") and WORKING not in _shown(c.json) for c in posted):
            return posted
        time.sleep(0.02)
    raise AssertionError(f"no answer followed the acknowledgement of {line!r}")


def _wait_for(slack: SlackHarness, method: str, after: int) -> Any:
    """The first call to `method` (`views.open`, or a post to a response_url) after the first
    `after` of them, waiting for it: Bolt answers after the acknowledgement."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        calls = (
            slack.standin.response_posts()
            if method == "response_url"
            else slack.standin.calls_to(method)
        )
        if len(calls) > after:
            return calls[after]
        time.sleep(0.02)
    raise AssertionError(f"no {method} came")


def test_every_button_and_its_form_on_slack(plan: int, slack: SlackHarness) -> None:
    runtime = slack.runtime
    for button, (value, by_admin) in harvest_buttons(runtime).items():
        before = _recorded(runtime)
        told = len(slack.standin.response_posts())
        opened = len(slack.standin.calls_to("views.open"))
        presser = ADMIN if by_admin else LEAD_11F
        click = slack.sim.block_action(button, value, presser, channel_id="C_BOARD")
        assert click.status == 200, (button, click.text)
        purpose = _form_opened_by(button)
        if purpose is None:
            answer = _wait_for(slack, "response_url", told)
            assert not FAILED.search(_shown(answer.params)), button
            assert _recorded(runtime) > before, f"{button} changed nothing"
            continue
        view = _wait_for(slack, "views.open", opened).json_param("view")
        assert view["callback_id"] == form_callback(purpose), button
        saved = slack.sim.view_submission(
            view["callback_id"], _slack_state(view), LEAD_11F, view["private_metadata"]
        )
        assert saved.status == 200 and not saved.body, (button, saved.text)
        assert _recorded(runtime) > before, f"{purpose} saved nothing"
        # the confirmation, told after the acknowledgement, before the next button
        confirmation = _wait_for(slack, "response_url", told)
        assert not FAILED.search(_shown(confirmation.params)), purpose


def _teams_submission(card: dict[str, Any]) -> dict[str, Any]:
    """What Teams sends for a form card's Save, each input as opened, required text filled."""
    data: dict[str, Any] = {}
    submit: dict[str, Any] = {}

    def walk(node: Any) -> None:
        nonlocal submit
        if isinstance(node, dict):
            kind = str(node.get("type", ""))
            if kind == "Input.ChoiceSet":
                data[node["id"]] = node.get("value") or node["choices"][0]["value"]
            elif kind == "Input.Text":
                data[node["id"]] = (
                    node.get("value")
                    or (node.get("placeholder") if node.get("isRequired") else None)
                    or ("Parity check" if node.get("isRequired") else "")
                )
            elif node.get("verb") == cards.FORM_SUBMIT_VERB:
                submit = node
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    assert submit, "the form card has no Save"
    return {"action": {**submit, "data": {**submit["data"], **data}}}


def test_every_button_and_its_form_on_teams(
    plan: int, runtime: Runtime, teams: tuple[RunningServer, TeamsStandIn]
) -> None:
    served, standin = teams
    url = standin.service_url
    # Alison's first message links her Teams identity to the lead named by her e-mail.
    post(served.url, message("mine", url, aad=ALISON_AAD, user="29:alison", personal=True))
    for button, (value, by_admin) in harvest_buttons(runtime).items():
        before = _recorded(runtime)
        pressed = {"action": {"type": "Action.Execute", "verb": button, "data": {"value": value}}}
        aad, user = (PM_AAD, "29:pm") if by_admin else (ALISON_AAD, "29:alison")
        body = invoke("adaptiveCard/action", pressed, url, aad=aad, user=user)
        status, raw = post(served.url, body)
        answer = json.loads(raw)
        assert status == 200 and not FAILED.search(_shown(answer)), (button, raw[:300])
        purpose = _form_opened_by(button)
        if purpose is None:
            assert _recorded(runtime) > before, f"{button} changed nothing"
            continue
        card = answer["value"]
        assert cards.submission_target(_teams_submission(card)["action"]["data"]) is not None
        assert _teams_submission(card)["action"]["data"]["purpose"] == purpose
        submitted = invoke(
            "adaptiveCard/action", _teams_submission(card), url, aad=ALISON_AAD, user="29:alison"
        )
        status, raw = post(served.url, submitted)
        assert status == 200 and not FAILED.search(raw.decode()), (purpose, raw[:300])
        assert "errors" not in raw.decode() or "Parity" in raw.decode(), (purpose, raw[:300])
        assert _recorded(runtime) > before, f"{purpose} saved nothing"
