"""Leads' organisations: from a tracker's column, set in chat (`person WHO org ORGANISATION`),
or else their e-mail's domain; `reports` groups leads by them. On the console and through a
signed Slack request; bad input changes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.runtime import Runtime
from bot.store.models import Person
from tests.conftest import ADMIN, READER, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


def organisation(runtime: Runtime, email: str) -> str | None:
    with runtime.sessions() as session:
        return session.scalars(select(Person.organisation).where(Person.email == email)).one()


def test_a_person_s_organisation_is_set_in_chat_and_groups_the_reports(
    demo: Runtime, console: Console
) -> None:
    said = console("person helen.marlow@demo.example org Torbay Council")
    assert "Helen Marlow: Torbay Council" in said
    assert organisation(demo, "helen.marlow@demo.example") == "Torbay Council"
    # by a lead's name, as this plan knows them
    assert "Daniel Osei: NHS Devon ICB" in console("person @Daniel Osei org NHS Devon ICB")
    assert "(was: NHS Devon ICB)" in console("person Daniel Osei organisation Devon ICB")

    # a lead with no organisation given: their e-mail's domain says where they work
    console("assign 12B future.lead@council.example")
    console("board add 2027-01-20 14:00 SEND Operational Group --reporting")
    reports = console("reports")
    assert "Torbay Council" in reports and "Devon ICB" in reports
    assert "council.example" in reports


@pytest.mark.parametrize(
    ("line", "user", "answer"),
    [
        ("person helen.marlow@demo.example org Torbay Council", READER, "Only programme managers"),
        ("person @Nobody Known org Torbay Council", ADMIN, "No one called"),
        ("person helen.marlow@demo.example Torbay Council", ADMIN, "Say who and their org"),
        ("person helen.marlow@demo.example org " + "x" * 201, ADMIN, "at most 200 characters"),
    ],
)
def test_bad_organisation_lines_change_nothing(
    demo: Runtime, console: Console, line: str, user: str, answer: str
) -> None:
    before = organisation(demo, "helen.marlow@demo.example")
    assert answer in console(line, user=user)
    assert organisation(demo, "helen.marlow@demo.example") == before


def test_markup_in_an_organisation_is_text_in_slack(demo: Runtime, slack: SlackHarness) -> None:
    reply = slack.reply("person helen.marlow@demo.example org <!channel> Council", ADMIN)
    shown = json.dumps(reply)
    assert "Helen Marlow" in shown and "<!channel>" not in shown
    assert organisation(demo, "helen.marlow@demo.example") == "<!channel> Council"


def test_a_tracker_s_organisation_column_names_its_leads_organisation(
    database_url: str,
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    console: Console,
) -> None:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", ADMIN)
    path = tmp_path / "tracker.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(
            [
                ["Ref", "Action", "Lead", "Lead organisation"],
                ["1.1", "Publish the Local Offer", "ann@council.example", "Torbay Council"],
                ["1.2", "Commission SALT", "raj@nhs.example", "NHS Devon ICB"],
            ]
        )
    assert main(["import", str(path)]) == 0
    assert organisation(runtime, "ann@council.example") == "Torbay Council"
    assert organisation(runtime, "raj@nhs.example") == "NHS Devon ICB"
    # one given in chat is never overwritten by the next import
    runtime.settings = runtime.settings.model_copy(update={"admins": frozenset({ADMIN})})
    assert "Devon ICB" in console("person raj@nhs.example org Devon ICB")
    assert main(["import", str(path)]) == 0
    assert organisation(runtime, "raj@nhs.example") == "Devon ICB"
