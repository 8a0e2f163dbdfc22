"""A delivery whose post outlasts its lease is not posted again by a second ticker: the ticker
posting renews its lease while the post is in progress (scheduler/claims.py `held`)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.addresses import Address
from bot.runtime import Runtime
from bot.services import boards
from bot.slack.sender import SlackSender
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from bot.teams import connector as bc
from bot.teams.sender import TeamsSender, bot_account_id
from scheduler import deliveries
from scheduler.deliveries import tick
from tests.conftest import NOW
from tests.slack_standin import SlackStandIn
from tests.teams_standin import TeamsStandIn
from tests.test_scheduler import (  # noqa: F401 (fixtures: standin, slack_settings, sender)
    add_board,
    delivery,
    history_from_posts,
    posted,
    sender,
    slack_settings,
    standin,
)

LEASE = timedelta(seconds=1)


class SlowSender(SlackSender):
    """Posts, but only after holding on for `hold` seconds: a platform that takes its time."""

    def __init__(self, inner: SlackSender, hold: float) -> None:
        super().__init__(inner.client)
        self.hold = hold
        self.started = threading.Event()

    def post(self, channel: str, payload: dict[str, Any], key: str) -> str:
        self.started.set()
        time.sleep(self.hold)
        return super().post(channel, payload, key)


def test_a_post_that_outlasts_its_lease_is_posted_once(
    runtime: Runtime,
    sender: SlackSender,  # noqa: F811
    standin: SlackStandIn,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "LEASE", LEASE)
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    history_from_posts(standin)
    slow = SlowSender(sender, hold=3 * LEASE.total_seconds())
    first = threading.Thread(target=tick, args=(runtime, slow, NOW))
    first.start()
    assert slow.started.wait(10)
    time.sleep(2 * LEASE.total_seconds())

    # Two leases after the claim, by its own clock and the wall's, a second ticker comes by
    # while the first post is still on its way.
    second = tick(runtime, sender, NOW + 2 * LEASE)
    first.join()

    assert second.sent == []
    assert len(posted(standin, key)) == 1
    row = delivery(runtime, key)
    assert row is not None and row.state == "sent" and row.attempts == 1


def test_a_ticker_that_died_stops_renewing_and_is_taken_over(
    runtime: Runtime,
    sender: SlackSender,  # noqa: F811
    standin: SlackStandIn,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Renewal lasts only as long as the post: an interrupted send is still recovered."""
    monkeypatch.setattr(deliveries, "LEASE", LEASE)
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    history_from_posts(standin)

    class Dies(SlackSender):
        def post(self, channel: str, payload: dict[str, Any], key: str) -> str:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tick(runtime, Dies(sender.client), NOW)
    time.sleep(2 * LEASE.total_seconds())
    assert tick(runtime, sender, NOW + 2 * LEASE).sent == [key]
    assert len(posted(standin, key)) == 1


def test_a_post_waiting_out_a_429_checks_its_claim_before_posting(
    runtime: Runtime,
    sender: SlackSender,  # noqa: F811
    standin: SlackStandIn,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first ticker's post is answered 429 and waits out Retry-After; meanwhile a second
    ticker, its clock 11 minutes ahead, finds the lease run out, takes the delivery over, finds
    no message and posts it. The first, done waiting, sees the claim is no longer its own and
    does not post: one message. (The first ticker's wait ends when the second is done, so the
    order is the test's, not the machine's.)"""
    from slack_sdk.http_retry import builtin_handlers

    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    history_from_posts(standin)
    standin.fail_next("chat.postMessage", status=429, retry_after=2)
    waiting, second_done = threading.Event(), threading.Event()

    def wait_out(seconds: float) -> None:
        waiting.set()
        assert second_done.wait(30)

    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=wait_out))
    reports: list[deliveries.TickReport] = []
    first = threading.Thread(target=lambda: reports.append(tick(runtime, sender, NOW)))
    first.start()
    assert waiting.wait(30)  # the 429: the first ticker is waiting now

    try:
        second = tick(runtime, sender, NOW + timedelta(minutes=11))
    finally:
        second_done.set()
        first.join()

    assert second.sent == [key]
    assert len(posted(standin, key)) == 1
    assert reports[0].sent == [] and reports[0].elsewhere == 1
    row = delivery(runtime, key)
    assert row is not None and row.state == "sent" and row.attempts == 2


def test_a_teams_post_waiting_out_a_429_checks_its_claim_before_posting(
    runtime: Runtime,
) -> None:
    """The same on Teams, through the Bot Connector's own 429 handling (Teams cannot be asked
    whether a message arrived, so the claim is all that stops a second post)."""
    channel = "19:board@thread.tacv2"
    waiting, second_done = threading.Event(), threading.Event()

    def wait_out(seconds: float) -> None:
        waiting.set()
        assert second_done.wait(30)

    with TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as teams:
        # each ticker its own connector, as in two processes; the first's wait is the test's
        slow = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(), sleep=wait_out)
        quick = bc.Connector(tokens=bc.DevTokens(), retry=bc.RetryPolicy(base_delay=0.05))
        bot_id = bot_account_id("00000000-1111-4222-8333-444444444444")
        try:
            board = add_board(runtime, NOW + timedelta(days=1))
            with unit_of_work(runtime.sessions) as session:
                session.get_one(BoardMeeting, board.id).address = Address(
                    platform="teams",
                    workspace="tenant-1",
                    conversation=channel,
                    service_url=teams.service_url,
                )
            key = boards.board_digest_key(board)
            teams.fail_next(1, status=429, retry_after=2, kind="send")
            reports: list[deliveries.TickReport] = []
            first_sender = TeamsSender(connector=slow, bot_id=bot_id)
            first = threading.Thread(
                target=lambda: reports.append(tick(runtime, first_sender, NOW))
            )
            first.start()
            assert waiting.wait(30)  # the 429: the first ticker is waiting now
            try:
                second_sender = TeamsSender(connector=quick, bot_id=bot_id)
                second = tick(runtime, second_sender, NOW + timedelta(minutes=11))
            finally:
                second_done.set()
                first.join()
        finally:
            slow.close()
            quick.close()
        sent = [c for c in teams.calls_of("send") if c.ok and c.conversation_id == channel]
    assert second.sent == [key] and len(sent) == 1
    assert reports[0].sent == [] and reports[0].elsewhere == 1
