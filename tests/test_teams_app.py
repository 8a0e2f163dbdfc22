"""The Teams inbound side, through `POST /api/messages` on the one ASGI app under uvicorn, with
the Bot Connector stand-in receiving every answer: commands in a channel and a personal chat,
private answers in the personal chat with a pointer in the thread, mention and markup injection,
a 429 survived, and, in production mode, tokens verified against locally served keys."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_teams.api.auth.cloud_environment import PUBLIC

from bot.commands.registry import execute
from bot.config import Settings
from bot.domain import Surface
from bot.http.app import build_http_app
from bot.render import cards
from bot.replies import ButtonId, Reply, say
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.teams import connector as bc
from bot.teams.app import (
    POINTER,
    ButtonInfo,
    CommandInfo,
    ConversationRef,
    FormAnswer,
    FormInfo,
    TeamsBot,
    capture_reference,
    command_text,
    plan_answer,
)
from bot.teams.web import DevModeHostError, check_dev_host, teams_part, token_validator
from tests.conftest import LEAD_11F, READER
from tests.teams_specs import card_errors
from tests.teams_standin import TeamsStandIn

APP_ID = "00000000-1111-4222-8333-444444444444"
BOT = f"28:{APP_ID}"
CHANNEL = "19:board@thread.tacv2"
TENANT = "tenant-1"
# Entra object ids of the demo's people (the core will resolve these through identities).
AAD = {"aad-lead-11f": LEAD_11F, "aad-reader": READER}


def activity(
    text: str,
    *,
    service_url: str,
    aad: str = "aad-reader",
    user: str = "29:reader",
    kind: str = "channel",
    mention_bot: bool = True,
    activity_id: str = "1700000000001",
) -> dict[str, Any]:
    conversation_id = (
        f"{CHANNEL};messageid={activity_id}" if kind == "channel" else f"a:personal-{user}"
    )
    body: dict[str, Any] = {
        "type": "message",
        "id": activity_id,
        "timestamp": "2026-11-23T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user, "name": "Reader Person", "aadObjectId": aad},
        "conversation": {
            "id": conversation_id,
            "conversationType": kind,
            "tenantId": TENANT,
        },
        "recipient": {"id": BOT, "name": "WSoA"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [],
    }
    if kind == "channel":
        body["channelData"]["team"] = {"id": "19:team@thread.tacv2"}
        body["channelData"]["channel"] = {"id": CHANNEL}
    if mention_bot:
        body["text"] = f"<at>WSoA</at> {text}"
        body["entities"].append(
            {"type": "mention", "text": "<at>WSoA</at>", "mentioned": {"id": BOT, "name": "WSoA"}}
        )
    return body


# --- the rules ---------------------------------------------------------------------------------


def test_the_bots_mention_and_prefixes_are_stripped() -> None:
    url = "https://smba.trafficmanager.net/uk/"
    assert command_text(activity("summary", service_url=url)) == ("summary", ())
    for typed in ("wsoa summary", "/wsoa summary", "WSOA: summary", "  summary  "):
        personal = activity(typed, service_url=url, kind="personal", mention_bot=False)
        assert command_text(personal) == ("summary", ())
    # Teams wraps typed text in formatting tags and escapes what people type.
    wrapped = activity("<p>update 11F amber a &lt;b&gt; &amp; c</p>", service_url=url)
    assert command_text(wrapped) == ("update 11F amber a <b> & c", ())


def test_a_channel_message_not_for_the_bot_is_ignored() -> None:
    url = "https://smba.trafficmanager.net/uk/"
    assert command_text(activity("summary", service_url=url, mention_bot=False)) is None
    # A leading <at> without an entity (older clients) still counts as the bot's.
    bare = activity("x", service_url=url, mention_bot=False)
    bare["text"] = "<at>WSoA</at> mine"
    assert command_text(bare) == ("mine", ())


def test_other_people_mentioned_are_names_and_ids() -> None:
    body = activity("assign 11F <at>Sam Lead</at>", service_url="https://s/uk/")
    body["entities"].append(
        {
            "type": "mention",
            "text": "<at>Sam Lead</at>",
            "mentioned": {"id": "29:sam", "name": "Sam Lead", "aadObjectId": "aad-sam"},
        }
    )
    text, mentions = command_text(body) or ("", ())
    assert text == "assign 11F @Sam Lead"
    assert [(m.name, m.user_id, m.aad_object_id) for m in mentions] == [
        ("Sam Lead", "29:sam", "aad-sam")
    ]


def test_the_conversation_reference_is_captured_whole() -> None:
    url = "https://smba.trafficmanager.net/uk/"
    ref = capture_reference(activity("summary", service_url=url, aad="aad-lead-11f"))
    assert ref == ConversationRef(
        service_url=url,
        conversation_id=f"{CHANNEL};messageid=1700000000001",
        conversation_type="channel",
        tenant_id=TENANT,
        bot_id=BOT,
        user_id="29:reader",
        aad_object_id="aad-lead-11f",
        user_name="Reader Person",
        team_id="19:team@thread.tacv2",
        channel_id=CHANNEL,
        activity_id="1700000000001",
    )
    assert ref.base_conversation_id == CHANNEL
    installed = {
        "type": "conversationUpdate",
        "serviceUrl": url,
        "conversation": {"id": "a:personal-29:sam", "conversationType": "personal"},
        "from": {"id": "29:sam", "aadObjectId": "aad-sam"},
        "recipient": {"id": BOT},
        "channelData": {"tenant": {"id": TENANT}},
        "membersAdded": [{"id": BOT}],
    }
    learned = capture_reference(installed)
    assert learned is not None and learned.is_personal and learned.user_id == "29:sam"
    assert capture_reference({"type": "message"}) is None


def test_where_answers_go() -> None:
    ref = capture_reference(activity("x", service_url="https://s/uk/"))
    assert ref is not None
    [thread] = plan_answer(say("counts", visibility="channel"), ref)
    assert (thread.conversation_id, thread.reply_to) == (ref.conversation_id, ref.activity_id)
    private, pointer = plan_answer(say("yours"), ref)
    assert private.personal_for == ref
    assert pointer.activity == {"type": "message", "text": POINTER}
    assert pointer.reply_to == ref.activity_id
    personal = capture_reference(activity("x", service_url="https://s/uk/", kind="personal"))
    assert personal is not None
    [only] = plan_answer(say("yours"), personal)
    assert only.conversation_id == personal.conversation_id and only.reply_to is None


def test_dev_mode_serves_loopback_only() -> None:
    dev = Settings(WSOA_TEAMS_DEV=True)
    for host in ("127.0.0.1", "::1", "localhost"):
        check_dev_host(dev, host)
    for host in ("0.0.0.0", "192.168.1.10", "wsoa.example"):
        with pytest.raises(DevModeHostError, match="loopback only"):
            check_dev_host(dev, host)
    check_dev_host(Settings(TEAMS_APP_ID=APP_ID), "0.0.0.0")


# --- over HTTP ---------------------------------------------------------------------------------


class Served:
    def __init__(self, web: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(web, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def post(self, path: str, body: Any, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = Request(
            self.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urlopen(request, timeout=20) as answer:
                return answer.status, answer.read()
        except HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_command(runtime: Runtime) -> Any:
    def on_command(info: CommandInfo) -> Reply:
        user = AAD.get(info.ref.aad_object_id or "", "U0STRANGER")
        caller = Caller(
            user_id=user, channel_id=info.ref.base_conversation_id, source=Surface.TEAMS
        )
        return execute(runtime, caller, info.text)

    return on_command


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as running:
        yield running


@pytest.fixture
def dev_app(demo: Runtime) -> Iterator[tuple[Served, TeamsBot]]:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    bot = TeamsBot(connector=connector, on_command=run_command(demo))
    served = Served(build_http_app(demo, parts=[teams_part(bot, None)]))
    yield served, bot
    served.stop()
    connector.close()


def cards_in(call: Any) -> list[dict[str, Any]]:
    return [a["content"] for a in call.json.get("attachments", [])]


def test_a_channel_command_is_answered_in_its_thread(
    dev_app: tuple[Served, TeamsBot], standin: TeamsStandIn
) -> None:
    served, _ = dev_app
    status, _ = served.post("/api/messages", activity("summary", service_url=standin.service_url))
    assert status == 200
    [answer] = standin.wait_for("reply")
    assert answer.conversation_id == f"{CHANNEL};messageid=1700000000001"
    assert answer.route.endswith("/activities/1700000000001")
    [card] = cards_in(answer)
    assert card_errors(card) == []
    assert "Graduated Response" in json.dumps(card)
    assert standin.calls_of("create_conversation") == []


def test_a_private_answer_goes_to_the_personal_chat_with_a_pointer(
    dev_app: tuple[Served, TeamsBot], standin: TeamsStandIn
) -> None:
    served, _ = dev_app
    body = activity("show 11F", service_url=standin.service_url, aad="aad-lead-11f")
    assert served.post("/api/messages", body)[0] == 200
    [created] = standin.wait_for("create_conversation")
    assert created.json["members"] == [{"id": "29:reader"}]
    assert created.json["tenantId"] == TENANT
    [private] = standin.wait_for("send")
    assert private.conversation_id == "a:personal-29:reader"
    [card] = cards_in(private)
    assert card_errors(card) == [] and "11F" in json.dumps(card)
    verbs = [a.get("verb") for n in card["body"] if n["type"] == "ActionSet" for a in n["actions"]]
    assert verbs  # the lead's Update button
    [pointer] = standin.wait_for("reply")
    assert pointer.json == {"type": "message", "text": POINTER}
    assert "11F" not in json.dumps(pointer.json)


def test_a_personal_chat_command_is_answered_there_without_at_hints(
    dev_app: tuple[Served, TeamsBot], standin: TeamsStandIn
) -> None:
    served, _ = dev_app
    body = activity(
        "update 11F amber in progress Pilot <at>Sam</at> [x](https://evil.example) **b**",
        service_url=standin.service_url,
        aad="aad-lead-11f",
        user="29:lead",
        kind="personal",
        mention_bot=False,
    )
    assert served.post("/api/messages", body)[0] == 200
    [answer] = standin.wait_for("send")
    assert answer.conversation_id == "a:personal-29:lead"
    assert "Updated 11F" in cards.unescape(json.dumps(answer.json, ensure_ascii=False))

    history = activity(
        "history 11F", service_url=standin.service_url, kind="personal", mention_bot=False
    )
    served.post("/api/messages", history)
    second = standin.wait_for("send", count=2)[1]
    dumped = json.dumps(second.json, ensure_ascii=False)
    assert "Pilot" in cards.unescape(dumped)
    for live in ("<at>", "](", "**", "https://"):
        assert live not in dumped
    assert card_errors(cards_in(second)[0]) == []


def test_a_429_on_the_reply_is_survived_with_one_delivery(
    dev_app: tuple[Served, TeamsBot], standin: TeamsStandIn
) -> None:
    served, _ = dev_app
    standin.fail_next(1, status=429, retry_after=1, kind="reply")
    assert (
        served.post("/api/messages", activity("summary", service_url=standin.service_url))[0] == 200
    )
    [answer] = standin.wait_for("reply")
    refused = [c for c in standin.calls if c.status == 429]
    assert len(refused) == 1 and answer.at - refused[0].at >= 0.95
    assert len(standin.delivered()) == 1


def test_health_shares_the_port(dev_app: tuple[Served, TeamsBot]) -> None:
    served, _ = dev_app
    with urlopen(served.url + "/healthz", timeout=5) as answer:
        assert answer.status == 200


def test_bad_bodies_are_refused(dev_app: tuple[Served, TeamsBot], standin: TeamsStandIn) -> None:
    served, _ = dev_app
    assert served.post("/api/messages", ["not", "an", "activity"])[0] == 400
    big = activity("x" * 600_000, service_url=standin.service_url)
    # Refused on its Content-Length, unread: the client sees 413 or a closed connection.
    with contextlib.suppress(URLError):
        assert served.post("/api/messages", big)[0] == 413
    assert standin.calls == []


# --- production: tokens verified ---------------------------------------------------------------


class Keys:
    """Bot Framework's signing keys, served locally: the validator fetches them on first use."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
        keys = json.dumps({"keys": [jwk]}).encode()
        self.fetched = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                outer.fetched += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(keys)))
                self.end_headers()
                self.wfile.write(keys)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.cloud = replace(
            PUBLIC,
            openid_metadata_url=f"http://127.0.0.1:{port}/v1/.well-known/openidconfiguration",
        )

    def token(self, service_url: str, *, audience: str = APP_ID, key: Any = None) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": "https://api.botframework.com",
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - timedelta(minutes=1),
            "iat": now - timedelta(minutes=1),
            "exp": now + timedelta(minutes=10),
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "test-key"})


