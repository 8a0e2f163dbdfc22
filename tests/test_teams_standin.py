"""The Bot Connector stand-in itself: routes under a service URL with a path, recording, members,
scripted failures and Teams' size limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

from tests.teams_standin import TeamsStandIn

CHANNEL = "19:abc123@thread.tacv2;messageid=1700000000000"


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn(base_path="/uk/") as running:
        yield running


def call(
    standin: TeamsStandIn, method: str, route: str, body: Any = None, *, base: str | None = None
) -> tuple[int, Any, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(
        (base or standin.service_url) + route,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": "Bearer t"},
    )
    try:
        with urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"null"), dict(answer.headers)
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def test_the_service_url_keeps_its_path(standin: TeamsStandIn) -> None:
    assert standin.service_url.endswith("/uk/")
    status, body, _ = call(
        standin, "POST", f"v3/conversations/{quote(CHANNEL)}/activities", {"type": "message"}
    )
    assert status == 201 and body["id"]
    [sent] = standin.delivered()
    assert sent.kind == "send" and sent.conversation_id == CHANNEL
    assert sent.path.startswith("/uk/v3/") and sent.headers["authorization"] == "Bearer t"
    # Without the path the call is not the Bot Connector's.
    root = standin.service_url.removesuffix("uk/")
    status, _, _ = call(
        standin, "POST", "v3/conversations/x/activities", {"type": "message"}, base=root
    )
    assert status == 404
    assert len(standin.delivered()) == 1


def test_reply_update_and_personal_conversation(standin: TeamsStandIn) -> None:
    status, reply, _ = call(
        standin, "POST", "v3/conversations/19:c/activities/1234", {"type": "message", "text": "hi"}
    )
    assert status == 201
    status, updated, _ = call(
        standin, "PUT", f"v3/conversations/19:c/activities/{reply['id']}", {"type": "message"}
    )
    assert (status, updated) == (200, {"id": reply["id"]})
    status, created, _ = call(
        standin,
        "POST",
        "v3/conversations",
        {"bot": {"id": "28:bot"}, "members": [{"id": "29:sam"}], "tenantId": "tenant-1"},
    )
    assert status == 201 and created["id"] == "a:personal-29:sam"
    assert [c.kind for c in standin.calls] == ["reply", "update", "create_conversation"]
    assert standin.conversations["19:c"] == [{"type": "message", "text": "hi"}]


def test_members_come_from_the_table(standin: TeamsStandIn) -> None:
    standin.add_member("29:sam", "Sam Lead", "aad-sam", email="Sam.Lead@Council.example")
    status, member, _ = call(standin, "GET", "v3/conversations/19:c/members/29:sam")
    assert status == 200
    assert member["aadObjectId"] == "aad-sam" and member["email"] == "Sam.Lead@Council.example"
    status, missing, _ = call(standin, "GET", "v3/conversations/19:c/members/29:nobody")
    assert status == 404 and missing["error"]["code"] == "MemberNotFoundInConversation"


def test_scripted_failures_then_success(standin: TeamsStandIn) -> None:
    standin.fail_next(1, status=429, retry_after=2)
    standin.fail_next(1, status=502, kind="send")
    status, _, headers = call(standin, "POST", "v3/conversations/c/activities", {"type": "message"})
    assert status == 429 and headers["Retry-After"] == "2"
    status, _, _ = call(standin, "GET", "v3/conversations/c/members/29:x")
    assert status == 404  # the 502 waits for a send
    status, _, _ = call(standin, "POST", "v3/conversations/c/activities", {"type": "message"})
    assert status == 502
    status, _, _ = call(standin, "POST", "v3/conversations/c/activities", {"type": "message"})
    assert status == 201
    assert len(standin.delivered()) == 1 and len(standin.conversations["c"]) == 1


def test_a_message_over_100_kb_is_refused(standin: TeamsStandIn) -> None:
    big = {"type": "message", "text": "x" * 110_000}
    status, body, _ = call(standin, "POST", "v3/conversations/c/activities", big)
    assert status == 413 and body["error"]["code"] == "RequestEntityTooLarge"
    assert standin.delivered() == []


def test_a_token_can_be_required() -> None:
    with TeamsStandIn(base_path="/", token="right") as standin:
        assert standin.service_url.endswith("/") and "/uk" not in standin.service_url
        status, _, _ = call(standin, "POST", "v3/conversations/c/activities", {"type": "message"})
        assert status == 401


def test_wait_for_reports_what_arrived(standin: TeamsStandIn) -> None:
    with pytest.raises(AssertionError, match="expected 1 send"):
        standin.wait_for("send", timeout=0.2)
