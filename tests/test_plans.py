"""Two partnerships in one database, each bound to its own Slack workspace, neither seeing the
other: commands over signed HTTP, scheduled digests, and imports."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.addresses import Address
from bot.cli import main
from bot.render.text import render_text
from bot.replies import Reply
from bot.runtime import Runtime
from bot.services import boards
from bot.store.models import Action, BoardMeeting, Identity, Person, Plan, Update
from scheduler.deliveries import tick
from tests.conftest import ADMIN, NOW
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401 (the `slack` fixture)

TORBAY = """plan: Torbay Written Statement of Action
workstreams:
  - name: Graduated Response
    actions:
      - ref: 11F
        title: Torbay exclusions toolkit
        lead: [U0TORBAY]
        status: in progress
        rag: red
"""

THURROCK = """plan: Thurrock Priority Action Plan
workstreams:
  - name: Joint Commissioning
    actions:
      - ref: 11F
        title: Thurrock speech and language waiting list
        lead: [U0THURROCK]
        status: in progress
        rag: amber
      - ref: 2A
        title: Thurrock JSNA refresh
        lead: [U0THURROCK]
        status: not started
"""


class RecordingSlack:
    """Stands in for the Slack sender: records each message as text, by conversation."""

    platform = "slack"
    prefix = "/wsoa "

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = {}

    def send(self, reply: Reply, address: Address, key: str) -> str:
        self.sent.setdefault(address.conversation, []).append(render_text(reply))
        return f"ts-{key}"

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        return None


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)
    monkeypatch.setenv("WSOA_ADMINS", ADMIN)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    def run(*args: str) -> int:
        return main(list(args))

    def load(text: str, *args: str) -> int:
        path = tmp_path / "plan.yaml"
        path.write_text(text)
        return run("import", str(path), *args)

    run.load = load  # type: ignore[attr-defined]
    return run


@pytest.fixture
def two_plans(wsoa, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    assert wsoa("plan", "create", "torbay", "Torbay Written Statement of Action") == 0
    assert wsoa("plan", "create", "thurrock", "Thurrock Priority Action Plan") == 0
    assert wsoa.load(TORBAY, "--plan", "torbay") == 0
    assert wsoa.load(THURROCK, "--plan", "thurrock") == 0
    assert wsoa("plan", "bind", "torbay", "--slack-team", "T_TORBAY") == 0
    assert wsoa("plan", "bind", "thurrock", "--slack-team", "T_THURROCK") == 0
    capsys.readouterr()
    return wsoa


def said(slack: SlackHarness, text: str, team: str, user: str = ADMIN, channel: str = "C1") -> str:
    result = slack.sim.slash(text, user_id=user, channel_id=channel, team_id=team)
    assert result.status == 200, result.text
    return result.text


def test_each_workspace_sees_only_its_own_plan(two_plans, slack: SlackHarness) -> None:  # type: ignore[no-untyped-def]
    torbay = said(slack, "show 11F", "T_TORBAY")
    thurrock = said(slack, "show 11F", "T_THURROCK")
    assert "Torbay exclusions toolkit" in torbay and "Thurrock" not in torbay
    assert "Thurrock speech and language" in thurrock and "Torbay" not in thurrock
    assert "No action 2A" in said(slack, "show 2A", "T_TORBAY")
    summary = said(slack, "summary", "T_TORBAY")
    assert "Graduated Response" in summary and "Joint Commissioning" not in summary


def test_a_lead_of_one_plan_has_no_rights_in_another(two_plans, slack: SlackHarness) -> None:  # type: ignore[no-untyped-def]
    refused = said(slack, "update 11F green Done", "T_THURROCK", user="U0TORBAY")
    assert "Only 11F's leads" in refused and "Nothing was changed" in refused
    assert "Updated 11F" in said(slack, "update 11F green Done", "T_TORBAY", user="U0TORBAY")
    with slack.runtime.sessions() as session:
        rags = dict(
            session.execute(
                select(Plan.slug, Action.rag)
                .join(Action, Action.plan_id == Plan.id)
                .where(Action.ref == "11F")
            ).all()
        )
    assert rags == {"torbay": "green", "thurrock": "amber"}


def test_the_scheduler_sends_each_plans_digest_to_its_own_channel(
    two_plans,
    slack: SlackHarness,  # type: ignore[no-untyped-def]
) -> None:
    said(slack, "board add 2026-11-30 14:00 Torbay SEND Board", "T_TORBAY", channel="C_TORBAY")
    said(slack, "board add 2026-11-30 15:00 Thurrock Board", "T_THURROCK", channel="C_THURROCK")
    with slack.runtime.sessions() as session:
        meetings = session.scalars(select(BoardMeeting).order_by(BoardMeeting.id)).all()
        due = max(boards.digest_due_at(m) for m in meetings)
        assert [m.address for m in meetings] == [
            Address(platform="slack", workspace="T_TORBAY", conversation="C_TORBAY"),
            Address(platform="slack", workspace="T_THURROCK", conversation="C_THURROCK"),
        ]
    sender = RecordingSlack()
    tick(slack.runtime, sender, due + timedelta(minutes=1))
    [torbay] = sender.sent["C_TORBAY"]
    [thurrock] = sender.sent["C_THURROCK"]
    assert "Torbay SEND Board" in torbay and "Graduated Response" in torbay
    assert "Thurrock" not in torbay
    assert "Thurrock Board" in thurrock and "Joint Commissioning" in thurrock
    assert "Torbay" not in thurrock
    assert due > NOW


def test_importing_another_partnerships_file_is_refused_and_changes_nothing(
    two_plans,
    runtime: Runtime,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    def state() -> tuple[int, int, list[str]]:
        with runtime.sessions() as session:
            return (
                session.scalar(select(func.count()).select_from(Action)) or 0,
                session.scalar(select(func.count()).select_from(Update)) or 0,
                list(session.scalars(select(Plan.name).order_by(Plan.slug))),
            )

    before = state()
    assert two_plans.load(THURROCK, "--plan", "torbay") == 2
    err = capsys.readouterr().err
    assert "Thurrock Priority Action Plan" in err and "Torbay Written Statement" in err
    assert "--plan" in err and "plan create" in err
    assert state() == before

    assert two_plans.load(TORBAY) == 2  # two plans: which one?
    assert "torbay" in capsys.readouterr().err
    assert state() == before


def test_a_slack_identity_learns_its_workspace_on_its_first_change(
    demo: Runtime, slack: SlackHarness
) -> None:
    # The demo's people, like those carried over by migration 0003, have no workspace yet. A
    # read changes nothing (so it never waits for a writer); the person's first change fills
    # the workspace in.
    said(slack, "show 11F", "T1", user="U0DEMO05")
    with slack.runtime.sessions() as session:
        learnt = session.scalar(
            select(Identity.workspace).where(Identity.external_id == "U0DEMO05")
        )
    assert learnt == ""
    said(slack, "update 11F amber Pilot live", "T1", user="U0DEMO05")
    with slack.runtime.sessions() as session:
        workspaces = dict(
            session.execute(
                select(Identity.external_id, Identity.workspace).where(
                    Identity.external_id.in_(["U0DEMO05", "U0DEMO06"])
                )
            ).all()
        )
    assert workspaces == {"U0DEMO05": "T1", "U0DEMO06": ""}


TORBAY_NAMED = """plan: Torbay Written Statement of Action
workstreams:
  - name: Graduated Response
    actions:
      - ref: 11F
        title: Torbay exclusions toolkit
        lead: [Alice, Samira]
        status: in progress
        rag: red
