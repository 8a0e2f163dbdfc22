"""What an admin sets up: the app manifest, and `wsoa serve` refusing clearly when a setting is
missing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.config import Settings
from bot.runtime import Runtime
from bot.senders import senders_of
from bot.serve import serve, start_scheduler
from bot.slack.app import SlackSetupError, build_app
from bot.slack.client import make_client
from bot.slack.listeners import COMMAND
from bot.slack.sender import SlackSender
from bot.slack.serve import EVENTS_PATH, check_settings, serve_socket_mode
from tests.slack_standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
REQUEST_URL = f"https://YOUR-HOST{EVENTS_PATH}"

# The bot scopes each Web API method needs (docs.slack.dev/reference/methods). A method the code
# starts using must be added here, and its scope to manifest.yml.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "conversations_open": {"im:write"},
    "conversations_history": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "users_info": {"users:read"},
    "users_lookupByEmail": {"users:read", "users:read.email"},
    "views_open": set(),
    "views_push": set(),
    "views_update": set(),
    "views_publish": set(),
    "files_upload_v2": {"files:write"},
}
WEB_API_CALL = re.compile(
    r"\.((?:auth|chat|conversations|users|views|files|reactions|pins|apps)_\w+)\("
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def methods_used() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(WEB_API_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_manifest_asks_for_exactly_the_scopes_the_code_uses(manifest: dict[str, Any]) -> None:
    used = methods_used()
    unknown = used - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES and manifest.yml"
    needed = {"commands"} | {scope for method in used for scope in METHOD_SCOPES[method]}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    assert "users_lookupByEmail" in used and "views_publish" in used


def test_the_manifest_describes_the_app_the_code_serves(manifest: dict[str, Any]) -> None:
    # Field names and limits from Slack's manifest schema (slackapi/manifest-schema, v1).
    top = {"_metadata", "display_information", "features", "oauth_config", "settings"}
    assert set(manifest) <= top
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])

    features = manifest["features"]
    assert set(features) <= {"app_home", "bot_user", "slash_commands", "shortcuts"}
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        # leads answer check-ins in plain words there
        "messages_tab_read_only_enabled": False,
    }
    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    [command] = features["slash_commands"]
    assert set(command) <= {"command", "url", "description", "usage_hint", "should_escape"}
    assert command["command"] == COMMAND
    assert command["url"] == REQUEST_URL
    assert 1 <= len(command["description"]) <= 2000
    assert 1 <= len(command["usage_hint"]) <= 1000
    assert command["should_escape"] is True  # `assign REF @user` needs mentions as user IDs

    settings = manifest["settings"]
    assert set(settings) <= {
        "event_subscriptions",
        "interactivity",
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    }
    assert settings["event_subscriptions"] == {
        "request_url": REQUEST_URL,
        "bot_events": ["app_home_opened", "message.im"],
    }
    assert settings["interactivity"] == {"is_enabled": True, "request_url": REQUEST_URL}
    assert settings["socket_mode_enabled"] is False


# --- serve -------------------------------------------------------------------------------------


def test_serve_refuses_in_words_without_the_slack_settings(tmp_path: Path) -> None:
    database = tmp_path / "never-created.db"
    bare = Settings(WSOA_DATABASE_URL=f"sqlite:///{database}")
    with pytest.raises(SlackSetupError, match="SLACK_BOT_TOKEN is not set"):
        serve(bare, mode="http", host="127.0.0.1", port=0)
    assert not database.exists()

    with_token = bare.model_copy(update={"slack_bot_token": "xoxb-1"})
    with pytest.raises(SlackSetupError, match="SLACK_SIGNING_SECRET is not set"):
        check_settings(with_token, "http")
    with pytest.raises(SlackSetupError, match="Socket Mode needs SLACK_APP_TOKEN"):
        check_settings(with_token, "socket")
    with pytest.raises(SlackSetupError, match="starting xapp-"):
        check_settings(with_token.model_copy(update={"slack_app_token": "xoxb-2"}), "socket")
    with pytest.raises(SlackSetupError, match="Unknown serving mode"):
        check_settings(with_token, "carrier-pigeon")
    check_settings(with_token.model_copy(update={"slack_app_token": "xapp-1"}), "socket")
    check_settings(with_token.model_copy(update={"slack_signing_secret": "s"}), "http")


def test_wsoa_serve_without_a_token_exits_with_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WSOA_DATABASE_URL", f"sqlite:///{tmp_path / 'wsoa.db'}")
    assert main(["serve", "--http", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is not set" in err and "Traceback" not in err


def test_serve_starts_the_schedulers_clock(runtime: Runtime) -> None:
    with SlackStandIn() as standin:
        client = make_client(runtime.settings.model_copy(update={"slack_api_url": standin.url}))
        clock = start_scheduler(runtime, senders_of(SlackSender(client)))
        assert clock is not None
        clock.shutdown()


def test_socket_mode_refused_by_slack_says_which_token_to_check(runtime: Runtime) -> None:
    with SlackStandIn() as standin:
        settings = runtime.settings.model_copy(
            update={"slack_api_url": standin.url, "slack_app_token": "xapp-wrong"}
        )
        standin.error_next("apps.connections.open", "invalid_auth")
        app = build_app(runtime, make_client(settings))
        with pytest.raises(SlackSetupError, match=r"refused.*\(invalid_auth\).*SLACK_APP_TOKEN"):
            serve_socket_mode(app, settings)
        [asked] = standin.calls_to("apps.connections.open")
        assert asked.token == "xapp-wrong"
