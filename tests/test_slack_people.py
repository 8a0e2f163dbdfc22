"""Linking a plan's leads to Slack users: by e-mail, with names from users.info."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.console import run_line
from bot.domain import Surface, ref_sort_key
from bot.runtime import Runtime
from bot.services.actions import assign
from bot.services.context import Caller, Ctx
from bot.services.people import unresolved_people
from bot.services.plans import current_plan, get_or_create_workstream
from bot.slack.client import make_client
from bot.slack.people import forget_slack_users, link_people
from bot.store.db import unit_of_work
from bot.store.models import Action, BoardMeeting, FollowUp, Person, Update
from tests.conftest import ADMIN, NOW
from tests.slack_standin import SlackStandIn


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    # A stand-in may reuse an earlier one's port, and the cache is keyed by the API's URL.
    forget_slack_users()
    with SlackStandIn() as running:
        yield running


def add_action(runtime: Runtime, ref: str, *leads: str) -> None:
    with unit_of_work(runtime.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        workstream, _ = get_or_create_workstream(session, plan, "Graduated Response")
        session.add(
            Action(
                plan_id=plan.id,
                workstream_id=workstream.id,
                ref=ref,
                sort_key=ref_sort_key(ref),
                title=f"Action {ref}",
                status="in progress",
                created_at=NOW,
            )
        )
        session.flush()
        ctx = Ctx.open(session, Caller(ADMIN, source=Surface.IMPORT), runtime.settings, NOW)
        # named as a plan file names them: people not yet known become leads
        assign(ctx, ref, list(leads), known=False)


def people(runtime: Runtime) -> dict[str, tuple[str | None, str]]:
    with runtime.sessions() as session:
        return {
            p.email or p.handle_on("slack") or "": (p.handle_on("slack"), p.name)
            for p in session.scalars(select(Person)).unique()
            if p.handle_on("slack") != ADMIN
        }


def leads_of(runtime: Runtime, ref: str) -> list[str | None]:
    with runtime.sessions() as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        return [p.handle_on("slack") for p in action.leads]


def test_leads_named_by_email_become_slack_users(runtime: Runtime, standin: SlackStandIn) -> None:
    add_action(runtime, "11F", "sam.jones@council.example", "nobody@council.example", "U0NAMELESS")
    standin.add_user("U0SAM", "Sam.Jones@council.example", "Samantha Jones")
    standin.add_user("U0NAMELESS", "n@council.example", "Priya Shah")
    client = make_client(runtime.settings.model_copy(update={"slack_api_url": standin.url}))

    with unit_of_work(runtime.sessions) as session:
        report = link_people(session, client)

    assert report.linked == ["sam.jones@council.example → U0SAM"]
    assert report.unresolved == ["nobody@council.example"]
    assert "U0NAMELESS → Priya Shah" in report.named
    assert report.stopped is None
    found = people(runtime)
    assert found["sam.jones@council.example"] == ("U0SAM", "Samantha Jones")
    assert found["U0NAMELESS"] == ("U0NAMELESS", "Priya Shah")
    assert sorted(leads_of(runtime, "11F"), key=str) == sorted(
        ["U0SAM", None, "U0NAMELESS"], key=str
    )
    with runtime.sessions() as session:
        plan = current_plan(session, NOW)
        assert [p.email for p in unresolved_people(session, plan.id)] == ["nobody@council.example"]

    # Answers are cached for the life of the process: a second pass asks Slack nothing new.
    asked = len(standin.calls)
    with unit_of_work(runtime.sessions) as session:
        again = link_people(session, client)
    assert again.unresolved == ["nobody@council.example"] and again.linked == []
    assert len(standin.calls) == asked


def test_an_email_lead_who_already_used_the_bot_becomes_one_person(
    runtime: Runtime, standin: SlackStandIn
) -> None:
    add_action(runtime, "12B", "alison@council.example")
    add_action(runtime, "12C", "U0ALISON", "alison@council.example")
    standin.add_user("U0ALISON", "alison@council.example", "Alison Whitfield")
    client = make_client(runtime.settings.model_copy(update={"slack_api_url": standin.url}))

    with unit_of_work(runtime.sessions) as session:
        report = link_people(session, client)

    assert report.linked == ["alison@council.example → U0ALISON"]
    assert people(runtime) == {"alison@council.example": ("U0ALISON", "Alison Whitfield")}
    assert leads_of(runtime, "12B") == ["U0ALISON"]
    assert leads_of(runtime, "12C") == ["U0ALISON"]


def test_linking_stops_in_words_when_slack_refuses(runtime: Runtime, standin: SlackStandIn) -> None:
    add_action(runtime, "11F", "sam@council.example")
    standin.error_next("users.lookupByEmail", "missing_scope")
    client = make_client(runtime.settings.model_copy(update={"slack_api_url": standin.url}))

    with unit_of_work(runtime.sessions) as session:
        report = link_people(session, client)

    assert report.stopped == "Slack answered missing_scope"
    assert people(runtime)["sam@council.example"][0] is None


def test_one_person_found_twice_keeps_everything_either_did(
    runtime: Runtime, standin: SlackStandIn
) -> None:
    """Alison worked at the console by e-mail (an update, a follow-up raised and closed, a
    board) and on Slack by user id (an update) before Slack said the two are
    one: after linking, every row names the one person, and the other is gone."""
    add_action(runtime, "12B", "alison@council.example")
    admins = runtime.settings.admins | {"alison@council.example", "U0ALISON"}
    runtime.settings = runtime.settings.model_copy(update={"admins": admins})
    said = [
        run_line(runtime, "alison@council.example", "update 12B amber Pilot live"),
        run_line(runtime, "alison@council.example", "followup add 12B How many trained?"),
        run_line(runtime, "alison@council.example", "followup close FU-1"),
        run_line(runtime, "alison@council.example", "board add 2027-01-20 14:00 SEND Board"),
        run_line(runtime, "U0ALISON", "update 12B green Trained"),
    ]
    assert not any("went wrong" in answer for answer in said), said
    standin.add_user("U0ALISON", "alison@council.example", "Alison Whitfield")
    client = make_client(runtime.settings.model_copy(update={"slack_api_url": standin.url}))
    with unit_of_work(runtime.sessions) as session:
        link_people(session, client)

    with runtime.sessions() as session:
        [alison] = [p for p in session.scalars(select(Person)).unique() if p.handle_on("slack")]
        assert alison.email == "alison@council.example"
        assert {p.id for p in session.scalars(select(Person)).unique()} == {alison.id}
        updates = session.scalars(select(Update).where(Update.kind == "update")).all()
        assert [u.person_id for u in updates] == [alison.id, alison.id]
        followup = session.scalars(select(FollowUp)).one()
        assert followup.raised_by_person_id == followup.closed_by_person_id == alison.id
        board = session.scalars(select(BoardMeeting)).one()
        assert board.created_by_person_id == alison.id
