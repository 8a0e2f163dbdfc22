"""Slack installed in many workspaces (issue: hosting): Bolt's OAuth install against the Slack
stand-in answering `oauth.v2.access`, a bad or reused state refused, tokens encrypted at rest,
two workspaces each with its own token and its own plan, uninstall, key rotation."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, func, select, text

from bot.http.server import RunningServer, start_in_thread
from bot.runtime import Runtime
from bot.serve import build_serving_app, installed_slack_sender
from bot.services.plans import bind_plan, create_plan, plan_named
from bot.slack.app import BOT_SCOPES, build_app, installation_store
from bot.slack.installations import MARK, InstalledSlackSender, rotate, token_cipher
from bot.slack.tables import slack_tables
from bot.store.db import unit_of_work
from scheduler.deliveries import tick
from tests.conftest import NOW
from tests.http_process import SIGNING_SECRET
from tests.slack_requests import SlackClientSim
from tests.slack_standin import SlackStandIn

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
slack_installations, slack_bots, slack_oauth_states = slack_tables(MetaData())
TOKENS = {
    "T1": "xoxb-1111-team-one-secret-token",
    "T2": "xoxb-2222-team-two-secret-token",
    # a workspace of an app with token rotation turned on: its token expires within the hour
    "T3": "xoxe.xoxb-3333-team-three-expiring",
}
REFRESH = "xoxe-1-team-three-refresh-token"
ROTATED = "xoxe.xoxb-3333-team-three-rotated"


@dataclass
class Hosted:
    runtime: Runtime
    standin: SlackStandIn
    url: str

    def install(self, team: str, *, state: str | None = None) -> httpx.Response:
        """What a workspace admin's browser does: /slack/install, Slack's consent (the
        stand-in's code), back to /slack/oauth_redirect with the state and its cookie."""
        with httpx.Client(base_url=self.url, follow_redirects=False) as browser:
            started = browser.get("/slack/install")
            assert started.status_code == 302, started.text
            authorize = urlsplit(started.headers["location"])
            issued = parse_qs(authorize.query)["state"][0]
            return browser.get(
                "/slack/oauth_redirect",
                params={"code": f"code-{team}", "state": state or issued},
                headers=state_cookie(started),
            )


def state_cookie(started: httpx.Response) -> dict[str, str]:
    """Bolt's state cookie is Secure: a browser sends it back over HTTPS; over this test's
    HTTP it is sent by hand."""
    found = re.search(r"(slack-app-oauth-state=[^;]+)", started.headers.get("set-cookie", ""))
    assert found, started.headers
    return {"cookie": found.group(1)}


def _oauth_access(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("grant_type") == "refresh_token":
        if params.get("refresh_token") != REFRESH:
            return {"ok": False, "error": "invalid_refresh_token"}
        return {
            "token_type": "bot",
            "access_token": ROTATED,
            "refresh_token": REFRESH + "-2",
            "expires_in": 43200,
            "team": {"id": "T3", "name": "Workspace T3"},
        }
    team = str(params.get("code", "")).removeprefix("code-")
    if team not in TOKENS:
        return {"ok": False, "error": "invalid_code"}
    rotation = {"refresh_token": REFRESH, "expires_in": 600} if team == "T3" else {}
    return {
        **rotation,
        "app_id": "A_WSOA",
        "authed_user": {"id": f"U_ADMIN_{team}"},
        "scope": ",".join(BOT_SCOPES),
        "token_type": "bot",
        "access_token": TOKENS[team],
        "bot_user_id": f"U_BOT_{team}",
        "team": {"id": team, "name": f"Workspace {team}"},
        "enterprise": None,
        "is_enterprise_install": False,
    }


@pytest.fixture
def hosted(demo: Runtime) -> Iterator[Hosted]:
    with SlackStandIn() as standin:
        standin.answer_with("oauth.v2.access", _oauth_access)
        demo.settings = demo.settings.model_copy(
            update={
                "slack_bot_token": None,
                "slack_client_id": "111.222",
                "slack_client_secret": "client-secret",
                "slack_api_url": standin.url,
                "secret_key": KEY,
                "admins": demo.settings.admins | {"U_ADMIN_T1", "U_ADMIN_T2"},
            }
        )
        server: RunningServer = start_in_thread(build_serving_app(demo, slack=build_app(demo)))
        try:
            yield Hosted(demo, standin, server.url)
        finally:
            server.stop()


def _count(runtime: Runtime, table: Any) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_an_install_stores_the_workspace_with_its_token_encrypted(hosted: Hosted) -> None:
    done = hosted.install("T1")
    assert done.status_code == 200, done.text
    exchanged = hosted.standin.calls_to("oauth.v2.access")
    assert len(exchanged) == 1 and exchanged[0].params["code"] == "code-T1"
    assert _count(hosted.runtime, slack_installations) == 1
    assert _count(hosted.runtime, slack_bots) == 1
    # nowhere in the database in plain text
    with unit_of_work(hosted.runtime.sessions) as session:
        stored = [
            " ".join(str(v) for v in row)
            for table in ("slack_installations", "slack_bots")
            for row in session.execute(text(f"SELECT * FROM {table}"))
        ]
    assert stored and not any(TOKENS["T1"] in row for row in stored)
    assert all(MARK in row for row in stored)
    # and read back as it was
    bot = installation_store(hosted.runtime).find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == TOKENS["T1"]


def test_a_bad_or_reused_state_installs_nothing(hosted: Hosted) -> None:
    forged = hosted.install("T1", state="made-up-state")
    assert forged.status_code >= 400
    assert _count(hosted.runtime, slack_installations) == 0
    assert not hosted.standin.calls_to("oauth.v2.access")
    # a genuine state works once
    with httpx.Client(base_url=hosted.url, follow_redirects=False) as browser:
        started = browser.get("/slack/install")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        cookie = state_cookie(started)
        first = browser.get(
            "/slack/oauth_redirect", params={"code": "code-T1", "state": state}, headers=cookie
        )
        again = browser.get(
            "/slack/oauth_redirect", params={"code": "code-T2", "state": state}, headers=cookie
        )
    assert first.status_code == 200 and again.status_code >= 400
    assert _count(hosted.runtime, slack_installations) == 1
    with unit_of_work(hosted.runtime.sessions) as session:
        kept = set(session.scalars(select(slack_oauth_states.c.state)))
    assert state not in kept  # used, and gone


def test_two_workspaces_each_use_their_own_token_and_see_their_own_plan(
    hosted: Hosted,
) -> None:
    runtime = hosted.runtime
    assert hosted.install("T1").status_code == 200
    assert hosted.install("T2").status_code == 200
    sim = SlackClientSim(hosted.url, SIGNING_SECRET, hosted.standin)
    # a workspace bound to no plan is told how to bind it, and shown nothing
    unbound = sim.slash("summary", user_id="U_ADMIN_T2", team_id="T2", channel_id="C_T2")
    said = _said(hosted, unbound)
    assert "not linked to a plan yet" in said and "T2" in said and "Demo Local Area" not in said

    with unit_of_work(runtime.sessions) as session:
        other = create_plan(session, "other", "Another Local Area", NOW)
        bind_plan(session, plan_named(session, "wsoa", NOW), "slack", "T1", "")
        bind_plan(session, other, "slack", "T2", "")
    for team, channel, mine, theirs in (
        ("T1", "C_T1", "Demo Local Area", "Another Local Area"),
        ("T2", "C_T2", "Another Local Area", "Demo Local Area"),
    ):
        calls = len(hosted.standin.calls)
        answer = sim.slash("summary", user_id=f"U_ADMIN_{team}", team_id=team, channel_id=channel)
        said = _said(hosted, answer, mine)
        assert mine in said and theirs not in said
        # Bolt authorised the request with this workspace's own installation
        tokens = {
            c.headers.get("authorization")
            for c in hosted.standin.calls[calls:]
            if c.headers.get("authorization")
        }
        assert tokens <= {f"Bearer {TOKENS[team]}"}, tokens

    # and the scheduler posts each workspace's deliveries with that workspace's token
    with unit_of_work(runtime.sessions) as session:
        session.execute(text("DELETE FROM deliveries"))
    sender = installed_slack_sender(runtime)
    assert sender.token_for("T2") == TOKENS["T2"]  # type: ignore[attr-defined]
    assert sender.token_for("T9") is None  # type: ignore[attr-defined]


def _said(hosted: Hosted, answer: Any, expect: str = "not linked") -> str:
    """A slash command's answer: in its acknowledgement, or posted to its response_url."""
    posted = len(hosted.standin.response_posts())
    body = answer.text
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and expect not in body:
        time.sleep(0.1)
        body = answer.text + " ".join(
            str(c.params) for c in hosted.standin.response_posts()[posted:]
        )
    return body


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U_BOT_T1"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
def test_uninstalling_removes_the_installation(hosted: Hosted, event: dict[str, Any]) -> None:
    assert hosted.install("T1").status_code == 200
    assert hosted.install("T2").status_code == 200
    sim = SlackClientSim(hosted.url, SIGNING_SECRET, hosted.standin)
    answer = sim.event(event, team_id="T1")
    assert answer.status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _held_by(hosted.runtime) != {"T2"}:
        time.sleep(0.1)
    assert _held_by(hosted.runtime) == {"T2"}
    sender = InstalledSlackSender(hosted.runtime.settings, installation_store(hosted.runtime))
    assert sender.token_for("T1") is None
    assert sender.token_for("T2") == TOKENS["T2"]


def _held_by(runtime: Runtime) -> set[str]:
    """The workspaces with a bot or an installation row."""
    with unit_of_work(runtime.sessions) as session:
        return {
            team
            for table in (slack_bots, slack_installations)
            for team in session.scalars(select(table.c.team_id).distinct())
        }


def test_a_key_is_rotated_without_losing_a_token(
    hosted: Hosted, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hosted.install("T1").status_code == 200
    new = Fernet.generate_key().decode()
    both = token_cipher(f"{new},{KEY}")
    assert rotate(hosted.runtime.engine, both) >= 1
    # and from the command line, as an operator does it
    from bot.cli import main

    monkeypatch.setenv("WSOA_DATABASE_URL", hosted.runtime.settings.database_url)
    monkeypatch.setenv("WSOA_SECRET_KEY", f"{new},{KEY}")
    assert main(["secrets", "rotate"]) == 0
    monkeypatch.setenv("WSOA_SECRET_KEY", "")
    assert main(["secrets", "rotate"]) == 2
    # readable with the new key alone now
    hosted.runtime.settings = hosted.runtime.settings.model_copy(update={"secret_key": new})
    bot = installation_store(hosted.runtime).find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == TOKENS["T1"]
    # and a made-up key is refused in words
    with pytest.raises(Exception, match="Fernet keys"):
        token_cipher("not-a-fernet-key")


def test_the_app_asks_for_the_scopes_its_manifest_lists() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_a_scheduled_post_uses_its_workspaces_token(hosted: Hosted) -> None:
    from bot.addresses import Address
    from bot.store.models import BoardMeeting

    assert hosted.install("T1").status_code == 200
    with unit_of_work(hosted.runtime.sessions) as session:
        bind_plan(session, plan_named(session, "wsoa", NOW), "slack", "T1", "")
        first = session.scalars(select(BoardMeeting).order_by(BoardMeeting.starts_at)).first()
        assert first is not None
        first.channel_id = "C_T1"
        first.address = Address(platform="slack", workspace="T1", conversation="C_T1")
        first.digest_hours_before = 96
    report = tick(hosted.runtime, installed_slack_sender(hosted.runtime), NOW)
    digests = [k for k in report.sent if k.startswith("board-digest:")]
    assert digests, str(report)
    posts = [
        p for p in hosted.standin.calls_to("chat.postMessage") if p.params["channel"] == "C_T1"
    ]
    assert posts and all(p.headers.get("authorization") == f"Bearer {TOKENS['T1']}" for p in posts)


def test_a_rotating_token_is_refreshed_before_a_post_and_kept_encrypted(hosted: Hosted) -> None:
    assert hosted.install("T3").status_code == 200
    sender = installed_slack_sender(hosted.runtime)
    # ten minutes from its end: refreshed now, through oauth.v2.access's refresh grant
    assert sender.token_for("T3") == ROTATED  # type: ignore[attr-defined]
    refreshes = [
        c for c in hosted.standin.calls_to("oauth.v2.access") if c.params.get("grant_type")
    ]
    assert len(refreshes) == 1 and refreshes[0].params["refresh_token"] == REFRESH
    store = installation_store(hosted.runtime)
    stored = store.find_bot(enterprise_id=None, team_id="T3")
    assert stored is not None and stored.bot_token == ROTATED
    assert stored.bot_refresh_token == REFRESH + "-2"
    # the installation too, which is what Bolt authorises a request from
    installed = store.find_installation(enterprise_id=None, team_id="T3")
    assert installed is not None and installed.bot_token == ROTATED
    # good for twelve hours now: no second refresh
    assert sender.token_for("T3") == ROTATED  # type: ignore[attr-defined]
    assert (
        len([c for c in hosted.standin.calls_to("oauth.v2.access") if c.params.get("grant_type")])
        == 1
    )
    with unit_of_work(hosted.runtime.sessions) as session:
        rows = " ".join(
            str(v) for row in session.execute(text("SELECT * FROM slack_bots")) for v in row
        )
    assert REFRESH not in rows and ROTATED not in rows
