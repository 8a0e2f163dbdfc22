"""A plan of 500 actions, through every Slack surface, within Slack's limits."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.addresses import Address
from bot.domain import Rag, Status, Surface
from bot.plans.read import ParsedPlan, PlanRow
from bot.runtime import Runtime
from bot.services.context import Caller, Ctx
from bot.services.imports import apply_plan
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import Action, BoardMeeting, FollowUp, Identity, Person, Update
from tests.conftest import ADMIN, NOW, READER
from tests.slack_fixtures import (
    SlackHarness,
    assert_message_within_limits,
    assert_view_within_limits,
    served_slack_app,  # noqa: F401 (the `slack` fixture)
    text_of,
    view_of,
)

BIG_LEAD = "U0BIGLEAD"  # leads 200 of the 500 actions
BUSY_REF = "1A.1"  # has 300 updates
LONG_REF = "9Z.99999999999999999"  # the longest ref there can be: 20 characters
WORDS = "improve timeliness & quality of EHC plans <with> families and schools across the area"


def words(count: int) -> str:
    base = WORDS.split()
    return " ".join(base[i % len(base)] for i in range(count))


def plan_of_500() -> ParsedPlan:
    rows = []
    rags = [Rag.AMBER, Rag.RED, Rag.GREEN, Rag.AMBER, None]
    for number in range(500):
        workstream = number % 10
        ref = LONG_REF if number == 499 else f"{workstream + 1}{'ABCDE'[number % 5]}.{number + 1}"
        if number == 0:
            ref = BUSY_REF
        rows.append(
            PlanRow(
                row=number + 2,
                ref=ref,
                title=words(45),
                workstream=f"Area of weakness {workstream + 1}: " + words(10),
                leads=[BIG_LEAD if number < 200 else f"lead{number % 37}@council.example"],
                due=date(2026, 6, 1) + timedelta(days=number),
                due_text=None,
                status=Status.IN_PROGRESS,
                rag=rags[number % len(rags)],
                measure=words(60),
            )
        )
    return ParsedPlan(name="A very large plan " + words(20), rows=rows, problems=[])


@pytest.fixture
def big_plan(runtime: Runtime) -> Runtime:
    with unit_of_work(runtime.sessions) as session:
        then = NOW - timedelta(days=400)
        current_plan(session, then, create=True)
        ctx = Ctx.open(
            session, Caller(user_id="import", source=Surface.IMPORT), runtime.settings, then
        )
        apply_plan(ctx, plan_of_500(), "big.csv")
        note = "Progress <!channel> " + words(400)
        session.execute(update(Action).values(last_note=note[:2900], last_update_at=NOW))
        busy = session.scalars(select(Action).where(Action.ref == BUSY_REF)).one()
        big_lead = (
            session.scalars(select(Person).join(Identity).where(Identity.external_id == BIG_LEAD))
            .unique()
            .one()
        )
        session.add_all(
            Update(
                plan_id=busy.plan_id,
                action_id=busy.id,
                at=NOW - timedelta(hours=300 - i),
                person_id=big_lead.id,
                source=Surface.SLACK,
                kind="update",
                rag_from="amber",
                rag_to="red" if i % 2 else "amber",
                status_from="in progress",
                status_to="in progress",
                note=f"Update {i}: " + words(250),
            )
            for i in range(300)
        )
        led = session.scalars(
            select(Action.id).join(Action.leads).where(Person.id == big_lead.id).limit(40)
        ).all()
        session.add_all(
            FollowUp(
                plan_id=busy.plan_id,
                action_id=action_id,
                question=f"Question {i}: " + words(300),
                raised_at=NOW - timedelta(days=i),
                source=Surface.SLACK,
            )
            for i, action_id in enumerate([busy.id, *led])
        )
        session.add(
            BoardMeeting(
                plan_id=busy.plan_id,
                name="SEND Improvement Board " + words(25),
                starts_at=NOW + timedelta(days=10),
                channel_id="C_BOARD",
                address=Address(platform="slack", conversation="C_BOARD"),
                source=Surface.SLACK,
                created_at=NOW,
            )
        )
    return runtime


def sections(payload: dict[str, Any]) -> str:
    return " ".join(text_of(payload))


def test_every_surface_stays_within_slacks_limits(big_plan: Runtime, slack: SlackHarness) -> None:
    started = time.monotonic()
    replies = {
        "help": slack.reply("help", ADMIN),
        "summary": slack.reply("summary", READER),
        "list amber": slack.reply("list amber", READER),
        "list all": slack.reply("list all", READER),
        "mine": slack.reply("mine", BIG_LEAD),
        "show": slack.reply(f"show {BUSY_REF}", BIG_LEAD),
        "history": slack.reply(f"history {BUSY_REF}", READER),
        "followup list": slack.reply("followup list", READER),
        "digest preview": slack.reply("digest preview", READER),
        "digest now": slack.reply("digest now", ADMIN),
    }
    # Ten commands, each answered in its acknowledgement: far inside Slack's 3 seconds each.
    assert time.monotonic() - started < 10
    for name, body in replies.items():
        assert_message_within_limits(body, name)

    assert replies["summary"]["response_type"] == "in_channel"
    # Long content is summarised with a pointer, never dropped in silence.
    assert "more" in sections(replies["list amber"])
    assert "more" in sections(replies["mine"])
    assert "more" in sections(replies["history"])
    assert "Update 299" in sections(replies["history"])  # newest first
    assert "not shown" in sections(replies["show"])

    slack.sim.event({"type": "app_home_opened", "user": BIG_LEAD, "tab": "home"})
    [home] = slack.standin.wait_for("views.publish")
    assert home.ok, home.response
    assert_view_within_limits(view_of(home))
    assert "/wsoa mine" in json.dumps(view_of(home))

    typed = slack.sim.slash(f"update {LONG_REF}", user_id=ADMIN)
    assert typed.status == 200
    [form] = slack.standin.wait_for("views.open")
    assert form.ok, form.response
    assert_view_within_limits(view_of(form))


def buttons_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_show_keeps_the_update_button_for_a_long_action(
    big_plan: Runtime, slack: SlackHarness
) -> None:
    shown = slack.reply(f"show {BUSY_REF}", BIG_LEAD)
    assert buttons_of(shown)
