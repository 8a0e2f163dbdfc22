"""The scheduler with the console's sender: no chat platform anywhere. A meeting added at the
console gets its digest at the console, once, rendered as plain text."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.runtime import Runtime
from bot.senders import ConsoleSender
from bot.services import boards
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from scheduler.deliveries import tick
from tests.conftest import ADMIN, NOW, Clock, Console


def test_a_console_meeting_gets_its_digest_at_the_console_once(
    demo: Runtime, console: Console, clock: Clock
) -> None:
    console("board add 2026-11-26 14:00 Console Test Board", user=ADMIN)
    with unit_of_work(demo.sessions) as session:
        board = session.scalars(
            select(BoardMeeting).where(BoardMeeting.name == "Console Test Board")
        ).one()
        key = boards.board_digest_key(board)
        due = boards.digest_due_at(board)
    sender = ConsoleSender()

    report = tick(demo, sender, due + timedelta(minutes=1))

    assert key in report.sent
    [(address, _, text)] = [s for s in sender.sent if s[1] == key]
    assert address.platform == "console"
    assert "WSoA digest before Console Test Board" in text
    assert "/wsoa" not in text  # the console types commands bare
    assert key not in tick(demo, sender, due + timedelta(minutes=2)).sent
    assert due > NOW
