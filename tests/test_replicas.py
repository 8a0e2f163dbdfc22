"""Several `wsoa serve` replicas on one database, as a hosted deployment runs them (issue:
hosting): a replayed request refused by whichever replica it reaches, each delivery made once
by two replicas' schedulers and two `wsoa tick` at once, and a replica stopped by SIGTERM
finishing its requests, handing back the delivery it was waiting to post, and exiting 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

import bot.teams.connector as bc
from bot.addresses import Address
from bot.runtime import Runtime
from bot.services import boards
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting, Delivery, Update
from scheduler.deliveries import tick
from tests.conftest import ADMIN, LEAD_11F, NOW
from tests.http_process import SIGNING_SECRET, serving
from tests.slack_fixtures import view_of
from tests.slack_requests import FORM, SlackClientSim
from tests.slack_standin import SlackStandIn
from tests.teams_standin import TeamsStandIn
from tests.test_http_replay import slash_body
from tests.test_teams_wired import message, post

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0BOARD"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


def _board_due_now(runtime: Runtime) -> str:
    """The demo's first meeting in a Slack channel, its digest due at the tests' clock."""
    with unit_of_work(runtime.sessions) as session:
        session.execute(
            update(BoardMeeting).values(
                channel_id=CHANNEL, address=Address(platform="slack", conversation=CHANNEL)
            )
        )
        first = session.scalars(select(BoardMeeting).order_by(BoardMeeting.starts_at)).first()
        assert first is not None
        first.digest_hours_before = 96
        return boards.board_digest_key(first)


def _posted(standin: SlackStandIn) -> Counter[str]:
    return Counter(
        call.params["metadata"]["event_payload"]["key"]
        for call in standin.calls_to("chat.postMessage")
        if call.ok
    )


def _pg_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL, as a deployment does (WSOA_TEST_DATABASE_URL)")


def test_replicas_refuse_a_replay_and_deliver_each_thing_once(
    demo: Runtime, database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    _pg_only(database_url)
    key = _board_due_now(demo)
    env = {"WSOA_AS_OF": NOW.isoformat()}
    with ExitStack() as stack:
        # two replicas: each ticks as it starts, and every minute after
        first = stack.enter_context(serving(database_url, standin.url, tmp_path / "a", **env))
        second = stack.enter_context(serving(database_url, standin.url, tmp_path / "b", **env))
        # and two `wsoa tick` at the same moment
        environ = {
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
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for ticker in tickers:
            _, err = ticker.communicate(timeout=120)
            assert ticker.returncode == 0, err

        # one signed update, sent to one replica and replayed to the other
        before = _updates(demo)
        body = slash_body("update 11F amber Pilot live in six schools", LEAD_11F)
        signed_at = int(time.time())
        one = SlackClientSim(first.url, SIGNING_SECRET, standin)
        other = SlackClientSim(second.url, SIGNING_SECRET, standin)
        answered = one.post(body, FORM, timestamp=signed_at)
        replayed = other.post(body, FORM, timestamp=signed_at)
        assert answered.status == 200 and "11F" in answered.text
        assert replayed.status == 200 and replayed.body == b""
        assert _updates(demo) == before + 1
        deadline = time.monotonic() + 20
        while key not in _posted(standin) and time.monotonic() < deadline:
            time.sleep(0.2)

        # The lead's Home, rebuilt by each replica an update reaches: the one built from the
        # newer data lands last, even when Slack is slow to take the older one
        standin.wait_for("views.publish")
        homes = len(standin.calls_to("views.publish"))
        standin.answer_with("views.publish", _slow_first_publish())
        assert (
            one.post(slash_body("update 11F amber: told replica one", LEAD_11F), FORM).status == 200
        )
        time.sleep(0.5)  # replica one is publishing the Home it built
        assert (
            other.post(slash_body("update 11F amber: told replica two", LEAD_11F), FORM).status
            == 200
        )
        published = standin.wait_for("views.publish", count=homes + 2)
    assert "told replica two" in json.dumps(view_of(published[-1]))
    posts = _posted(standin)
    assert posts[key] == 1, posts
    assert set(posts.values()) == {1}, posts
    with unit_of_work(demo.sessions) as session:
        states = Counter(session.scalars(select(Delivery.state)))
    assert states["sent"] >= 1 and states["sending"] == 0, states


def _slow_first_publish() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A views.publish answerer that holds the first call for 2 s; Slack shows what it took
    last, which the stand-in records as it answers."""
    first = threading.Lock()

    def answer(_params: dict[str, Any]) -> dict[str, Any]:
        if first.acquire(blocking=False):
            time.sleep(2.0)
        return {"view": {"id": "V_HOME"}}

    return answer


