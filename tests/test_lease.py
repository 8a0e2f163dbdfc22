"""A delivery whose post outlasts its lease is not posted again by a second ticker: the ticker
posting renews its lease while the post is in progress (scheduler/claims.py `held`)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.runtime import Runtime
from bot.services import boards
from bot.slack.sender import SlackSender
from scheduler import deliveries
from scheduler.deliveries import tick
from tests.conftest import NOW
from tests.slack_standin import SlackStandIn
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