def test_production_verifies_every_request(demo: Runtime, standin: TeamsStandIn) -> None:
    keys = Keys()
    settings = Settings(TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD="x", TEAMS_TENANT_ID=TENANT)
    validator = token_validator(settings, cloud=keys.cloud)
    assert keys.fetched == 0  # nothing fetched to start
    connector = bc.Connector(tokens=bc.DevTokens())
    bot = TeamsBot(connector=connector, on_command=run_command(demo))
    served = Served(build_http_app(demo, parts=[teams_part(bot, validator)]))
    try:
        url = standin.service_url
        body = activity("summary", service_url=url)
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        refused = {
            "no token": served.post("/api/messages", body),
            "garbage": served.post("/api/messages", body, token="not-a-jwt"),
            "forged": served.post("/api/messages", body, token=keys.token(url, key=forger)),
            "other bot": served.post(
                "/api/messages", body, token=keys.token(url, audience="someone-else")
            ),
            "other service url": served.post(
                "/api/messages", body, token=keys.token("https://evil.example/")
            ),
        }
        assert {name: status for name, (status, _) in refused.items()} == dict.fromkeys(
            refused, 401
        )
        time.sleep(0.3)
        assert standin.calls == []  # nothing posted for any of them

        assert served.post("/api/messages", body, token=keys.token(url))[0] == 200
        standin.wait_for("reply")
        assert keys.fetched >= 1
    finally:
        served.stop()
        connector.close()
        keys.server.shutdown()


