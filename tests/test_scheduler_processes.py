"""Three `wsoa tick` processes at the same instant, on one database: every occurrence is posted
exactly once (SQLite, and PostgreSQL when WSOA_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.addresses import Address
from bot.domain import Surface
from bot.runtime import Runtime
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting, Delivery, Subscription
from tests.conftest import ADMIN, NOW
from tests.slack_standin import SlackStandIn

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 3


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


def test_concurrent_tick_processes_deliver_each_occurrence_once(
    demo: Runtime, database_url: str, standin: SlackStandIn
) -> None:
    with unit_of_work(demo.sessions) as session:
        # The demo's meetings, in a Slack channel; the first one's digest is due now.
        session.execute(
            update(BoardMeeting).values(
                channel_id="C0BOARD", address=Address(platform="slack", conversation="C0BOARD")
            )
        )
        first = session.scalars(select(BoardMeeting).order_by(BoardMeeting.starts_at)).first()
        assert first is not None
        first.digest_hours_before = 96
        session.add(
            Subscription(
                plan_id=current_plan(session, NOW, create=True).id,
                channel_id="C0WEEKLY",
                address=Address(platform="slack", conversation="C0WEEKLY"),
                weekday=0,
                time=time(9, 0),
                source=Surface.SLACK,
                changed_at=NOW - timedelta(days=30),
            )
        )
    env = {
        **os.environ,
        "WSOA_DATABASE_URL": database_url,
        "SLACK_API_URL": standin.url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "WSOA_ADMINS": ADMIN,
    }

    tickers = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "tick", "--at", NOW.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [ticker.communicate(timeout=120) for ticker in tickers]

    for ticker, (_, err) in zip(tickers, outputs, strict=True):
        assert ticker.returncode == 0, err
    with unit_of_work(demo.sessions) as session:
        rows = session.scalars(select(Delivery)).all()
    sent = {row.key for row in rows if row.state == "sent"}
    assert {row.state for row in rows} == {"sent"}
    assert "weekly:C0WEEKLY:2026-W48" in sent
    assert any(key.startswith("board-digest:") for key in sent)
    assert sum(key.startswith("reminder:") for key in sent) >= 3
    posts = Counter(
        call.params["metadata"]["event_payload"]["key"]
        for call in standin.calls_to("chat.postMessage")
        if call.ok
    )
    assert set(posts) == sent
    assert set(posts.values()) == {1}, posts
    # Each process's report names what it sent; together they name each delivery once.
    reported = [key for out, _ in outputs for key in _sent_in_report(out)]
    assert sorted(reported) == sorted(sent), [out for out, _ in outputs]


def _sent_in_report(report: str) -> list[str]:
    keys, section = [], ""
    for line in report.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            section = line.strip().split(" ")[0]
        elif section == "sent" and " → " in line:
            keys.append(line.strip().split(" → ")[0])
    return keys
