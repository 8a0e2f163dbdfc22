"""A replayed request changes nothing: the same signed request sent again within Slack's window
is answered as done and not run; Slack's own retries of an event likewise; a person's deliberate
second identical command, signed anew, runs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select

from bot.http.replay import KEEP, RecentKeys, ReplayGuard, prune, request_key
from bot.runtime import Runtime
from bot.store.db import session_factory
from bot.store.models import FollowUp, SeenRequest
from tests.conftest import ADMIN, LEAD_11F
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.slack_requests import FORM


def slash_body(text: str, user_id: str) -> bytes:
    """One slash command's bytes, to be sent more than once."""
    return urlencode(
        {
            "team_id": "T1",
            "channel_id": "C_BOARD",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/wsoa",
            "text": text,
            "api_app_id": "A_WSOA",
            "response_url": "https://hooks.slack.com/commands/T1/1/abc",
            "trigger_id": "1.2.3",
        }
    ).encode()


def count(runtime: Runtime, model: type[FollowUp] | type[SeenRequest]) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_signed_update_sent_twice_records_one(demo: Runtime, slack: SlackHarness) -> None:
    body = slash_body("update 11F amber Toolkit pilot live", LEAD_11F)
    signed_at = int(time.time())
    before = slack.updates()

    first = slack.sim.post(body, FORM, timestamp=signed_at)
    replayed = slack.sim.post(body, FORM, timestamp=signed_at)

    assert first.status == 200 and "11F" in first.text
    assert replayed.status == 200 and replayed.body == b""
    assert slack.updates() == before + 1

    # The lead means it: the same words a minute later are a new request, newly signed.
    again = slack.sim.post(body, FORM, timestamp=signed_at + 60)
    assert again.status == 200 and "11F" in again.text
    assert slack.updates() == before + 2


def test_a_replayed_followup_is_logged_once(demo: Runtime, slack: SlackHarness) -> None:
    body = slash_body("followup add 11F How many are over the 30 week wait?", ADMIN)
    signed_at = int(time.time())
    before = count(demo, FollowUp)
    answers = [slack.sim.post(body, FORM, timestamp=signed_at) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert count(demo, FollowUp) == before + 1


def test_slacks_retry_of_an_event_is_not_run_again(demo: Runtime, slack: SlackHarness) -> None:
    opened = {"type": "app_home_opened", "user": LEAD_11F, "channel": "D0LEAD", "tab": "home"}
    assert slack.sim.event(opened, event_id="Ev0RETRIED").status == 200
    slack.standin.wait_for("views.publish")
    # Slack signs its retry anew (a new timestamp), with the same event_id.
    retry = slack.sim.event(
        opened, event_id="Ev0RETRIED", retry_num=1, timestamp=int(time.time()) + 1
    )
    assert retry.status == 200
    time.sleep(0.3)
    assert len(slack.standin.calls_to("views.publish")) == 1


def test_keys_name_the_event_or_the_signature() -> None:
    event = json.dumps({"type": "event_callback", "event_id": "Ev123"}).encode()
    assert request_key("v0=aa", event, "application/json") == "event:Ev123"
    assert request_key("v0=bb", event, "application/json") == "event:Ev123"
    form = b"command=%2Fwsoa&text=summary"
    assert request_key("v0=aa", form, FORM).startswith("sig:")
    assert request_key("v0=aa", form, FORM) != request_key("v0=bb", form, FORM)
    assert request_key("v0=aa", b"[1]", "application/json").startswith("sig:")
    assert len(request_key("v0=" + "f" * 64, b"{not json", "application/json")) <= 80


def test_seen_keys_are_kept_for_the_window_and_pruned_in_batches(runtime: Runtime) -> None:
    guard = ReplayGuard(runtime)
    assert guard.first_time("sig:one") is True
    assert guard.first_time("sig:one") is False
    old = datetime.now(UTC) - KEEP - timedelta(minutes=1)
    with runtime.sessions.begin() as session:
        session.add_all(SeenRequest(key=f"sig:old-{n}", seen_at=old) for n in range(7))

    assert prune(runtime, datetime.now(UTC) - KEEP, batch=5) == 5
    assert prune(runtime, datetime.now(UTC) - KEEP, batch=5) == 2
    assert prune(runtime, datetime.now(UTC) - KEEP, batch=5) == 0
    assert count(runtime, SeenRequest) == 1
    assert guard.first_time("sig:one") is False  # still within the window


def test_a_repeat_is_caught_even_when_the_database_cannot_be_asked(runtime: Runtime) -> None:
    guard = ReplayGuard(runtime)
    working = runtime.sessions
    runtime.sessions = session_factory(create_engine("sqlite:////nonexistent-folder/gone.db"))
    try:
        assert guard.first_time("sig:while-busy") is True  # answered, not refused
        assert guard.first_time("sig:while-busy") is False  # this process remembers it
    finally:
        runtime.sessions.kw["bind"].dispose()
        runtime.sessions = working
    assert count(runtime, SeenRequest) == 0


def test_this_process_remembers_a_bounded_number_of_keys_for_the_window() -> None:
    recent = RecentKeys(limit=3, keep=0.2)
    assert [recent.add(k) for k in ("a", "b", "a", "c", "d")] == [True, True, False, True, True]
    assert recent.add("a") is True  # pushed out by the limit
    time.sleep(0.25)
    assert recent.add("d") is True  # out of the window
