"""`assign REF @nobody` never replaces real leads with someone who does not exist: a name or a
bare user id must be someone known; a Slack mention (Slack resolved it) and an e-mail (a future
lead) are accepted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.store.models import Action, Person, Update
from tests.conftest import ADMIN, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401 (the `slack` fixture)

pytestmark = pytest.mark.usefixtures("demo")


def lead_of(runtime: Runtime, ref: str, person: Person) -> None:
    with runtime.sessions() as session, session.begin():
        session.add(person)
        action = session.scalars(select(Action).where(Action.ref == ref)).one()
        action.leads.append(person)


def leads_and_counts(runtime: Runtime, ref: str) -> tuple[list[str], int, int]:
    with runtime.sessions() as session:
        action = session.scalars(select(Action).where(Action.ref == ref)).unique().one()
        leads = sorted(p.label for p in action.leads)
        people = session.scalar(select(func.count()).select_from(Person)) or 0
        updates = session.scalar(select(func.count()).select_from(Update)) or 0
    return leads, people, updates


@pytest.mark.parametrize(
    ("leads", "answer"),
    [
        ("@nobody", "No one called “@nobody” is known"),
        ("<@U0DEMO01> @nobody", "No one called “@nobody” is known"),
        ("U0NOSUCH", "No one with the user id U0NOSUCH"),
        ("Zebedee", "No one called “Zebedee” is known"),
    ],
)
def test_someone_unknown_is_refused_and_the_leads_stay(
    runtime: Runtime, slack: SlackHarness, leads: str, answer: str
) -> None:
    before = leads_and_counts(runtime, "11F")
    reply = slack.reply(f"assign 11F {leads}", ADMIN)
    assert answer in str(reply), reply
    assert leads_and_counts(runtime, "11F") == before


def test_a_mention_an_email_and_a_known_name_are_accepted(
    runtime: Runtime, console: Console
) -> None:
    out = console("assign 11F <@U0DEMO01|helen> future.lead@council.example", user=ADMIN)
    assert "Leads: Helen Marlow, Future Lead" in out
    # A name is someone this plan knows: here, the lead of another of its actions.
    lead_of(runtime, "12B", Person(name="Priya", email=None))
    assert "Leads: Priya (were: " in console("assign 11F @priya", user=ADMIN)
    lead_of(runtime, "12C", Person(name="Priya", email="priya@ccg.example"))
    assert "2 people are called “@priya”" in console("assign 11F @priya", user=ADMIN)
    # Someone of that name whom this plan does not know is no one to it.
    with runtime.sessions() as session, session.begin():
        session.add(Person(name="Zainab", email=None))
    assert "No one called “@zainab”" in console("assign 11F @zainab", user=ADMIN)
