"""The scope of a request (bot/services/context.py, `Scope`): which plan, who, and what they may
do, resolved once when its unit of work begins and never changed; reading never makes a plan;
and nothing one plan's people see names another plan's people."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.console import run_line
from bot.domain import Surface
from bot.plans.read import read_plan
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.services.imports import apply_plan
from bot.services.plans import create_plan
from bot.store.db import unit_of_work
from bot.store.models import Plan
from tests.conftest import ADMIN, NOW
from tests.kpi_fixtures import write_csv
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


def plans(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Plan)) or 0


def test_the_scope_is_resolved_once_and_never_changes(demo: Runtime) -> None:
    with demo.work(Caller(user_id=ADMIN)) as ctx:
        scope = ctx.scope
        assert scope.plan is not None and scope.is_admin
        with pytest.raises(dataclasses.FrozenInstanceError):
            scope.is_admin = False  # type: ignore[misc]
        assert ctx.plan is scope.plan


def test_reading_an_empty_database_makes_no_plan(runtime: Runtime, slack: SlackHarness) -> None:
    for line in ("summary", "list red", "board list", "kpi list"):
        answer = run_line(runtime, ADMIN, line)
        assert "There is no plan here yet" in answer, (line, answer)
        assert "There is no plan here yet" in str(slack.reply(line, ADMIN))
    # help answers anyway: it is how a new workspace learns what to do
    assert "what you can type" in run_line(runtime, ADMIN, "help")
    assert plans(runtime) == 0


def test_one_plans_help_never_names_another_plans_leads(runtime: Runtime, tmp_path: Path) -> None:
    header = ["Ref", "Action", "Area", "Lead", "Status"]
    files = {
        "torbay": write_csv(
            tmp_path / "torbay.csv", [header, ["1A", "Train SENCOs", "Graduated", "Alice Smart"]]
        ),
        "thurrock": write_csv(
            tmp_path / "thurrock.csv", [header, ["R3.1", "Publish offer", "Local Offer", "Bob Lee"]]
        ),
    }
    with unit_of_work(runtime.sessions) as session:
        for slug in files:
            create_plan(session, slug, slug.title(), NOW)
    for slug, path in files.items():
        caller = Caller(user_id="import", source=Surface.IMPORT, plan_slug=slug)
        with runtime.work(caller) as ctx:
            report = apply_plan(ctx, read_plan(path), path.name)
        assert report.unlinked_leads == [{"torbay": "Alice Smart", "thurrock": "Bob Lee"}[slug]]
    torbay = run_line(runtime, ADMIN, "help", plan="torbay")
    thurrock = run_line(runtime, ADMIN, "help", plan="thurrock")
    assert "Alice Smart" in torbay and "Bob Lee" not in torbay
    assert "Bob Lee" in thurrock and "Alice Smart" not in thurrock
