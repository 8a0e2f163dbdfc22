"""A digest of a 1,000-action plan: within Slack's limits, summarised with pointers rather than
cut, readable as text, and built with the same handful of statements as a small plan's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.addresses import Address
from bot.config import Settings
from bot.domain import Surface, ref_sort_key
from bot.render.blockkit import message
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest
from bot.services.people import Who, add_identity
from bot.services.plans import current_plan, get_or_create_workstream
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.store.db import unit_of_work
from bot.store.models import (
    Action,
    BoardMeeting,
    FollowUp,
    Person,
    Update,
    Workstream,
    action_leads,
)
from scheduler.deliveries import tick
from tests.conftest import NOW
from tests.slack_standin import SlackStandIn

WORDS = "graduated response toolkit uptake across secondary settings remains below target "
LONG_NOTE = (WORDS * 8).strip()  # ~650 characters, like a real highlight-report note
CHANNEL = "C0BOARD"


def load_plan(runtime: Runtime, actions: int, workstreams: int = 12) -> None:
    """A plan of `actions` actions: 40% red, 40% amber, a third overdue, every one with a long
    note, two leads with long names, recent updates, RAG moves, sign-offs and follow-ups."""
    with unit_of_work(runtime.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        for n in range(1, workstreams + 1):
            get_or_create_workstream(session, plan, f"Area of weakness {n}: " + WORDS[:60])
        for n in range(40):
            person = Person(name=f"Dr Alexandra Montgomery-Fairweather {n}")
            session.add(person)
            session.flush()
            add_identity(session, person, Who(platform="slack", external_id=f"U{n:07d}"))
        session.add(
            BoardMeeting(
                plan_id=plan.id,
                name="SEND Improvement Board",
                starts_at=NOW + timedelta(days=1),
                channel_id=CHANNEL,
                address=Address(platform="slack", conversation=CHANNEL),
                source=Surface.SLACK,
                created_at=NOW,
            )
        )
    add_actions(runtime, actions)


def add_actions(runtime: Runtime, count: int, start: int = 0) -> None:
    with unit_of_work(runtime.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        streams = list(session.scalars(select(Workstream).order_by(Workstream.position)))
        people = list(session.scalars(select(Person).order_by(Person.id)).unique())
        rows = []
        for n in range(start, start + count):
            ref = f"{n // 10 + 1}{chr(65 + n % 10)}.{n % 7 + 1}"
            rows.append(
                {
                    "plan_id": plan.id,
                    "workstream_id": streams[n % len(streams)].id,
                    "ref": ref,
                    "sort_key": ref_sort_key(ref),
                    "title": f"Action {n}: " + WORDS * 3,
                    "due": (NOW - timedelta(days=10 if n % 3 == 0 else -5)).date(),
                    "rag": ("red", "amber", "amber", "red", "green")[n % 5],
                    "status": "in progress",
                    "created_at": NOW - timedelta(days=200),
                    "last_update_at": NOW - timedelta(days=n % 60),
                    "last_note": LONG_NOTE,
                }
            )
        session.execute(insert(Action), rows)
        ids = list(
            session.scalars(
                select(Action.id)
                .where(Action.ref.in_([row["ref"] for row in rows]))
                .order_by(Action.id)
            )
        )
        session.execute(
            insert(action_leads),
            [
                {"action_id": action_id, "person_id": people[(i + k) % len(people)].id}
                for i, action_id in enumerate(ids)
                for k in (0, 1)
            ],
        )
        session.execute(
            insert(Update),
            [
                {
                    "plan_id": plan.id,
                    "action_id": action_id,
                    "at": NOW - timedelta(hours=i % 150),
                    "source": "slack",
                    "kind": "signoff" if i % 17 == 0 else "update",
                    "rag_from": "amber" if i % 4 == 0 else "red",
                    "rag_to": "red",
                    "note": LONG_NOTE,
                }
                for i, action_id in enumerate(ids)
            ],
        )
        session.execute(
            insert(FollowUp),
            [
                {
                    "plan_id": plan.id,
                    "action_id": ids[i] if i % 2 else None,
                    "workstream_id": None if i % 2 else streams[i % len(streams)].id,
                    "question": "How many are over 30 week wait? " + WORDS * 2,
                    "raised_at": NOW - timedelta(days=i),
                    "source": "slack",
                }
                for i in range(count // 5)
            ],
        )


def build(runtime: Runtime) -> tuple[dict[str, object], str]:
    with unit_of_work(runtime.sessions) as session:
        board = session.scalars(select(BoardMeeting)).one()
        reply = build_digest(
            session,
            runtime.settings,
            NOW,
            DigestFor(channel_id=CHANNEL, plan_id=board.plan_id, board=board, prefix="/wsoa "),
        )
        return message(reply), render_text(reply)


def test_a_digest_of_a_thousand_actions_fits_slacks_limits(runtime: Runtime) -> None:
    load_plan(runtime, 1000)

    payload, text = build(runtime)

    blocks = payload["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    shown = str(blocks)
    # Long lists are summarised with a pointer to the full list, never dropped in silence.
    assert "/wsoa list red" in shown and "/wsoa list amber" in shown
    assert "more" in shown
    assert "Red actions (400)" in shown
    # The plain text says the same, with the same pointers.
    assert "Red actions (400)" in text and "Amber actions (400)" in text
    assert "…and 375 more: /wsoa list red" in text
    assert "Open follow-ups (200)" in text
    assert "Meeting: " in text


def test_a_digest_issues_the_same_statements_whatever_the_plan_size(
    runtime: Runtime, count_statements: Callable[[Callable[[], object]], int]
) -> None:
    # 200 actions already fill every list past what a digest names, so counts are needed too.
    load_plan(runtime, 200)
    small = count_statements(lambda: build(runtime))
    add_actions(runtime, 800, start=200)

    large = count_statements(lambda: build(runtime))

    assert large == small
    # the four lists read their leads together, the red and amber totals come from the
    # counts, and the follow-ups are plain rows with whether each is answered; one more for
    # the history's chain head it prints: 19, where each list on its own took 24
    assert large <= 19, large


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(check_blocks=True) as running:
        yield running


def test_slack_accepts_the_scheduled_digest_of_a_thousand_actions(
    runtime: Runtime, settings: Settings, standin: SlackStandIn
) -> None:
    load_plan(runtime, 1000)
    sender = SlackSender(make_client(settings.model_copy(update={"slack_api_url": standin.url})))

    report = tick(runtime, sender, NOW)

    # The digest, and a reminder to each lead with stale actions, listing them.
    reminders = [key for key in report.sent if key.startswith("reminder:")]
    assert len(reminders) >= 20 and report.failed == [], str(report)
    posts = standin.calls_to("chat.postMessage")
    assert len(posts) == len(report.sent) == len(reminders) + 1
    for post in posts:
        assert post.ok, post.response
        assert len(post.params["blocks"]) <= 50
    [digest] = [post for post in posts if post.params["channel"] == CHANNEL]
    assert "Red actions (400)" in str(digest.params["blocks"])
