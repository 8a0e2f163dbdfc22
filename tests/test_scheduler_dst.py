"""Weekly digests across the clock changes in Europe/London (29 March and 25 October 2026):
09:00 local on both sides of each change, once a week, none missed and none doubled."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.addresses import console_address
from bot.domain import Surface
from bot.runtime import Runtime
from bot.senders import ConsoleSender
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import Delivery, Subscription
from scheduler.deliveries import tick

LONDON = ZoneInfo("Europe/London")
STEP = timedelta(hours=1)


@pytest.fixture
def sender() -> ConsoleSender:
    """The console's sender: a scheduling test needs no chat platform."""
    return ConsoleSender()


def subscribe(runtime: Runtime, channel: str, weekday: int, at: str, since: datetime) -> None:
    with unit_of_work(runtime.sessions) as session:
        session.add(
            Subscription(
                plan_id=current_plan(session, datetime(2026, 1, 1, tzinfo=UTC), create=True).id,
                channel_id=channel,
                address=console_address(channel),
                weekday=weekday,
                time=time.fromisoformat(at),
                source=Surface.SLACK,
                changed_at=since,
            )
        )


def deliveries(runtime: Runtime, channel: str) -> list[Delivery]:
    with unit_of_work(runtime.sessions) as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.target == channel).order_by(Delivery.due_at)
        ).all()
    assert {row.state for row in rows} == {"sent"}
    return list(rows)


def local(at: datetime | None) -> datetime:
    assert at is not None
    return at.astimezone(LONDON).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("change", "mondays"),
    [
        # spring forward: Sunday 29 March, 01:00 GMT → 02:00 BST
        (datetime(2026, 3, 29), [(2026, 3, 23), (2026, 3, 30)]),
        # fall back: Sunday 25 October, 02:00 BST → 01:00 GMT
        (datetime(2026, 10, 25), [(2026, 10, 19), (2026, 10, 26)]),
    ],
    ids=["march", "october"],
)
def test_weekly_digests_keep_local_time_across_the_clock_change(
    runtime: Runtime,
    sender: ConsoleSender,
    change: datetime,
    mondays: list[tuple[int, int, int]],
) -> None:
    # Every half hour from the Saturday before the previous Monday to the Wednesday after.
    at = (change - timedelta(days=8)).replace(tzinfo=UTC)
    end = (change + timedelta(days=3)).replace(tzinfo=UTC)
    subscribe(runtime, "C0MONDAY", weekday=0, at="09:00", since=at)
    # 01:30 on the change day is skipped in March and happens twice in October.
    subscribe(runtime, "C0SUNDAY", weekday=6, at="01:30", since=at)
    while at <= end:
        tick(runtime, sender, at)
        at += STEP

    mondays_sent = deliveries(runtime, "C0MONDAY")
    expected = [datetime(*day, 9, 0) for day in mondays]
    assert [local(row.due_at) for row in mondays_sent] == expected
    assert [local(row.sent_at) for row in mondays_sent] == expected  # the first tick at 09:00
    sundays_sent = deliveries(runtime, "C0SUNDAY")
    assert len(sundays_sent) == 2  # the Sunday before, and the change day: once each
    assert local(sundays_sent[0].due_at) == change - timedelta(days=7) + timedelta(
        hours=1, minutes=30
    )
    # Spring: 01:30 does not exist, so it is read as 01:30 GMT (02:30 BST). Autumn: 01:30
    # happens twice, and the first (BST) is the one; the second finds this week already sent.
    assert sundays_sent[1].due_at == change.replace(
        hour=1 if change.month == 3 else 0, minute=30, tzinfo=UTC
    )
    assert len(sender.sent) == 4
    keys = [key for _, key, _ in sender.sent]
    assert len(set(keys)) == 4