# --- buttons and forms -------------------------------------------------------------------------


def caller_of(info: Any) -> Caller:
    user = AAD.get(info.ref.aad_object_id or "", "U0STRANGER")
    return Caller(user_id=user, channel_id=info.ref.base_conversation_id, source=Surface.TEAMS)


def run_button(runtime: Runtime) -> Any:
    def on_button(info: ButtonInfo) -> Reply:
        if info.verb in (ButtonId.UPDATE, "update"):
            return execute(runtime, caller_of(info), f"update {info.value}")
        return say(f"No button {info.verb}")

    return on_button


def run_form(runtime: Runtime) -> Any:
    def on_form(info: FormInfo) -> FormAnswer:
        note = info.values.get("note", "").strip()
        if not note:
            opened = execute(runtime, caller_of(info), f"update {info.key}")
            assert opened.form is not None
            return FormAnswer(
                errors={"note": "A progress note is needed."},
                dialog=cards.dialog_from_form(opened.form),
            )
        words = " ".join(
            w for w in (info.values.get("rag", ""), info.values.get("status", ""), note) if w
        )
        return FormAnswer(reply=execute(runtime, caller_of(info), f"update {info.key} {words}"))

    return on_form


def invoke(name: str, value: dict[str, Any], *, service_url: str, aad: str) -> dict[str, Any]:
    body = activity("x", service_url=service_url, aad=aad, user="29:lead", kind="personal")
    body.update({"type": "invoke", "name": name, "value": value, "text": None})
    body.pop("text")
    return body


