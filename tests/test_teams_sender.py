"""Scheduled posts to Teams through the sender: a channel gets a new post (not the thread it was
learned from), a person gets their personal chat, a 1,000-action digest stays within Teams'
limits, and a 429 still delivers once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.render import cards
from bot.replies import say
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from bot.teams import connector as bc
from bot.teams.sender import TeamsAddress, TeamsSender, bot_account_id
from tests.conftest import NOW
from tests.teams_specs import card_errors
from tests.teams_standin import MAX_BODY_BYTES, TeamsStandIn
from tests.test_digest_large import CHANNEL, load_plan

APP_ID = "00000000-1111-4222-8333-444444444444"
TEAMS_CHANNEL = "19:board@thread.tacv2"


@pytest.fixture
def standin() -> Iterator[TeamsStandIn]:
    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as running:
        yield running


@pytest.fixture
def sender() -> Iterator[TeamsSender]:
    connector = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
    yield TeamsSender(connector=connector, bot_id=bot_account_id(APP_ID))
    connector.close()


def test_a_channel_gets_a_new_post(standin: TeamsStandIn, sender: TeamsSender) -> None:
    address = TeamsAddress(
        service_url=standin.service_url,
        tenant_id="tenant-1",
        conversation_id=f"{TEAMS_CHANNEL};messageid=1700000000001",
    )
    assert sender.post(say("Digest", visibility="channel"), address)
    [post] = standin.delivered()
    assert post.kind == "send" and post.conversation_id == TEAMS_CHANNEL


def test_a_thread_gets_a_reply_in_it(standin: TeamsStandIn, sender: TeamsSender) -> None:
    address = TeamsAddress(
        standin.service_url, "tenant-1", conversation_id=TEAMS_CHANNEL, thread_id="17000"
    )
    sender.post(say("x"), address)
    assert standin.delivered()[0].conversation_id == f"{TEAMS_CHANNEL};messageid=17000"


def test_a_person_gets_their_personal_chat(standin: TeamsStandIn, sender: TeamsSender) -> None:
    address = TeamsAddress(standin.service_url, "tenant-1", user_id="29:lead")
    sender.post(say("Your stale actions: /wsoa mine"), address)
    [created] = standin.calls_of("create_conversation")
    assert created.json["bot"] == {"id": f"28:{APP_ID}"}
    [post] = standin.delivered()
    assert post.conversation_id == "a:personal-29:lead"


def test_a_thousand_action_digest_is_accepted_once_after_a_429(
    runtime: Runtime, standin: TeamsStandIn, sender: TeamsSender
) -> None:
    load_plan(runtime, 1000)
    with unit_of_work(runtime.sessions) as session:
        board = session.scalars(select(BoardMeeting)).one()
        reply = build_digest(
            session,
            runtime.settings,
            NOW,
            DigestFor(channel_id=CHANNEL, plan_id=board.plan_id, board=board),
        )
    standin.fail_next(1, status=429, retry_after=1)
    sender.post(reply, TeamsAddress(standin.service_url, "tenant-1", TEAMS_CHANNEL))
    [post] = standin.delivered()
    assert len(json.dumps(post.json).encode()) < MAX_BODY_BYTES
    [attachment] = post.json["attachments"]
    assert card_errors(attachment["content"]) == []
    shown = cards.unescape(json.dumps(post.json, ensure_ascii=False))
    assert "SEND Improvement Board" in shown and "more: @WSoA list red" in shown


def test_an_address_needs_somewhere_to_go(sender: TeamsSender) -> None:
    with pytest.raises(ValueError):
        sender.post(say("x"), TeamsAddress("https://s/uk/", "tenant-1"))