def _updates(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Update)) or 0


def test_sigterm_finishes_a_request_hands_back_a_waiting_delivery_and_exits(
    demo: Runtime, database_url: str, standin: SlackStandIn, tmp_path: Path
) -> None:
    _board_due_now(demo)
    # Slack says "wait 30 s" to the first post: the replica's scheduler waits it out
    standin.fail_next("chat.postMessage", status=429, retry_after=30)
    with (
        TeamsStandIn(base_path="/uk/", token=bc.DEV_TOKEN) as teams,
        serving(
            database_url,
            standin.url,
            tmp_path / "log",
            WSOA_AS_OF=NOW.isoformat(),
            WSOA_TEAMS_DEV="1",
            WSOA_ANSWER_WITHIN="20",
        ) as replica,
    ):
        standin.wait_for("chat.postMessage", timeout=20)  # the 429: it is waiting now
        # a Teams message whose reply the Bot Connector takes 3 s to accept: in flight
        teams.delay_next(3.0)
        answer: dict[str, object] = {}

        def ask() -> None:
            body = message("help", teams.service_url, aad="x", user="29:someone", personal=True)
            answer["status"], answer["body"] = post(replica.url, body)

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(1.0)
        started = time.monotonic()
        replica.process.send_signal(signal.SIGTERM)
        code = replica.process.wait(timeout=15)
        took = time.monotonic() - started
        asking.join(timeout=10)
        log = replica.log()
        delivered = teams.delivered()
    assert code == 0, log
    assert took < 10, f"stopped after {took:.1f} s\n{log}"
    assert answer.get("status") == 200, (answer, log)
    assert delivered and "help" in json.dumps(delivered[-1].json).lower()
    assert "Traceback" not in log, log
    with unit_of_work(demo.sessions) as session:
        rows = session.scalars(select(Delivery).where(Delivery.state != "skipped")).all()
    (row,) = rows  # the one it was waiting to post; it began no other
    assert row.state == "sending" and "handed back" in (row.last_error or ""), row.last_error
    assert row.claimed_by.endswith("(handed back)")
    key = row.key
    assert len(_posted(standin)) == 0

    # another replica delivers it on its next tick, once
    settings = demo.settings.model_copy(update={"slack_api_url": standin.url})
    report = tick(demo, SlackSender(make_client(settings)), NOW + timedelta(seconds=30))
    assert key in report.sent, str(report)
    assert _posted(standin)[key] == 1


def test_a_post_handed_back_while_it_waited_sends_nothing(runtime: Runtime) -> None:
    """The race the hand-back must win: the stopping process hands the delivery back while its
    post waits; when the wait ends the post gives up (ClaimLost) rather than sending, even if
    the database has not yet heard of the hand-back."""
    from bot.senders import ClaimLost, claim_checked, waiting
    from scheduler.claims import Claim
    from scheduler.deliveries import InFlight

    in_flight = InFlight()
    claim = Claim(delivery_id=999_999, key="board-digest:1:x", attempts=1, by="here")
    with claim_checked(lambda: True, lambda waits: in_flight.mark(claim, waits)):
        with waiting():
            pass  # a wait that ends before any stop: the post goes on
        with pytest.raises(ClaimLost), waiting():
            in_flight.hand_back(runtime)  # SIGTERM arrives mid-wait
    assert in_flight.stopping.is_set()