@pytest.fixture
def forms_app(demo: Runtime) -> Iterator[Served]:
    connector = bc.Connector(tokens=bc.DevTokens())
    bot = TeamsBot(
        connector=connector,
        on_command=run_command(demo),
        on_button=run_button(demo),
        on_form=run_form(demo),
    )
    served = Served(build_http_app(demo, parts=[teams_part(bot, None)]))
    yield served
    served.stop()
    connector.close()


def execute_action(verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"action": {"type": "Action.Execute", "verb": verb, "data": data}}


def rag_of_11f(runtime: Runtime) -> str | None:
    shown = execute(runtime, Caller(user_id=READER), "show 11F")
    return json.dumps(shown.model_dump(mode="json"))


def test_the_update_button_yields_a_form_and_the_form_saves(
    demo: Runtime, forms_app: Served, standin: TeamsStandIn
) -> None:
    url = standin.service_url
    pressed = invoke(
        "adaptiveCard/action",
        execute_action(ButtonId.UPDATE, {"value": "11F"}),
        service_url=url,
        aad="aad-lead-11f",
    )
    status, raw = forms_app.post("/api/messages", pressed)
    assert status == 200
    answer = json.loads(raw)
    assert answer["statusCode"] == 200 and answer["type"] == cards.CARD_CONTENT_TYPE
    form = answer["value"]
    assert card_errors(form) == []
    assert {n["id"] for n in form["body"] if "id" in n} == {"rag", "status", "note"}
    [save] = form["actions"]
    assert save["verb"] == cards.FORM_SUBMIT_VERB

    # Saved without a note: the form comes back with the error by the note.
    empty = invoke(
        "adaptiveCard/action",
        execute_action(save["verb"], {**save["data"], "rag": "green", "status": "complete"}),
        service_url=url,
        aad="aad-lead-11f",
    )
    again = json.loads(forms_app.post("/api/messages", empty)[1])["value"]
    assert card_errors(again) == []
    assert "A progress note is needed." in json.dumps(again)

    filled = invoke(
        "adaptiveCard/action",
        execute_action(
            save["verb"],
            {**save["data"], "rag": "amber", "status": "in progress", "note": "Pilot live"},
        ),
        service_url=url,
        aad="aad-lead-11f",
    )
    done = json.loads(forms_app.post("/api/messages", filled)[1])["value"]
    assert card_errors(done) == []
    assert "Updated 11F" in cards.unescape(json.dumps(done, ensure_ascii=False))
    assert "Pilot live" in cards.unescape(rag_of_11f(demo))
    assert standin.calls == []  # all of it in the HTTP responses


