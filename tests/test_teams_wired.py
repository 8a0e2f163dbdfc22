"""Teams wired into the core, end to end: activities through `POST /api/messages` on the app
`wsoa serve` builds (`bot.serve.build_serving_app`, under uvicorn), the Bot Connector stand-in
receiving every post. People are found by their Entra object id and linked to leads by the
e-mail the members endpoint gives; the plan, the commands, the forms and the scheduler are the
core's. Also `wsoa serve` and `wsoa tick` as processes, Teams alone (no Slack token)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import delete, select, update

from bot.addresses import Address
from bot.commands.registry import WORKING
from bot.http.server import RunningServer, start_in_thread
from bot.render import cards
from bot.replies import Attachment, ButtonId, Reply
from bot.runtime import Runtime
from bot.serve import build_serving_app
from bot.services.checkins import NO_CHANGE_NOTE, REPORT
from bot.store.db import unit_of_work
from bot.store.models import (
    Action,
    BoardMeeting,
    BoardPackSnapshot,
    Delivery,
    HighlightReport,
    Identity,
    Person,
    Subscription,
    Update,
    action_leads,
)
from bot.teams import connector as bc
from bot.teams.app import POINTER
from bot.teams.sender import TeamsSender
from scheduler.deliveries import tick
from tests.conftest import LEAD_11F, NOW, Clock
from tests.teams_specs import card_errors
from tests.teams_standin import TeamsStandIn

ROOT = Path(__file__).resolve().parent.parent
TENANT = "tenant-1"
BOT = "28:wsoa-dev"
CHANNEL = "19:board@thread.tacv2"
# Entra object ids (GUIDs, as Teams sends them)
ALISON_AAD = "aaaaaaaa-0000-4000-8000-000000000005"  # Alison Whitfield, lead of 11F
READER_AAD = "bbbbbbbb-0000-4000-8000-000000000001"  # leads nothing
PM_AAD = "cccccccc-0000-4000-8000-000000000001"  # the programme manager, an admin by AAD id
HELEN_AAD = "dddddddd-0000-4000-8000-000000000001"  # Helen Marlow, a lead with stale actions
HELEN_SLACK = "U0DEMO01"
MESSAGE_LIMIT = 100 * 1024
NAMES = {
    ALISON_AAD: "Alison Whitfield",
    READER_AAD: "Rita Reader",
    PM_AAD: "Pat Manager",
    HELEN_AAD: "Helen Marlow",
}

_ids = iter(range(1_700_000_000_000, 1_800_000_000_000))


def message(
    text: str,
    url: str,
    *,
    aad: str,
    user: str,
    personal: bool = False,
) -> dict[str, Any]:
    activity_id = str(next(_ids))
    conversation = f"a:personal-{user}" if personal else f"{CHANNEL};messageid={activity_id}"
    body: dict[str, Any] = {
        "type": "message",
        "id": activity_id,
        "serviceUrl": url,
        "channelId": "msteams",
        "from": {"id": user, "name": NAMES.get(aad, "Someone"), "aadObjectId": aad},
        "conversation": {
            "id": conversation,
            "conversationType": "personal" if personal else "channel",
            "tenantId": TENANT,
        },
        "recipient": {"id": BOT, "name": "WSoA"},
        "text": text,
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [],
    }
    if not personal:
        body["text"] = f"<at>WSoA</at> {text}"
        body["entities"].append(
            {"type": "mention", "text": "<at>WSoA</at>", "mentioned": {"id": BOT, "name": "WSoA"}}
        )
        body["channelData"]["channel"] = {"id": CHANNEL}
        body["channelData"]["team"] = {"id": "19:team@thread.tacv2"}
    return body


def invoke(name: str, value: dict[str, Any], url: str, *, aad: str, user: str) -> dict[str, Any]:
    body = message("x", url, aad=aad, user=user, personal=True)
    body.pop("text")
    body.update({"type": "invoke", "name": name, "value": value})
    return body


def post(server_url: str, body: Any, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = Request(server_url + "/api/messages", data=json.dumps(body).encode(), headers=headers)
    try:
        with urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except HTTPError as error:
        return error.code, error.read()


def cards_of(call: Any) -> list[dict[str, Any]]:
    return [a["content"] for a in call.json.get("attachments", [])]


def shown(call: Any) -> str:
    return cards.unescape(json.dumps(call.json, ensure_ascii=False))


def check_posted(standin: TeamsStandIn) -> None:
    """Every post valid Adaptive Cards 1.5 and under Teams' 100 KB."""
    for call in standin.calls:
        if call.kind in ("send", "reply", "update"):
            assert len(json.dumps(call.json).encode()) < MESSAGE_LIMIT
            for card in cards_of(call):
                assert card["version"] == "1.5"
                assert card_errors(card) == [], shown(call)[:300]


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as running:
        running.add_member(
            "29:alison", "Alison Whitfield", ALISON_AAD, "Alison.Whitfield@Demo.example"
        )
        running.add_member("29:reader", "Rita Reader", READER_AAD, "rita.reader@demo.example")
        running.add_member("29:pm", "Pat Manager", PM_AAD, "pat.manager@demo.example")
        running.add_member("29:helen", "Helen Marlow", HELEN_AAD, "helen.marlow@demo.example")
        yield running


