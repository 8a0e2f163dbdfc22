"""The Slack app served for real on a local port, its Web API pointed at a SlackStandIn.

Test modules import the fixture function (`served_slack_app`, noqa F401: pytest finds it in the
module) and name it `slack` in their tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.serve import start_http_server, stop_http_server
from bot.store.models import Update
from tests.slack_requests import HttpResult, SlackClientSim
from tests.slack_standin import Call, SlackStandIn

SIGNING_SECRET = "test-signing-secret"
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_CHARS = 3000
HEADER_CHARS = 150
BUTTON_LABEL = 75
MODAL_TITLE = 24


@dataclass
class SlackHarness:
    runtime: Runtime
    standin: SlackStandIn
    sim: SlackClientSim
    base_url: str

    def slash(self, text: str, user_id: str, channel_id: str = "C_BOARD") -> HttpResult:
        return self.sim.slash(text, user_id=user_id, channel_id=channel_id)

    def reply(self, text: str, user_id: str, channel_id: str = "C_BOARD") -> dict[str, Any]:
        """A slash command's answer, which the app gives in its acknowledgement."""
        result = self.slash(text, user_id, channel_id)
        assert result.status == 200, result.text
        body = result.json()
        assert isinstance(body, dict), result.text
        return body

    def answer_after(self, text: str, user_id: str, channel_id: str = "C_BOARD") -> dict[str, Any]:
        """A slow command (`boardpack`): acknowledged at once with a word that it is coming,
        its answer posted to the command's response_url after; that answer's payload."""
        acknowledged = self.reply(text, user_id, channel_id)
        assert acknowledged.get("text", "").startswith("Working on it"), acknowledged
        name = self.sim.last_response_name
        [later] = self.standin.wait_for(f"response_url:{name}")
        params = later.params
        assert isinstance(params, dict)
        return params

    def updates(self) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(Update)) or 0


@contextmanager
def serving_slack(runtime: Runtime) -> Iterator[SlackHarness]:
    """The app built from the runtime's settings as they are now, served, its Web API a
    stand-in."""
    with SlackStandIn() as standin:
        runtime.settings = runtime.settings.model_copy(update={"slack_api_url": standin.url})
        app = build_app(runtime, make_client(runtime.settings))
        server = start_http_server(app, runtime, "127.0.0.1", 0)
        base_url = server.url
        sim = SlackClientSim(base_url, SIGNING_SECRET, standin)
        try:
            yield SlackHarness(runtime=runtime, standin=standin, sim=sim, base_url=base_url)
        finally:
            stop_http_server(server)


@pytest.fixture(name="slack")
def served_slack_app(runtime: Runtime) -> Iterator[SlackHarness]:
    with serving_slack(runtime) as harness:
        yield harness


# --- what Slack would accept -------------------------------------------------------------------


def text_of(node: Any) -> list[str]:
    """Every `text` string in a payload, however deep."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += text_of(value)
    elif isinstance(node, list):
        for item in node:
            found += text_of(item)
    return found


def assert_blocks_within_limits(blocks: list[dict[str, Any]], max_blocks: int, what: str) -> None:
    assert 0 < len(blocks) <= max_blocks, f"{what}: {len(blocks)} blocks (limit {max_blocks})"
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_CHARS, what
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_CHARS, what
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25, what
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= BUTTON_LABEL, what


def assert_message_within_limits(payload: dict[str, Any], what: str = "message") -> None:
    assert payload.get("text"), what
    assert_blocks_within_limits(payload["blocks"], MESSAGE_BLOCKS, what)


def assert_view_within_limits(view: dict[str, Any]) -> None:
    assert_blocks_within_limits(view["blocks"], VIEW_BLOCKS, f"{view['type']} view")
    if view["type"] == "modal":
        for part in ("title", "submit", "close"):
            if view.get(part):
                assert len(view[part]["text"]) <= MODAL_TITLE


def view_of(call: Call) -> dict[str, Any]:
    view = call.json_param("view")
    assert isinstance(view, dict)
    return view


def everything_sent(harness: SlackHarness, responses: list[HttpResult]) -> str:
    """Every body the app sent: Web API calls, response_url posts, and its HTTP answers."""
    sent = [call.body.decode("utf-8", "replace") for call in harness.standin.calls]
    sent += [json.dumps(call.params) for call in harness.standin.calls]
    sent += [r.text for r in responses]
    return "\n".join(sent)