def test_a_reader_pressing_update_is_told_why(forms_app: Served, standin: TeamsStandIn) -> None:
    pressed = invoke(
        "adaptiveCard/action",
        execute_action(ButtonId.UPDATE, {"value": "11F"}),
        service_url=standin.service_url,
        aad="aad-reader",
    )
    answer = json.loads(forms_app.post("/api/messages", pressed)[1])
    text = cards.unescape(json.dumps(answer["value"], ensure_ascii=False))
    assert "leads" in text and "Nothing was changed" in text
    assert not [n for n in answer["value"]["body"] if n.get("type", "").startswith("Input.")]


def test_a_dialog_round_trip(demo: Runtime, forms_app: Served, standin: TeamsStandIn) -> None:
    url = standin.service_url
    opened = json.loads(
        forms_app.post(
            "/api/messages",
            invoke(
                "task/fetch",
                {"data": {"msteams": {"type": "task/fetch"}, "purpose": "update", "key": "11F"}},
                service_url=url,
                aad="aad-lead-11f",
            ),
        )[1]
    )
    task = opened["task"]
    assert task["type"] == "continue" and task["value"]["title"] == "Update 11F"
    dialog = task["value"]["card"]["content"]
    assert card_errors(dialog) == []
    [submit] = dialog["actions"]
    assert submit["type"] == "Action.Submit"

    refused = json.loads(
        forms_app.post(
            "/api/messages",
            invoke(
                "task/submit", {"data": {**submit["data"]}}, service_url=url, aad="aad-lead-11f"
            ),
        )[1]
    )
    assert refused["task"]["type"] == "continue"
    assert "A progress note is needed." in json.dumps(refused)

    saved = forms_app.post(
        "/api/messages",
        invoke(
            "task/submit",
            {"data": {**submit["data"], "rag": "red", "note": "Exclusions up again"}},
            service_url=url,
            aad="aad-lead-11f",
        ),
    )
    assert saved == (200, b"{}")
    [answer] = standin.wait_for("send")
    assert answer.conversation_id == "a:personal-29:lead"
    assert "Updated 11F" in cards.unescape(json.dumps(answer.json, ensure_ascii=False))
    assert "Exclusions up again" in cards.unescape(rag_of_11f(demo))


def test_a_forged_form_is_refused(forms_app: Served, standin: TeamsStandIn) -> None:
    body = invoke(
        "adaptiveCard/action",
        execute_action(cards.FORM_SUBMIT_VERB, {"note": "no purpose"}),
        service_url=standin.service_url,
        aad="aad-lead-11f",
    )
    answer = json.loads(forms_app.post("/api/messages", body)[1])
    assert "expired" in answer["value"]


def test_a_failure_is_logged_and_answered_without_a_retry_storm(
    demo: Runtime, standin: TeamsStandIn
) -> None:
    def broken(info: Any) -> Reply:
        raise RuntimeError("boom")

    connector = bc.Connector(tokens=bc.DevTokens())
    bot = TeamsBot(connector=connector, on_command=broken, on_button=broken)
    served = Served(build_http_app(demo, parts=[teams_part(bot, None)]))
    try:
        url = standin.service_url
        assert served.post("/api/messages", activity("summary", service_url=url)) == (200, b"")
        [apology] = standin.wait_for("send")
        assert "this reference:" in json.dumps(apology.json)
        pressed = activity("x", service_url=url)
        pressed.update(
            {"type": "invoke", "name": "adaptiveCard/action", "value": {"action": {"verb": "v"}}}
        )
        status, raw = served.post("/api/messages", pressed)
        assert status == 200 and "this reference:" in json.loads(raw)["value"]
        # answered once each, nothing retried: the personal chat opened, the apology in it, and
        # the pointer to it in the thread
        assert len(standin.calls) == 3
    finally:
        served.stop()
        connector.close()