@pytest.fixture
def teams_demo(demo: Runtime) -> Runtime:
    """The demo plan, served to Teams in dev mode. Alison Whitfield uses Teams only: her Slack
    identity is gone, and her e-mail in the plan is what links her on first contact."""
    demo.settings = demo.settings.model_copy(
        update={"teams_dev": True, "admins": frozenset({PM_AAD}), "answer_within": 10.0}
    )
    with unit_of_work(demo.sessions) as session:
        session.execute(delete(Identity).where(Identity.external_id == LEAD_11F))
    return demo


@pytest.fixture
def served(teams_demo: Runtime) -> Iterator[RunningServer]:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    running = start_in_thread(build_serving_app(teams_demo, teams=connector))
    yield running
    running.stop()
    connector.close()


def history_of(runtime: Runtime, ref: str) -> list[tuple[str | None, str | None]]:
    with unit_of_work(runtime.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        rows = session.execute(
            select(Person.name, Update.note)
            .join(Person, Person.id == Update.person_id)
            .where(Update.action_id == action.id)
            .order_by(Update.id)
        ).all()
    return [(name, note) for name, note in rows]


def test_a_lead_linked_by_email_updates_and_a_reader_is_refused(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    said = "update 11F amber Pilot live"
    assert post(served.url, message(said, url, aad=READER_AAD, user="29:reader"))[0] == 200
    [refusal] = standin.wait_for("send")
    assert "lead" in shown(refusal) and "Nothing was changed" in shown(refusal)
    assert history_of(teams_demo, "11F")[-1][1] != "Pilot live"

    alison = message(said, url, aad=ALISON_AAD, user="29:alison")
    assert post(served.url, alison)[0] == 200
    sent = standin.wait_for("send", count=2)
    assert "Updated 11F" in shown(sent[1])
    assert sent[1].conversation_id == "a:personal-29:alison"
    assert history_of(teams_demo, "11F")[-1] == ("Alison Whitfield", "Pilot live")
    # Her e-mail came from the members endpoint once, not on every message.
    post(served.url, message("mine", url, aad=ALISON_AAD, user="29:alison"))
    standin.wait_for("send", count=3)
    looked_up = [c for c in standin.calls_of("member") if c.route.endswith("29:alison")]
    assert len(looked_up) == 1
    # The pointers in the thread repeat nothing.
    for pointer in standin.calls_of("reply"):
        assert pointer.json == {"type": "message", "text": POINTER}
    with unit_of_work(teams_demo.sessions) as session:
        identity = session.scalars(select(Identity).where(Identity.external_id == ALISON_AAD)).one()
        assert (identity.platform, identity.workspace) == ("teams", TENANT)
        assert (identity.connector_id, identity.service_url) == ("29:alison", url)
    check_posted(standin)


READS = [
    "help",
    "summary",
    "show 11F",
    "list red",
    "list all",
    "mine",
    "history 11F",
    "followup list",
    "board list",
    "digest preview",
    "priority list",
    "escalate",
    "summary by priority",
    "no-such-command",
]


@pytest.mark.parametrize("personal", [False, True], ids=["channel", "personal"])
def test_every_reading_command_answers_with_valid_cards(
    served: RunningServer, standin: TeamsStandIn, personal: bool
) -> None:
    url = standin.service_url
    for n, text in enumerate(READS, start=1):
        body = message(text, url, aad=PM_AAD, user="29:pm", personal=personal)
        assert post(served.url, body)[0] == 200, text
        posts = [c for c in standin.calls if c.kind in ("send", "reply")]
        assert len(posts) >= n, text
    check_posted(standin)
    if personal:
        assert {c.conversation_id for c in standin.calls_of("send")} == {"a:personal-29:pm"}
        assert standin.calls_of("reply") == []
    else:
        # summary is for the channel, into the thread of the message that asked.
        threads = [c for c in standin.calls_of("reply") if c.json.get("attachments")]
        assert threads and all(";messageid=" in (c.conversation_id or "") for c in threads)


def test_admin_commands_by_aad_id_and_mention_injection(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    evil = "Dangerous <at>Everyone</at> [x](https://evil.example) **b** <!channel>"
    for text in (f"followup add 11F {evil}", "board add 2026-12-01 10:00 Winter board"):
        assert post(served.url, message(text, url, aad=PM_AAD, user="29:pm"))[0] == 200
    standin.wait_for("send", count=2)
    post(served.url, message("followup list", url, aad=READER_AAD, user="29:reader"))
    listing = standin.wait_for("send", count=3)[2]
    raw = json.dumps(listing.json, ensure_ascii=False)
    assert "Dangerous" in shown(listing)
    for live in ("<at>", "](", "**", "https://evil"):
        assert live not in raw
    assert not listing.json.get("entities")
    with unit_of_work(teams_demo.sessions) as session:
        board = session.scalars(
            select(BoardMeeting).where(BoardMeeting.name == "Winter board")
        ).one()
        # The board's digest goes to the channel it was added in, by its regional URL.
        assert board.address is not None
        assert (board.address.platform, board.address.conversation) == ("teams", CHANNEL)
        assert board.address.service_url == url
    check_posted(standin)


def test_the_update_button_and_a_dialog_round_trip(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    post(served.url, message("show 11F", url, aad=ALISON_AAD, user="29:alison", personal=True))
    [shown_card] = standin.wait_for("send")
    [card] = cards_of(shown_card)
    verbs = [a.get("verb") for n in card["body"] if n["type"] == "ActionSet" for a in n["actions"]]
    assert ButtonId.UPDATE in verbs

    pressed = invoke(
        "adaptiveCard/action",
        {"action": {"type": "Action.Execute", "verb": ButtonId.UPDATE, "data": {"value": "11F"}}},
        url,
        aad=ALISON_AAD,
        user="29:alison",
    )
    form = json.loads(post(served.url, pressed)[1])["value"]
    assert card_errors(form) == []
    assert {n["id"] for n in form["body"] if "id" in n} == {"rag", "status", "note"}

    opened = json.loads(
        post(
            served.url,
            invoke(
                "task/fetch",
                {"data": {"msteams": {"type": "task/fetch"}, "purpose": "update", "key": "11F"}},
                url,
                aad=ALISON_AAD,
                user="29:alison",
            ),
        )[1]
    )
    dialog = opened["task"]["value"]["card"]["content"]
    assert card_errors(dialog) == []
    [submit] = dialog["actions"]
    empty = invoke(
        "task/submit", {"data": dict(submit["data"])}, url, aad=ALISON_AAD, user="29:alison"
    )
    again = json.loads(post(served.url, empty)[1])
    assert again["task"]["type"] == "continue"
    assert "Add a note" in json.dumps(again)
    # Only what she changed is a change: the status left as it opened is not re-recorded.
    filled = {**submit["data"], "rag": "red", "note": "Exclusions up again"}
    saved = invoke("task/submit", {"data": filled}, url, aad=ALISON_AAD, user="29:alison")
    assert post(served.url, saved) == (200, b"{}")
    confirmation = standin.wait_for("send", count=2)[1]
    assert "Updated 11F" in shown(confirmation)
    assert history_of(teams_demo, "11F")[-1] == ("Alison Whitfield", "Exclusions up again")

    # A reader pressing Update is told why, in the card.
    refused = invoke(
        "adaptiveCard/action",
        {"action": {"type": "Action.Execute", "verb": ButtonId.UPDATE, "data": {"value": "11F"}}},
        url,
        aad=READER_AAD,
        user="29:reader",
    )
    answer = json.loads(post(served.url, refused)[1])
    assert "Nothing was changed" in cards.unescape(json.dumps(answer, ensure_ascii=False))
    check_posted(standin)


def test_a_429_on_a_reply_is_survived_once(served: RunningServer, standin: TeamsStandIn) -> None:
    standin.fail_next(1, status=429, retry_after=1, kind="reply")
    body = message("summary", standin.service_url, aad=READER_AAD, user="29:reader")
    assert post(served.url, body)[0] == 200
    [answer] = standin.wait_for("reply")
    refused = [c for c in standin.calls if c.status == 429]
    assert len(refused) == 1 and answer.at - refused[0].at >= 0.95
    assert len([c for c in standin.calls_of("reply") if c.ok]) == 1


# --- processes: `wsoa serve` (Teams alone) and concurrent `wsoa tick`s --------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def teams_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    env.update({"WSOA_DATABASE_URL": database_url, "WSOA_TEAMS_DEV": "1", "WSOA_ADMINS": PM_AAD})
    return env


def test_dev_mode_refuses_a_public_host_at_once(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=ROOT,
        env=teams_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "loopback only" in done.stderr


def test_wsoa_serve_answers_teams_alone(
    teams_demo: Runtime, database_url: str, standin: TeamsStandIn
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=teams_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urlopen(url + "/healthz", timeout=2) as health:
                    if health.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "wsoa serve did not start"
            time.sleep(0.2)
        body = message("summary", standin.service_url, aad=READER_AAD, user="29:reader")
        assert post(url, body)[0] == 200
        [answer] = standin.wait_for("reply")
        assert "Graduated Response" in shown(answer)
        check_posted(standin)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_concurrent_ticks_deliver_to_teams_once(
    teams_demo: Runtime, database_url: str, served: RunningServer, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    # Helen, a lead with stale actions, moves to Teams and installs the bot (her personal chat
    # is learned, and her e-mail links her); the PM sets up a board and a weekly digest in the
    # channel.
    with unit_of_work(teams_demo.sessions) as session:
        session.execute(delete(Identity).where(Identity.external_id == HELEN_SLACK))
    installed = message("x", url, aad=HELEN_AAD, user="29:helen", personal=True)
    installed.pop("text")
    installed.update({"type": "conversationUpdate", "membersAdded": [{"id": BOT}]})
    assert post(served.url, installed)[0] == 200
    starts = NOW + timedelta(days=4)
    for text in (
        f"board add {starts:%Y-%m-%d} 10:00 Winter board",
        "digest weekly monday 09:00",
    ):
        assert post(served.url, message(text, url, aad=PM_AAD, user="29:pm"))[0] == 200
    with unit_of_work(teams_demo.sessions) as session:
        board = session.scalars(
            select(BoardMeeting).where(BoardMeeting.name == "Winter board")
        ).one()
        board.digest_hours_before = 96
        # Set up a while ago: this Monday's 09:00 digest is due (a day's catching up allowed).
        session.execute(update(Subscription).values(changed_at=NOW - timedelta(days=30)))
    before = len(standin.calls)

    tickers = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "tick", "--at", NOW.isoformat()],
            cwd=ROOT,
            env=teams_env(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [ticker.communicate(timeout=120) for ticker in tickers]
    for ticker, (_, err) in zip(tickers, outputs, strict=True):
        assert ticker.returncode == 0, err

    posted = [c for c in standin.calls[before:] if c.kind == "send" and c.ok]
    to_channel = [c for c in posted if c.conversation_id == CHANNEL]
    texts = [shown(c) for c in to_channel]
    assert sum("Winter board" in t for t in texts) >= 1
    with unit_of_work(teams_demo.sessions) as session:
        rows = session.scalars(select(Delivery)).all()
        sent = Counter(row.key.split(":")[0] for row in rows if row.state == "sent")
        teams_rows = [r for r in rows if r.address is not None and r.address.platform == "teams"]
    assert sent["board-digest"] >= 1 and sent["weekly"] == 1, [
        (r.key, r.state, r.last_error) for r in rows
    ]
    # Exactly one post per delivery sent to Teams, whatever the number of tickers.
    assert len(posted) == len([r for r in teams_rows if r.state == "sent"]), outputs
    reminders = [c for c in posted if c.conversation_id == "a:personal-29:helen"]
    # One reminder per meeting (the demo's next one and the Winter board), each posted once.
    to_helen = [r for r in rows if r.key.startswith("reminder:") and r.target == "29:helen"]
    assert len(reminders) == len(to_helen) >= 1
    assert {r.state for r in to_helen} == {"sent"}
    check_posted(standin)

    # A later tick posts nothing more.
    again = subprocess.run(
        [sys.executable, "-m", "bot", "tick", "--at", (NOW + timedelta(minutes=5)).isoformat()],
        cwd=ROOT,
        env=teams_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert [c for c in standin.calls[before:] if c.kind == "send" and c.ok] == posted


# --- half the partnership on Slack, half on Teams -----------------------------------------------


def test_a_slack_lead_and_a_teams_lead_see_each_others_updates(
    teams_demo: Runtime, standin: TeamsStandIn
) -> None:
    from bot.slack.app import build_app
    from bot.slack.client import make_client
    from tests.slack_fixtures import SIGNING_SECRET
    from tests.slack_requests import SlackClientSim
    from tests.slack_standin import SlackStandIn

    with unit_of_work(teams_demo.sessions) as session:
        helen_ref = session.scalars(
            select(Action.ref)
            .join(action_leads, action_leads.c.action_id == Action.id)
            .join(Identity, Identity.person_id == action_leads.c.person_id)
            .where(Identity.external_id == HELEN_SLACK)
            .order_by(Action.ref)
        ).first()
    assert helen_ref is not None
    connector = bc.Connector(tokens=bc.DevTokens())
    with SlackStandIn() as slack_standin:
        teams_demo.settings = teams_demo.settings.model_copy(
            update={"slack_api_url": slack_standin.url}
        )
        slack_app = build_app(teams_demo, make_client(teams_demo.settings))
        # One app, one port: Slack's route and Teams' route against one plan.
        server = start_in_thread(build_serving_app(teams_demo, slack=slack_app, teams=connector))
        try:
            slack = SlackClientSim(server.url, SIGNING_SECRET, slack_standin)
            url = standin.service_url
            said = slack.slash(f"update {helen_ref} green Panel agreed", user_id=HELEN_SLACK)
            assert said.status == 200 and "Updated" in said.text
            post(
                server.url,
                message(
                    "update 11F amber Pilot live",
                    url,
                    aad=ALISON_AAD,
                    user="29:alison",
                    personal=True,
                ),
            )
            assert "Updated 11F" in shown(standin.wait_for("send")[0])

            post(
                server.url,
                message(f"show {helen_ref}", url, aad=ALISON_AAD, user="29:alison", personal=True),
            )
            seen_in_teams = standin.wait_for("send", count=2)[1]
            assert "Panel agreed" in shown(seen_in_teams)
            assert "Helen Marlow" in shown(seen_in_teams)
            seen_in_slack = slack.slash("show 11F", user_id=HELEN_SLACK)
            assert "Pilot live" in seen_in_slack.text
            assert "Alison Whitfield" in seen_in_slack.text
        finally:
            server.stop()
            connector.close()


def test_production_answers_401_to_a_missing_or_forged_token_and_posts_nothing(
    teams_demo: Runtime, standin: TeamsStandIn
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.test_teams_app import APP_ID, Keys

    keys = Keys()
    teams_demo.settings = teams_demo.settings.model_copy(
        update={"teams_dev": False, "teams_app_id": APP_ID}
    )
    connector = bc.Connector(tokens=bc.DevTokens())
    server = start_in_thread(build_serving_app(teams_demo, teams=connector, cloud=keys.cloud))
    try:
        url = standin.service_url
        body = message("summary", url, aad=READER_AAD, user="29:reader")
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert post(server.url, body)[0] == 401
        assert post(server.url, body, token=keys.token(url, key=forger))[0] == 401
        time.sleep(0.3)
        assert standin.calls == []
        assert post(server.url, body, token=keys.token(url))[0] == 200
        standin.wait_for("reply")
    finally:
        server.stop()
        connector.close()
        keys.server.shutdown()


def test_a_teams_lead_who_never_installed_the_bot_is_reported_to_the_admins(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    from bot.senders import senders_of
    from bot.serve import teams_sender
    from scheduler.deliveries import tick

    url = standin.service_url
    # The PM has a personal chat with the bot; Helen is named by her AAD id only.
    post(served.url, message("mine", url, aad=PM_AAD, user="29:pm", personal=True))
    standin.wait_for("send")
    with unit_of_work(teams_demo.sessions) as session:
        helen = session.scalars(select(Identity).where(Identity.external_id == HELEN_SLACK)).one()
        helen.platform, helen.external_id, helen.workspace = "teams", HELEN_AAD, TENANT
    connector = bc.Connector(tokens=bc.DevTokens())
    senders = senders_of(teams_sender(teams_demo.settings, connector))
    try:
        first = tick(teams_demo, senders, NOW)
        assert "Helen Marlow has not installed the bot" in str(first)
        tick(teams_demo, senders, NOW + timedelta(minutes=1))
    finally:
        connector.close()
    told = [c for c in standin.calls_of("send") if c.conversation_id == "a:personal-29:pm"][1:]
    assert any("Helen Marlow has not installed the bot" in shown(c) for c in told)
    with unit_of_work(teams_demo.sessions) as session:
        given_up = session.scalars(
            select(Delivery).where(Delivery.last_error.contains("Helen Marlow"))
        ).all()
        assert [row.state for row in given_up] and {row.state for row in given_up} == {"abandoned"}
    # Not tried again: one record, given up at once.
    again = [c for c in standin.calls_of("send") if "Helen" in shown(c)]
    assert len(again) == 1


WRITES = [
    "priority add Inclusion in mainstream schools",
    "map 11F P1",
    f"assign 12B {ALISON_AAD}",
    "signoff 12B confirm Objective met: panel agreed",
    "followup add 11F How many schools are in the pilot?",
    "followup list open",
    "escalate",
    "digest weekly monday 09:00",
    "digest weekly off",
    "digest now",
    "board add 2027-01-14 14:00 SEND Board",
    "board list",
    "kpi list",
]


@pytest.mark.parametrize("personal", [False, True], ids=["channel", "personal"])
def test_admin_commands_answer_with_valid_cards(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn, personal: bool
) -> None:
    url = standin.service_url
    for n, text in enumerate(WRITES, start=1):
        body = message(text, url, aad=PM_AAD, user="29:pm", personal=personal)
        assert post(served.url, body)[0] == 200, text
        posts = [c for c in standin.calls if c.kind in ("send", "reply") and c.ok]
        assert len(posts) >= n, text
        assert "Only programme managers" not in shown(posts[-1]), text
    check_posted(standin)
    with unit_of_work(teams_demo.sessions) as session:
        signed = session.scalars(select(Action).where(Action.ref == "12B")).one()
        assert signed.status == "signed off"


def test_a_thousand_action_plan_stays_within_teams_limits(
    runtime: Runtime, standin: TeamsStandIn
) -> None:
    from tests.test_digest_large import load_plan

    load_plan(runtime, 1000)
    runtime.settings = runtime.settings.model_copy(
        update={"teams_dev": True, "admins": frozenset({PM_AAD}), "answer_within": 30.0}
    )
    connector = bc.Connector(tokens=bc.DevTokens())
    server = start_in_thread(build_serving_app(runtime, teams=connector))
    try:
        url = standin.service_url
        texts = ["summary", "list all", "list red", "list overdue", "followup list all"]
        texts += ["digest preview", "history 1A.1", "show 1A.1", "escalate"]
        for personal in (False, True):
            for text in texts:
                body = message(text, url, aad=PM_AAD, user="29:pm", personal=personal)
                assert post(server.url, body)[0] == 200, text
        check_posted(standin)
        assert len([c for c in standin.calls if c.kind in ("send", "reply")]) >= 2 * len(texts)
        longest = max(len(json.dumps(c.json).encode()) for c in standin.calls if c.json)
        assert longest > 10_000  # big lists really were big, and were cut to fit
    finally:
        server.stop()
        connector.close()


def test_admins_named_by_an_upper_case_object_id_are_admins_in_teams() -> None:
    from bot.config import Settings

    admins = Settings(WSOA_ADMINS=f"{PM_AAD.upper()}, U0DEMOPM, Pat@Example.org").admins
    assert PM_AAD in admins and "U0DEMOPM" in admins and "Pat@Example.org" in admins


def test_an_admin_named_by_email_is_an_admin_in_teams(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    # The e-mail comes from the members endpoint; e-mails compare in any case.
    teams_demo.settings = teams_demo.settings.model_copy(
        update={"admins": frozenset({"Pat.Manager@DEMO.example"})}
    )
    url = standin.service_url
    post(served.url, message("priority add Joint commissioning", url, aad=PM_AAD, user="29:pm"))
    post(served.url, message("priority add Sneaky", url, aad=READER_AAD, user="29:reader"))
    pm_answer, reader_answer = standin.wait_for("send", count=2)
    assert "Only programme managers" not in shown(pm_answer)
    assert "Only programme managers" in shown(reader_answer)


# --- the reporting cycle in Teams ---------------------------------------------------------------

MEETING = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
CHECKINS_DUE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # ten days before
DIGEST_DUE = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # the pre-board digest, with the pack
SECRET = "download-secret"


def execute_action(
    server: str, verb: str, value: str, url: str, *, aad: str, user: str
) -> dict[str, Any]:
    """A card's button pressed: the invoke posted to `server`, from the service at `url`."""
    body = {"action": {"type": "Action.Execute", "verb": verb, "data": {"value": value}}}
    pressed = invoke("adaptiveCard/action", body, url, aad=aad, user=user)
    answer = json.loads(post(server, pressed)[1])
    return answer if isinstance(answer, dict) else {}


def delivered_to(standin: TeamsStandIn, conversation: str, count: int) -> list[Any]:
    """The first `count` activities accepted in `conversation`, waiting for them."""
    deadline = time.monotonic() + 10
    while len(found := standin.delivered(conversation)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(found) >= count, [shown(c)[:200] for c in found]
    return found


def highlight_reports(runtime: Runtime, ref: str) -> list[HighlightReport]:
    with runtime.sessions() as session:
        found = session.scalars(
            select(HighlightReport)
            .join(Action, Action.id == HighlightReport.action_id)
            .where(Action.ref == ref)
        ).all()
        session.expunge_all()
        return list(found)


def test_a_whole_reporting_cycle_in_teams(
    teams_demo: Runtime, clock: Clock, standin: TeamsStandIn
) -> None:
    """A check-in `tick` delivers to a Teams lead's personal chat: No change, the report form
    opened and submitted (as a card and as a dialog), a plain reply; the board's digest links
    its kept pack for download."""
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    app = build_serving_app(teams_demo, teams=connector, download_secret=SECRET)
    running = start_in_thread(app)
    try:
        _reporting_cycle(teams_demo, clock, standin, running, connector)
    finally:
        running.stop()
        connector.close()


def _reporting_cycle(
    demo: Runtime,
    clock: Clock,
    standin: TeamsStandIn,
    running: RunningServer,
    connector: bc.Connector,
) -> None:
    url = standin.service_url
    sender = TeamsSender(
        connector=connector,
        bot_id=BOT,
        public_url=running.url,
        download_secret=SECRET,
        clock=clock,
    )
    # Alison installs the bot (her personal chat is learned); the PM makes a reporting board in
    # the channel, and the demo's other meetings go so that this cycle is the only one.
    installed = message("x", url, aad=ALISON_AAD, user="29:alison", personal=True)
    installed.pop("text")
    installed.update({"type": "conversationUpdate", "membersAdded": [{"id": BOT}]})
    assert post(running.url, installed)[0] == 200
    with demo.sessions() as session:
        others = list(session.scalars(select(BoardMeeting.id)))
    said = "board add 2026-12-10 14:00 SEND Improvement Board --reporting"
    for text in [said, *(f"board remove B-{other}" for other in others)]:
        assert post(running.url, message(text, url, aad=PM_AAD, user="29:pm"))[0] == 200
    with demo.sessions() as session:
        board_id = session.scalars(select(BoardMeeting.id).where(BoardMeeting.reporting)).one()

    clock.now = CHECKINS_DUE
    before = len(standin.calls)
    report = tick(demo, sender, CHECKINS_DUE)
    assert any(k.startswith("checkin:") and k.endswith(":29:alison") for k in report.sent), (
        report.sent
    )
    [checkin] = [
        c
        for c in standin.calls[before:]
        if c.kind == "send" and c.ok and c.conversation_id == "a:personal-29:alison"
    ]
    [card] = cards_of(checkin)
    pressable = [
        (a["verb"], a["data"]["value"])
        for n in card["body"]
        if n["type"] == "ActionSet"
        for a in n["actions"]
    ]
    assert (ButtonId.NO_CHANGE, f"12B B-{board_id}") in pressable
    assert (ButtonId.REPORT, f"17A B-{board_id}") in pressable
    check_posted(standin)

    # No change: one click, answered in the card.
    clock.now = CHECKINS_DUE + timedelta(hours=1)
    alison = {"aad": ALISON_AAD, "user": "29:alison"}
    answer = execute_action(running.url, ButtonId.NO_CHANGE, f"12B B-{board_id}", url, **alison)
    assert "Reported 12B: no change" in cards.unescape(json.dumps(answer, ensure_ascii=False))
    [kept] = highlight_reports(demo, "12B")
    assert kept.no_change and kept.board_id == board_id
    assert history_of(demo, "12B")[-1] == ("Alison Whitfield", NO_CHANGE_NOTE)
    # A reader's click is refused and records nothing.
    refused = execute_action(
        running.url, ButtonId.NO_CHANGE, f"12B B-{board_id}", url, aad=READER_AAD, user="29:reader"
    )
    assert "Reported" not in json.dumps(refused)
    assert len(highlight_reports(demo, "12B")) == 1

    # Update: the report form, in the card; red without the barrier is refused beside it.
    opened = execute_action(running.url, ButtonId.REPORT, f"17A B-{board_id}", url, **alison)
    form = opened["value"]
    assert card_errors(form) == []
    ids = {n["id"] for n in form["body"] if "id" in n}
    assert {"rag", "progress", "planned", "barriers", "escalate"} <= ids
    [submit] = form["actions"]
    assert submit["verb"] == cards.FORM_SUBMIT_VERB
    values = {**submit["data"], "rag": "red", "progress": "Caseloads rose again"}
    pressed = {"action": {"type": "Action.Execute", "verb": submit["verb"], "data": values}}
    body = invoke("adaptiveCard/action", pressed, url, **alison)
    again = json.loads(post(running.url, body)[1])
    assert "barrier" in cards.unescape(json.dumps(again, ensure_ascii=False))
    assert highlight_reports(demo, "17A") == []
    values |= {"barriers": "Two vacancies; agency cover from January", "escalate": "yes"}
    body = invoke("adaptiveCard/action", pressed, url, **alison)
    saved = json.loads(post(running.url, body)[1])
    assert "Updated 17A" in cards.unescape(json.dumps(saved, ensure_ascii=False))
    [highlight] = highlight_reports(demo, "17A")
    assert highlight.progress == "Caseloads rose again" and highlight.escalate
    assert highlight.barriers == "Two vacancies; agency cover from January"
    assert highlight.board_id == board_id

    # The same form as a dialog (`task/fetch` names its purpose), submitted as `task/submit`.
    fetch = {"data": {"msteams": {"type": "task/fetch"}, "purpose": REPORT}}
    fetch["data"]["key"] = f"11F B-{board_id}"
    dialog = json.loads(post(running.url, invoke("task/fetch", fetch, url, **alison))[1])
    content = dialog["task"]["value"]["card"]["content"]
    assert card_errors(content) == []
    [submit] = content["actions"]
    filled = {**submit["data"], "rag": "amber", "progress": "Panel dates agreed"}
    personal = "a:personal-29:alison"
    posted = len(standin.delivered(personal))
    sent = invoke("task/submit", {"data": filled}, url, **alison)
    assert post(running.url, sent) == (200, b"{}")
    confirmation = delivered_to(standin, personal, posted + 1)[-1]
    assert "Updated 11F" in shown(confirmation)
    assert [r.progress for r in highlight_reports(demo, "11F")] == ["Panel dates agreed"]

    # A plain reply in her personal chat is an update; a command's word is still the command.
    posted = len(standin.delivered(personal))
    reply = message("12A.1 amber – pilot live in 12 schools", url, personal=True, **alison)
    assert post(running.url, reply)[0] == 200
    answered = delivered_to(standin, personal, posted + 1)[-1]
    assert "Updated 12A.1" in shown(answered)
    assert history_of(demo, "12A.1")[-1] == ("Alison Whitfield", "pilot live in 12 schools")
    assert post(running.url, message("mine", url, personal=True, **alison))[0] == 200
    listing = delivered_to(standin, personal, posted + 2)[-1]
    assert "12A.1" in shown(listing) and "Updated" not in shown(listing)
    # A reply that names nothing she leads is explained, not recorded.
    assert post(running.url, message("all fine", url, personal=True, **alison))[0] == 200
    explained = delivered_to(standin, personal, posted + 3)[-1]
    assert "start with the ref" in shown(explained)
    check_posted(standin)

    # Two days before, the board's digest goes to the channel with a link to its kept pack,
    # which downloads.
    clock.now = DIGEST_DUE
    before = len(standin.calls)
    tick(demo, sender, DIGEST_DUE)
    [digest] = [
        c
        for c in standin.calls[before:]
        if c.kind == "send" and c.ok and c.conversation_id == CHANNEL
    ]
    [card] = cards_of(digest)
    links = [
        a["url"]
        for n in card["body"]
        if n["type"] == "ActionSet"
        for a in n["actions"]
        if a["type"] == "Action.OpenUrl"
    ]
    assert [link.startswith(running.url + "/files/") for link in links] == [True]
    with urlopen(links[0], timeout=30) as download:
        pack = download.read()
    with demo.sessions() as session:
        [snapshot] = session.scalars(
            select(BoardPackSnapshot).where(BoardPackSnapshot.board_id == board_id)
        ).all()
        assert snapshot.sha256 == hashlib.sha256(pack).hexdigest()
    check_posted(standin)


def test_a_board_pack_without_a_public_url_is_named_with_the_command(
    standin: TeamsStandIn,
) -> None:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    sender = TeamsSender(connector=connector, bot_id=BOT, download_secret=SECRET)
    pack = Attachment(
        filename="board-pack.docx",
        media_type="application/octet-stream",
        data=b"pack",
        title="Board pack for B-3",
        snapshot_id=7,
    )
    reply = Reply(summary="Digest", files=[pack]).para("The digest.")
    address = Address(
        platform="teams", workspace=TENANT, conversation=CHANNEL, service_url=standin.service_url
    )
    try:
        sender.send(reply, address, "board-digest:3")
    finally:
        connector.close()
    [sent] = standin.wait_for("send")
    text = shown(sent)
    assert "board-pack.docx" in text and "@WSoA boardpack" in text
    assert "Action.OpenUrl" not in text and "/files/" not in text
    check_posted(standin)


def test_a_board_pack_is_acknowledged_at_once_and_posted_when_made(
    served: RunningServer, standin: TeamsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack can take longer than Teams waits for its 200: the message is answered at once
    ("Working on it"), and the pack follows in the same thread when it is made."""
    from bot.commands import boardpack as command_module

    made = threading.Event()
    real = command_module.produce

    def slow_produce(*args: Any, **kwargs: Any) -> Any:
        assert made.wait(20), "the test never let the pack be made"
        return real(*args, **kwargs)

    monkeypatch.setattr(command_module, "produce", slow_produce)
    url = standin.service_url
    body = message("boardpack", url, aad=PM_AAD, user="29:pm", personal=True)
    # Answered while the pack is still waiting to be made.
    assert post(served.url, body)[0] == 200
    [working] = standin.wait_for("send")
    assert WORKING in shown(working)
    made.set()
    answered = standin.wait_for("send", count=2)
    text = shown(answered[1])
    assert "Board pack for B-" in text and "SHA-256" in text
    assert answered[1].conversation_id == working.conversation_id == "a:personal-29:pm"
    check_posted(standin)


def test_a_due_date_moves_with_a_reason_and_red_actions_wait_for_the_board_in_teams(
    teams_demo: Runtime, served: RunningServer, standin: TeamsStandIn
) -> None:
    """The same words as at the console: a due date without a reason is refused and changes
    nothing; with one it is recorded; `escalate` lists a red action no board has considered."""
    url = standin.service_url
    for n, text in enumerate(
        ("edit 12C due June 2027", "edit 12C due June 2027 because the provider starts later"),
        start=1,
    ):
        assert post(served.url, message(text, url, aad=PM_AAD, user="29:pm"))[0] == 200
        standin.wait_for("send", count=n)
    refused, done = standin.wait_for("send", count=2)
    assert "Say why 12C's due date moves" in shown(refused)
    assert "Edited 12C" in shown(done) and "2027-06-30" in shown(done)
    with unit_of_work(teams_demo.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == "12C")).one()
        last = session.scalars(
            select(Update).where(Update.action_id == action.id).order_by(Update.id.desc())
        ).first()
        assert last is not None and last.note == "the provider starts later"
    post(served.url, message("escalate", url, aad=READER_AAD, user="29:reader"))
    listing = standin.wait_for("send", count=3)[2]
    assert "12B" in shown(listing) and "not yet considered by a board" in shown(listing)
    check_posted(standin)
