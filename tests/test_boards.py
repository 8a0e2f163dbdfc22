"""`board` commands and the rules behind them: digest lead time, moving a meeting, and a
`board list` that reports what really became of each digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from bot.addresses import Address
from bot.config import Settings
from bot.runtime import Runtime
from bot.services import boards
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting, Subscription
from scheduler.deliveries import tick
from tests.conftest import LEAD_11F, NOW, Clock, Console
from tests.slack_standin import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def sender(settings: Settings, standin: SlackStandIn) -> SlackSender:
    return SlackSender(make_client(settings.model_copy(update={"slack_api_url": standin.url})))


def meeting(runtime: Runtime, board_id: int) -> BoardMeeting:
    with unit_of_work(runtime.sessions) as session:
        return session.get_one(BoardMeeting, board_id)


def test_board_digest_sets_a_meetings_lead_time(demo: Runtime, console: Console) -> None:
    out = console("board digest B-1 72")

    assert "B-1: SEND Improvement Board" in out
    assert "72 hours before the meeting" in out
    assert "pre-board digest at Sun 29 Nov 2026 14:00" in out
    assert meeting(demo, 1).digest_hours_before == 72
    assert "Sun 29 Nov 2026 14:00" in console("board list")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("board digest B-1", "needs an id and a number of hours"),
        ("board digest B-1 0", "is not a number of hours"),
        ("board digest B-1 337", "is not a number of hours"),
        ("board digest B-1 two", "is not a number of hours"),
        ("board digest B-99 24", "No board meeting B-99"),
    ],
)
def test_bad_board_digest_commands_change_nothing(
    demo: Runtime, console: Console, command: str, expected: str
) -> None:
    assert expected in console(command)
    assert meeting(demo, 1).digest_hours_before == 48


def test_only_admins_change_a_digest_time_or_move_a_meeting(
    demo: Runtime, console: Console
) -> None:
    assert "Only programme managers" in console("board digest B-1 24", user=LEAD_11F)
    assert "Only programme managers" in console("board move B-1 2026-12-09 14:00", user=LEAD_11F)
    assert meeting(demo, 1).digest_hours_before == 48


def test_board_move_changes_the_time_and_the_digest_key(demo: Runtime, console: Console) -> None:
    before = boards.board_digest_key(meeting(demo, 1))

    out = console("board move B-1 2026-12-09 14:00")

    assert "Moved B-1: SEND Improvement Board to Wed 9 Dec 2026 14:00" in out
    moved = meeting(demo, 1)
    assert moved.starts_at == datetime(2026, 12, 9, 14, 0, tzinfo=UTC)
    assert boards.board_digest_key(moved) != before
    assert "in the past" in console("board move B-1 2026-01-09 14:00")


def test_board_list_reports_each_digests_delivery(
    demo: Runtime, clock: Clock, console: Console, sender: SlackSender, standin: SlackStandIn
) -> None:
    with unit_of_work(demo.sessions) as session:
        session.execute(
            update(BoardMeeting).values(
                channel_id="C0BOARD", address=Address(platform="slack", conversation="C0BOARD")
            )
        )
        session.execute(update(BoardMeeting).where(BoardMeeting.id == 3).values(removed_at=NOW))
    assert "not yet due" in console("board list")

    tick(demo, sender, NOW)  # B-2's reminders to leads (its digest is due at NOW + 1 day)
    standin.error_next("chat.postMessage", "not_in_channel")
    tick(demo, sender, NOW + timedelta(days=1))
    clock.now = NOW + timedelta(days=1, minutes=1)
    assert "failed 1×, retrying" in console("board list")

    tick(demo, sender, NOW + timedelta(days=1, minutes=1))
    clock.now = NOW + timedelta(days=1, minutes=2)
    listing = console("board list")
    assert "delivered Tue 24 Nov 2026 10:01" in listing

    clock.now = NOW + timedelta(days=7, hours=5)
    assert "due now" in console("board list")


def test_weekly_due_times_follow_the_partnerships_clock() -> None:
    subscription = Subscription(
        weekday=0, time=time(9, 0), changed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    tz = Settings().tz

    summer = boards.weekly_due_at(subscription, datetime(2026, 6, 3, tzinfo=UTC), tz)
    winter = boards.weekly_due_at(subscription, datetime(2026, 12, 2, tzinfo=UTC), tz)

    assert summer == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert winter == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 09:00 GMT
    assert boards.weekly_key("C1", datetime(2027, 1, 3).date()) == "weekly:C1:2026-W53"


def test_keys_name_the_meeting_start(demo: Runtime) -> None:
    with unit_of_work(demo.sessions) as session:
        board = session.scalars(select(BoardMeeting).order_by(BoardMeeting.starts_at)).first()
        assert board is not None
    key = boards.board_digest_key(board)
    assert key == f"board-digest:{board.id}:20261126T1000Z"
    assert boards.meeting_start_in_key(key) == board.starts_at
    assert boards.meeting_start_in_key(boards.reminder_key(board, "U1")) == board.starts_at
    assert boards.meeting_start_in_key("weekly:C1:2026-W48") is None