"""
THURROCK_NAMED = """plan: Thurrock Priority Action Plan
workstreams:
  - name: Joint Commissioning
    actions:
      - ref: 11F
        title: Thurrock speech and language waiting list
        lead: [Samira]
        status: in progress
        rag: amber
      - ref: 2A
        title: Thurrock JSNA refresh
        lead: [Priya Thurrock]
        status: not started
"""


def test_names_never_reach_into_another_partnership(
    wsoa, runtime: Runtime, slack: SlackHarness, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Each plan names its leads by name alone. Thurrock's answers never name Torbay's
    people, its "Samira" is not Torbay's, and a Torbay name is nobody in Thurrock."""
    assert wsoa("plan", "create", "torbay", "Torbay Written Statement of Action") == 0
    assert wsoa("plan", "create", "thurrock", "Thurrock Priority Action Plan") == 0
    assert wsoa.load(TORBAY_NAMED, "--plan", "torbay") == 0
    capsys.readouterr()
    assert wsoa.load(THURROCK_NAMED, "--plan", "thurrock") == 0
    report = capsys.readouterr().out
    # Thurrock's import names its own new people, never Torbay's
    assert "Samira" in report and "Alice" not in report
    assert wsoa("plan", "bind", "thurrock", "--slack-team", "T_THURROCK") == 0
    with runtime.sessions() as session:
        sams = session.scalars(
            select(Action.id).join(Action.leads).where(Person.name == "Samira")
        ).all()
        people = session.scalars(select(func.count(Person.id)).where(Person.name == "Samira"))
        assert len(sams) == 2 and people.one() == 2  # one per partnership

    for line in (
        "help",
        "summary",
        "list all",
        "show 11F",
        "mine",
        "history 11F",
        "reports",
        "followup list all",
        "digest preview",
        "show 11G",  # a did-you-mean
    ):
        answer = said(slack, line, "T_THURROCK")
        assert "Torbay" not in answer and "Alice" not in answer, (line, answer[:400])

    refused = said(slack, "assign 2A @Alice", "T_THURROCK")
    assert "No one called" in refused
    assert "Samira" in said(slack, "assign 2A @Samira", "T_THURROCK")
    with runtime.sessions() as session:
        [lead] = session.scalars(
            select(Person).join(Action.leads).where(Action.ref == "2A")
        ).unique()
        theirs = session.scalars(
            select(Plan.slug).join(Action).join(Action.leads).where(Person.id == lead.id)
        ).all()
        assert set(theirs) == {"thurrock"}  # Thurrock's own Samira
