"""The Slack stand-in and request helpers, checked against the real slack_sdk and Bolt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.slack_requests import (
    SlackClientSim,
    sign,
    static_select_state,
    text_input_state,
)
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-test"
SECRET = "test-signing-secret"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    # No retry handlers: each test that wants retries attaches its own.
    return WebClient(token=TOKEN, base_url=standin.url, retry_handlers=[])


def test_post_message_is_recorded_with_params_and_token(
    standin: SlackStandIn, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*2A.3* is red"}}]
    first = client.chat_postMessage(channel="C_BOARD", text="2A.3 is red", blocks=blocks)
    second = client.chat_postMessage(channel="C_BOARD", text="again")

    [call, _] = standin.calls_to("chat.postMessage")
    assert call.params["channel"] == "C_BOARD"
    assert call.params["text"] == "2A.3 is red"
    assert call.json_param("blocks") == blocks
    assert call.token == TOKEN
    assert call.status == 200 and call.ok
    assert first["channel"] == "C_BOARD"
    assert first["message"]["text"] == "2A.3 is red"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])


def test_form_encoded_calls_are_parsed(standin: SlackStandIn, client: WebClient) -> None:
    info = client.users_info(user="U_LEAD")

    [call] = standin.calls_to("users.info")
    assert call.params == {"user": "U_LEAD"}
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert info["user"]["id"] == "U_LEAD"
    assert set(info["user"]["profile"]) >= {"real_name", "display_name", "email"}


def test_rate_limited_call_is_retried_after_retry_after(standin: SlackStandIn) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=standin.url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    standin.fail_next("chat.postMessage", status=429, retry_after=1)

    response = client.chat_postMessage(channel="C_BOARD", text="digest")

    assert response["ok"]
    limited, succeeded = standin.calls_to("chat.postMessage")
    assert (limited.status, limited.response) == (429, {"ok": False, "error": "ratelimited"})
    assert succeeded.ok
    assert succeeded.at - limited.at >= 1.0


def test_rate_limit_without_retry_handler_surfaces(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C_BOARD", text="digest")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C_BOARD", text="digest")["ok"]


def test_server_error_is_retried(standin: SlackStandIn) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=standin.url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)],
    )
    standin.fail_next("chat.postMessage", status=500)

    assert client.chat_postMessage(channel="C_BOARD", text="digest")["ok"]
    assert [call.status for call in standin.calls_to("chat.postMessage")] == [500, 200]


def test_error_next_answers_ok_false(standin: SlackStandIn, client: WebClient) -> None:
    standin.error_next("chat.postMessage", error="not_in_channel")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C_BOARD", text="digest")

    assert raised.value.response["error"] == "not_in_channel"
    assert not standin.calls_to("chat.postMessage")[0].ok


def test_lookup_by_email_finds_only_registered_users(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.add_user("U_SENCO", "senco@school.example", "Sam Senco")

    found = client.users_lookupByEmail(email="SENCO@school.example")
    assert found["user"]["id"] == "U_SENCO"
    assert found["user"]["profile"]["real_name"] == "Sam Senco"

    with pytest.raises(SlackApiError) as raised:
        client.users_lookupByEmail(email="nobody@school.example")
    assert raised.value.response["error"] == "users_not_found"


def test_conversations_open_gives_a_dm_channel(client: WebClient) -> None:
    assert client.conversations_open(users="U_LEAD")["channel"]["id"] == "DU_LEAD"


def test_views_get_ids_and_block_limits_are_enforced(client: WebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "update_action",
        "title": {"type": "plain_text", "text": "Update 2A.3"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id="123.456.abc", view=view)
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "update_action"

    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C_BOARD", text="long", blocks=too_many)
    assert raised.value.response["error"] == "invalid_blocks"


def test_wait_for_reports_what_did_arrive(standin: SlackStandIn, client: WebClient) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"auth\.test"):
        standin.wait_for("chat.postMessage", timeout=0.05)
    assert len(standin.wait_for("auth.test")) == 1


def test_token_is_checked_when_configured() -> None:
    with SlackStandIn(token=TOKEN) as strict:
        WebClient(token=TOKEN, base_url=strict.url).auth_test()
        with pytest.raises(SlackApiError) as raised:
            WebClient(token="xoxb-wrong", base_url=strict.url).auth_test()
    assert raised.value.response["error"] == "invalid_auth"


def test_response_url_posts_are_recorded(standin: SlackStandIn) -> None:
    url = standin.response_url("r1")

    reply = WebhookClient(url).send(text="Saved", response_type="ephemeral")

    assert reply.status_code == 200
    [call] = standin.wait_for("response_url:r1")
    assert call.params == {"text": "Saved", "response_type": "ephemeral"}
    assert standin.response_posts() == [call]


def test_files_upload_v2_flow(standin: SlackStandIn, client: WebClient) -> None:
    content = "ref,rag\n2A.3,red\n"

    result = client.files_upload_v2(content=content, filename="plan.csv", channel="C_BOARD")

    file_id = result["file"]["id"]
    assert result["file"]["name"] == "plan.csv"
    assert standin.uploaded(file_id) == content.encode()
    methods = [call.method for call in standin.calls]
    assert methods == [
        "files.getUploadURLExternal",
        f"upload:{file_id}",
        "files.completeUploadExternal",
    ]
    [complete] = standin.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C_BOARD"


def test_unknown_methods_answer_ok_and_answers_can_be_replaced(
    standin: SlackStandIn, client: WebClient
) -> None:
    assert client.api_call("conversations.join", params={"channel": "C_BOARD"})["ok"]
    standin.answer_with("conversations.info", {"channel": {"id": "C_BOARD", "name": "send"}})

    info = client.conversations_info(channel="C_BOARD")

    assert info["channel"]["name"] == "send"
    assert [call.method for call in standin.calls] == ["conversations.join", "conversations.info"]


def test_multipart_bodies_are_parsed(standin: SlackStandIn, client: WebClient) -> None:
    client.api_call("files.upload", files={"file": b"a,b\n"}, data={"channels": "C_BOARD"})

    [call] = standin.calls_to("files.upload")
    assert call.params == {"channels": "C_BOARD", "file": b"a,b\n"}


def test_reset_forgets_calls_and_scripts(standin: SlackStandIn, client: WebClient) -> None:
    standin.error_next("auth.test")
    standin.reset()

    assert client.auth_test()["ok"]
    assert len(standin.calls) == 1


def test_sign_verifies_with_slack_sdk() -> None:
    body = b"token=x&text=status+2A.3"
    headers = sign(SECRET, body)

    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale = sign(SECRET, body, timestamp=int(time.time()) - 3600)
    assert not verifier.is_valid_request(body, stale)


# ----- the request helpers against a real Bolt app served over HTTP


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def bolt_app(standin: SlackStandIn) -> Iterator[tuple[SlackClientSim, list[dict[str, Any]]]]:
    """A small Bolt app wired to the stand-in; yields a sim and what its listeners saw."""
    seen: list[dict[str, Any]] = []
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=standin.url))

    @app.command("/wsoa")
    def command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack(f"got {command['text']}")
        seen.append(command)
        respond("done later")

    @app.action("open_update")
    def action(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.append(body)
        view = {"type": "modal", "callback_id": "update", "title": _plain("Update"), "blocks": []}
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view("update")
    def submission(ack: Ack, view: dict[str, Any]) -> None:
        ack()
        seen.append(view)

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), _ThreadingWSGIServer, _QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield SlackClientSim(f"http://127.0.0.1:{server.server_port}", SECRET, standin), seen
    finally:
        server.shutdown()
        server.server_close()


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def test_slash_command_reaches_bolt_and_responds(
    standin: SlackStandIn, bolt_app: tuple[SlackClientSim, list[dict[str, Any]]]
) -> None:
    sim, seen = bolt_app

    result = sim.slash("status 2A.3", user_id="U_LEAD")

    assert result.status == 200
    assert result.text == "got status 2A.3"
    [posted] = standin.wait_for(f"response_url:{sim.last_response_name}")
    assert posted.params["text"] == "done later"
    assert seen[0]["user_id"] == "U_LEAD" and seen[0]["channel_id"] == "C_BOARD"


def test_block_action_and_view_submission_reach_bolt(
    standin: SlackStandIn, bolt_app: tuple[SlackClientSim, list[dict[str, Any]]]
) -> None:
    sim, seen = bolt_app

    clicked = sim.block_action("open_update", "2A.3", "U_LEAD", channel_id="C_BOARD")
    assert clicked.status == 200
    [opened] = standin.wait_for("views.open")
    assert opened.params["trigger_id"] == seen[0]["trigger_id"]

    values = {
        "rag": {"rag": static_select_state("amber")},
        "note": {"note": text_input_state("Waiting list down to 12 weeks")},
    }
    submitted = sim.view_submission("update", values, "U_LEAD", private_metadata="2A.3")
    assert submitted.status == 200
    assert seen[1]["private_metadata"] == "2A.3"
    assert seen[1]["state"]["values"]["rag"]["rag"]["selected_option"]["value"] == "amber"


def test_events_and_url_verification_reach_bolt(
    standin: SlackStandIn, bolt_app: tuple[SlackClientSim, list[dict[str, Any]]]
) -> None:
    sim, _ = bolt_app

    challenge = sim.url_verification("challenge-token")
    assert challenge.status == 200
    assert challenge.json() == {"challenge": "challenge-token"}

    assert sim.event({"type": "app_home_opened", "user": "U_LEAD", "tab": "home"}).status == 200
    [published] = standin.wait_for("views.publish")
    assert published.params["user_id"] == "U_LEAD"


def test_bad_or_stale_signatures_are_refused(
    bolt_app: tuple[SlackClientSim, list[dict[str, Any]]],
) -> None:
    sim, seen = bolt_app

    assert sim.slash("help", signature="v0=forged").status == 401
    assert sim.slash("help", signature="").status == 401
    assert sim.slash("help", timestamp=int(time.time()) - 3600).status == 401
    assert seen == []


def test_interactivity_payload_is_one_json_form_field(standin: SlackStandIn) -> None:
    # Inspect what the sim sends by pointing it at the stand-in's catch-all route.
    sim = SlackClientSim(standin.url, SECRET, standin, path="/events")

    sim.block_action("open_update", "2A.3", "U_LEAD", channel_id="C_BOARD")

    [call] = standin.calls_to("events")
    payload = json.loads(call.params["payload"])
    assert payload["type"] == "block_actions"
    assert payload["container"]["is_ephemeral"] is True
    assert payload["actions"][0]["value"] == "2A.3"
    assert SignatureVerifier(SECRET).is_valid_request(call.body, call.headers)
