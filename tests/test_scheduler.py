"""Scheduled deliveries: what `tick(at)` sends, when, and that it sends each thing once, against
the Web API stand-in over real HTTP, on SQLite and (with WSOA_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.addresses import Address, console_address
from bot.config import Settings
from bot.domain import Surface
from bot.runtime import Runtime
from bot.senders import senders_of
from bot.serve import run_tick
from bot.services import boards
from bot.services.plans import current_plan
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.store.db import unit_of_work
from bot.store.models import Action, BoardMeeting, Delivery, Person, Subscription
from scheduler.clock import start_clock
from scheduler.deliveries import LEASE, MAX_ATTEMPTS, tick
from tests.conftest import ADMIN, NOW
from tests.slack_standin import Call, SlackStandIn

# Slack's failures do not depend on the database: one backend keeps the waits for Retry-After
# and the client's backoff to a few seconds.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CHANNEL = "C0BOARD"
WEEKLY_CHANNEL = "C0WEEKLY"


class Crash(BaseException):
    """The process dying mid-tick (not an Exception, so nothing in the tick catches it)."""


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def slack_settings(settings: Settings, standin: SlackStandIn) -> Settings:
    return settings.model_copy(update={"slack_api_url": standin.url})


@pytest.fixture
def sender(slack_settings: Settings) -> SlackSender:
    return SlackSender(make_client(slack_settings))


def slack_channel(channel: str) -> Address:
    return Address(platform="slack", conversation=channel)


def add_board(
    runtime: Runtime, starts_at: datetime, *, channel: str = CHANNEL, hours: int = 48
) -> BoardMeeting:
    with unit_of_work(runtime.sessions) as session:
        board = BoardMeeting(
            plan_id=current_plan(session, NOW, create=True).id,
            name="SEND Improvement Board",
            starts_at=starts_at,
            channel_id=channel,
            address=console_address() if channel == "console" else slack_channel(channel),
            digest_hours_before=hours,
            source=Surface.SLACK,
            created_at=NOW - timedelta(days=30),
        )
        session.add(board)
        session.flush()
        return board


def subscribe(
    runtime: Runtime,
    channel: str = WEEKLY_CHANNEL,
    weekday: int = 0,
    at: str = "09:00",
    since: datetime = NOW - timedelta(days=60),
) -> None:
    with unit_of_work(runtime.sessions) as session:
        session.add(
            Subscription(
                plan_id=current_plan(session, NOW, create=True).id,
                channel_id=channel,
                address=console_address() if channel == "console" else slack_channel(channel),
                weekday=weekday,
                time=wall_time.fromisoformat(at),
                source=Surface.SLACK,
                changed_at=since,
            )
        )


def delivery(runtime: Runtime, key: str) -> Delivery | None:
    with unit_of_work(runtime.sessions) as session:
        return session.scalars(select(Delivery).where(Delivery.key == key)).first()


def posted(standin: SlackStandIn, key: str | None = None) -> list[Call]:
    """Messages Slack accepted, optionally only those carrying a delivery key."""
    return [
        call
        for call in standin.calls_to("chat.postMessage")
        if call.ok and (key is None or call.params["metadata"]["event_payload"]["key"] == key)
    ]


def history_from_posts(standin: SlackStandIn) -> None:
    """Make conversations.history answer with what was really posted to the channel asked about
    (the stand-in records posts but keeps no history of its own)."""

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        messages = [
            {
                "type": "message",
                "ts": call.response["ts"],
                "text": call.params["text"],
                "metadata": call.params["metadata"],
            }
            for call in posted(standin)
            if call.response and call.response["channel"] == params["channel"]
        ]
        return {"messages": messages[::-1], "has_more": False}

    standin.answer_with("conversations.history", answer)


# --- when things fall due


def test_board_digest_goes_at_its_time_and_only_once(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=3))
    due = board.starts_at - timedelta(hours=48)
    key = boards.board_digest_key(board)

    assert tick(runtime, sender, due - timedelta(seconds=1)).sent == []
    assert tick(runtime, sender, due).sent == [key]
    assert tick(runtime, sender, due + timedelta(minutes=1)).sent == []
    assert tick(runtime, sender, due + timedelta(hours=20)).sent == []

    [post] = posted(standin)
    assert post.params["channel"] == CHANNEL
    assert "SEND Improvement Board" in post.params["text"]
    row = delivery(runtime, key)
    assert row is not None and row.state == "sent" and row.attempts == 1
    assert row.message_ts == post.response["ts"] if post.response else False
    assert row.sent_at == due


def test_board_digest_lead_time_is_per_board(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=5), hours=96)
    due = board.starts_at - timedelta(hours=96)

    assert tick(runtime, sender, due - timedelta(minutes=1)).sent == []
    assert tick(runtime, sender, due).sent == [boards.board_digest_key(board)]


def test_reminders_go_five_days_before_to_each_stale_lead(
    demo: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    with unit_of_work(demo.sessions) as session:
        session.execute(update(BoardMeeting).values(removed_at=NOW))  # the demo's own meetings
        # A lead the plan names by e-mail only, not yet linked to Slack, with a stale action.
        unlinked = Person(name="Pat Unlinked", email="pat@demo.example")
        session.add(unlinked)
        action = session.scalars(select(Action).where(Action.ref == "17C")).one()
        action.leads.append(unlinked)
    board = add_board(demo, NOW + timedelta(days=9))
    due = board.starts_at - timedelta(days=5)

    assert tick(demo, sender, due - timedelta(minutes=1)).sent == []
    report = tick(demo, sender, due)

    reminders = [key for key in report.sent if key.startswith("reminder:")]
    assert len(reminders) >= 3
    assert len(posted(standin)) == len(reminders)
    for post in posted(standin):
        assert post.params["channel"].startswith("D")  # a direct message, opened first
        assert "no progress update for 42 days" in str(post.params["blocks"])
    opened = {call.params["users"] for call in standin.calls_to("conversations.open")}
    assert opened == {key.rsplit(":", 1)[1] for key in reminders}
    # Alison Whitfield (U0DEMO05) updated all her actions recently: no reminder for her.
    assert "U0DEMO05" not in opened
    # The unlinked lead is skipped (e-mail is not set up here), counted once, never retried.
    [skipped] = [key for key in report.skipped if key.startswith("reminder:")]
    assert skipped.endswith(":pat@demo.example")
    assert "no chat account linked, and e-mail is not set up" in str(report)
    later = tick(demo, sender, due + timedelta(hours=1))
    assert later.sent == [] and later.skipped == []


def test_a_lead_who_updates_before_a_late_reminder_is_not_reminded(
    demo: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    with unit_of_work(demo.sessions) as session:
        session.execute(update(BoardMeeting).values(removed_at=NOW))
        # Every action had an update on the day the reminder fell due.
        session.execute(update(Action).values(last_update_at=NOW + timedelta(days=4)))
    board = add_board(demo, NOW + timedelta(days=9))

    report = tick(demo, sender, board.starts_at - timedelta(days=4))

    assert [key for key in report.sent if key.startswith("reminder:")] == []


def test_weekly_digest_at_its_day_and_time_once_a_week(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    subscribe(runtime, weekday=0, at="09:00")
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # GMT in November

    assert tick(runtime, sender, monday_9 - timedelta(seconds=1)).sent == []
    assert tick(runtime, sender, monday_9).sent == [f"weekly:{WEEKLY_CHANNEL}:2026-W48"]
    assert tick(runtime, sender, monday_9 + timedelta(hours=5)).sent == []
    assert tick(runtime, sender, monday_9 + timedelta(days=7)).sent == [
        f"weekly:{WEEKLY_CHANNEL}:2026-W49"
    ]
    assert [post.params["channel"] for post in posted(standin)] == [WEEKLY_CHANNEL] * 2
    assert "Weekly WSoA digest" in posted(standin)[0].params["text"]


def test_a_new_subscription_starts_from_its_next_slot(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    subscribe(runtime, since=monday_9 + timedelta(minutes=30))

    assert tick(runtime, sender, monday_9 + timedelta(hours=1)).sent == []
    assert tick(runtime, sender, monday_9 + timedelta(days=7)).sent == [
        f"weekly:{WEEKLY_CHANNEL}:2026-W49"
    ]


def test_meetings_and_subscriptions_made_at_the_console_are_skipped_not_retried(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1), channel="console")

    report = tick(runtime, sender, NOW)

    assert report.skipped == [boards.board_digest_key(board)]
    assert "is on console, which this bot does not post to" in str(report)
    assert posted(standin) == []
    assert tick(runtime, sender, NOW + timedelta(minutes=1)).skipped == []


# --- catching up after a restart


def test_catch_up_sends_what_fell_due_while_down_within_grace(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    subscribe(runtime, weekday=0, at="09:00")
    board = add_board(runtime, NOW + timedelta(days=1))  # digest was due yesterday at 10:00

    report = tick(runtime, sender, monday_9 + timedelta(hours=23))

    assert sorted(report.sent) == sorted(
        [boards.board_digest_key(board), f"weekly:{WEEKLY_CHANNEL}:2026-W48"]
    )
    assert len(posted(standin)) == 2


def test_catch_up_skips_what_is_past_its_time(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    subscribe(runtime, weekday=0, at="09:00")
    board = add_board(runtime, monday_9 + timedelta(hours=2))  # met while nothing was running

    report = tick(runtime, sender, monday_9 + timedelta(hours=25))

    assert report.sent == []
    weekly = f"weekly:{WEEKLY_CHANNEL}:2026-W48"
    assert sorted(report.skipped) == sorted([boards.board_digest_key(board), weekly])
    assert posted(standin) == []
    skipped = delivery(runtime, weekly)
    assert (
        skipped is not None and skipped.state == "skipped" and "missed" in str(skipped.last_error)
    )
    # Skipped once, and then left alone.
    assert tick(runtime, sender, monday_9 + timedelta(hours=26)).skipped == []


def test_a_board_digest_is_never_sent_once_the_meeting_has_started(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    standin.error_next("chat.postMessage", "channel_not_found")
    assert tick(runtime, sender, NOW).failed == [boards.board_digest_key(board)]

    report = tick(runtime, sender, board.starts_at)

    assert report.abandoned == [boards.board_digest_key(board)]
    assert posted(standin, boards.board_digest_key(board)) == []


# --- meetings moved and removed


def test_a_moved_meeting_gets_a_new_digest(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    first_key = boards.board_digest_key(board)
    assert tick(runtime, sender, NOW).sent == [first_key]

    with unit_of_work(runtime.sessions) as session:
        moved = session.get_one(BoardMeeting, board.id)
        moved.starts_at = NOW + timedelta(days=8)
        second_key = boards.board_digest_key(moved)

    assert tick(runtime, sender, NOW + timedelta(days=5)).sent == []
    assert tick(runtime, sender, NOW + timedelta(days=6)).sent == [second_key]
    assert len(posted(standin, first_key)) == 1
    assert len(posted(standin, second_key)) == 1


def test_a_meeting_moved_after_its_digest_failed_drops_the_old_one(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    old_key = boards.board_digest_key(board)
    standin.error_next("chat.postMessage", "channel_not_found")
    assert tick(runtime, sender, NOW).failed == [old_key]
    with unit_of_work(runtime.sessions) as session:
        session.get_one(BoardMeeting, board.id).starts_at = NOW + timedelta(days=1, hours=4)

    report = tick(runtime, sender, NOW + timedelta(minutes=5))

    assert report.skipped == [old_key]
    assert report.sent == [f"board-digest:{board.id}:20261124T1400Z"]
    old = delivery(runtime, old_key)
    assert old is not None and old.state == "skipped"


def test_a_removed_meeting_gets_no_digest(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=3))
    with unit_of_work(runtime.sessions) as session:
        session.get_one(BoardMeeting, board.id).removed_at = NOW

    assert tick(runtime, sender, board.starts_at - timedelta(hours=47)).sent == []
    assert posted(standin) == []
    assert delivery(runtime, boards.board_digest_key(board)) is None


def test_a_meeting_removed_after_its_digest_failed_is_not_retried(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    standin.error_next("chat.postMessage", "channel_not_found")
    tick(runtime, sender, NOW)
    with unit_of_work(runtime.sessions) as session:
        session.get_one(BoardMeeting, board.id).removed_at = NOW

    report = tick(runtime, sender, NOW + timedelta(minutes=5))

    assert report.skipped == [key] and report.sent == []
    assert posted(standin) == []


# --- Slack failing


@SQLITE_ONLY
def test_a_429_waits_for_retry_after_then_posts_once(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    standin.fail_next("chat.postMessage", status=429, retry_after=1)

    report = tick(runtime, sender, NOW)

    assert report.sent == [boards.board_digest_key(board)]
    limited, accepted = standin.calls_to("chat.postMessage")
    assert limited.status == 429 and accepted.ok
    assert accepted.at - limited.at >= 1.0
    assert len(posted(standin)) == 1


@SQLITE_ONLY
def test_a_500_is_retried_by_the_client_and_posts_once(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    standin.fail_next("chat.postMessage", status=500)

    report = tick(runtime, sender, NOW)

    assert report.sent == [boards.board_digest_key(board)]
    assert [call.status for call in standin.calls_to("chat.postMessage")] == [500, 200]


@SQLITE_ONLY
def test_a_lasting_500_fails_the_tick_and_a_later_tick_delivers(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    standin.fail_next("chat.postMessage", status=500, times=4)  # the first try and 3 retries

    assert tick(runtime, sender, NOW).failed == [key]
    failed = delivery(runtime, key)
    assert failed is not None and failed.state == "failed" and "500" in str(failed.last_error)

    assert tick(runtime, sender, NOW + timedelta(seconds=30)).sent == []  # backing off
    assert tick(runtime, sender, NOW + timedelta(minutes=1)).sent == [key]
    assert len(posted(standin)) == 1
    sent = delivery(runtime, key)
    assert sent is not None and sent.state == "sent" and sent.attempts == 2


def test_after_the_last_attempt_it_is_abandoned_and_each_admin_told_once(
    runtime: Runtime, settings: Settings, standin: SlackStandIn
) -> None:
    runtime.settings = settings.model_copy(
        update={"slack_api_url": standin.url, "admins": frozenset({ADMIN, "U0DEMO02"})}
    )
    sender = SlackSender(make_client(runtime.settings))
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    standin.error_next("chat.postMessage", "not_in_channel", times=MAX_ATTEMPTS)

    at = NOW
    for attempt in range(1, MAX_ATTEMPTS):
        assert tick(runtime, sender, at).failed == [key], attempt
        at += timedelta(minutes=2 ** (attempt - 1))
    last = tick(runtime, sender, at)

    assert last.abandoned == [key]
    notice = f"notice:{delivery_id(runtime, key)}"
    assert sorted(last.sent) == sorted([f"{notice}:{ADMIN}", f"{notice}:U0DEMO02"])
    notices = [call for call in posted(standin) if call.params["channel"].startswith("D")]
    assert sorted(call.params["channel"] for call in notices) == sorted(["D" + ADMIN, "DU0DEMO02"])
    assert "not_in_channel" in str(notices[0].params["blocks"])
    assert CHANNEL in str(notices[0].params["blocks"])
    # Nothing more: no more attempts, no second notice.
    for later in (timedelta(minutes=30), timedelta(hours=5)):
        report = tick(runtime, sender, at + later)
        assert report.sent == [] and report.failed == [] and report.abandoned == []
    assert len(standin.calls_to("chat.postMessage")) == MAX_ATTEMPTS + 2
    abandoned = delivery(runtime, key)
    assert abandoned is not None and abandoned.state == "abandoned"
    assert abandoned.attempts == MAX_ATTEMPTS


def delivery_id(runtime: Runtime, key: str) -> int:
    row = delivery(runtime, key)
    assert row is not None
    return row.id


# --- a crash between Slack and the database


class CrashingSender(SlackSender):
    """Dies right after Slack accepted the post (or right before sending it)."""

    def __init__(self, inner: SlackSender, *, after_post: bool) -> None:
        super().__init__(inner.client)
        self.after_post = after_post

    def post(self, channel: str, payload: dict[str, Any], key: str) -> str:
        if not self.after_post:
            raise Crash
        super().post(channel, payload, key)
        raise Crash


def test_a_post_that_landed_before_a_crash_is_found_not_repeated(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    key = boards.board_digest_key(board)
    history_from_posts(standin)
    with pytest.raises(Crash):
        tick(runtime, CrashingSender(sender, after_post=True), NOW)
    interrupted = delivery(runtime, key)
    assert interrupted is not None and interrupted.state == "sending"

    # While the lease holds, nobody touches it; after, the channel is checked first.
    assert tick(runtime, sender, NOW + LEASE - timedelta(seconds=1)).sent == []
    assert standin.calls_to("conversations.history") == []
    report = tick(runtime, sender, NOW + LEASE)

    assert report.sent == [key]
    [post] = posted(standin)
    recovered = delivery(runtime, key)
    assert recovered is not None and recovered.state == "sent"
    assert post.response is not None and recovered.message_ts == post.response["ts"]
    [lookup] = standin.calls_to("conversations.history")
    assert lookup.params["channel"] == CHANNEL and lookup.params["include_all_metadata"] == "1"


def test_a_post_that_never_left_before_a_crash_is_sent_after_the_lease(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    history_from_posts(standin)
    with pytest.raises(Crash):
        tick(runtime, CrashingSender(sender, after_post=False), NOW)

    report = tick(runtime, sender, NOW + LEASE)

    assert report.sent == [boards.board_digest_key(board)]
    assert len(posted(standin)) == 1


def test_when_the_channel_cannot_be_checked_nothing_is_posted_blind(
    runtime: Runtime, sender: SlackSender, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))
    with pytest.raises(Crash):
        tick(runtime, CrashingSender(sender, after_post=True), NOW)
    standin.error_next("conversations.history", "missing_scope")

    report = tick(runtime, sender, NOW + LEASE)

    assert report.sent == [] and "could not confirm" in str(report)
    assert len(standin.calls_to("chat.postMessage")) == 1
    row = delivery(runtime, boards.board_digest_key(board))
    assert row is not None and row.state == "sending"


# --- the clock and `wsoa tick`


def test_the_in_process_clock_delivers_once(
    runtime: Runtime, slack_settings: Settings, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))  # due: the runtime's clock says NOW
    scheduler = start_clock(
        runtime, senders_of(SlackSender(make_client(slack_settings))), interval_seconds=0.1
    )
    try:
        standin.wait_for("chat.postMessage")
        time.sleep(0.5)  # several more ticks
    finally:
        scheduler.shutdown()

    assert len(posted(standin, boards.board_digest_key(board))) == 1
    assert len(standin.calls_to("chat.postMessage")) == 1


def test_run_tick_reports_what_it_did(
    runtime: Runtime, slack_settings: Settings, standin: SlackStandIn
) -> None:
    board = add_board(runtime, NOW + timedelta(days=1))

    report = str(run_tick(slack_settings, at=NOW))

    assert "sent (1)" in report and boards.board_digest_key(board) in report
    assert "nothing was due" in str(run_tick(slack_settings, at=NOW))


def test_a_running_wsoa_serve_delivers_from_its_clock(
    runtime: Runtime, database_url: str, standin: SlackStandIn
) -> None:
    # `wsoa serve` runs on the wall clock: a meeting 47 hours away has its digest due now.
    board = add_board(runtime, datetime.now(UTC) + timedelta(hours=47))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "WSOA_DATABASE_URL": database_url,
        "SLACK_API_URL": standin.url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
    }
    command = [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        standin.wait_for("chat.postMessage", timeout=30)
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=30)

    assert len(posted(standin, boards.board_digest_key(board))) == 1, log
    row = delivery(runtime, boards.board_digest_key(board))
    assert row is not None and row.state == "sent", log
