"""Serving the Slack app: its settings checked in words, its route (`POST /slack/events`:
slash commands, interactivity and events share the one Request URL), Socket Mode, and linking
leads to Slack users. bot/serve.py wires it with the HTTP app and the scheduler."""

from __future__ import annotations

import logging
import threading
from typing import Literal

import uvicorn
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.http.app import build_http_app
from bot.http.health import HEALTH_PATH
from bot.http.server import RunningServer, make_server, start_in_thread
from bot.http.slack import EVENTS_PATH
from bot.runtime import Runtime
from bot.slack.app import MISSING_BOT_TOKEN, SlackSetupError
from bot.slack.people import link_people
from bot.store.db import unit_of_work

log = logging.getLogger(__name__)

SETUP_GUIDE = "See docs/slack-setup.md."

Mode = Literal["http", "socket"]
MODES: tuple[Mode, ...] = ("http", "socket")
__all__ = ["EVENTS_PATH", "HEALTH_PATH", "stop_http_server"]


def check_settings(settings: Settings, mode: str) -> None:
    """Refuse to start, in words, when Slack settings are missing: not a traceback later."""
    if mode not in MODES:
        raise SlackSetupError(f"Unknown serving mode “{mode}”: use http or socket.")
    if settings.slack_client_id:
        check_installable(settings, mode)
        return
    if not settings.slack_bot_token:
        raise SlackSetupError(MISSING_BOT_TOKEN)
    if mode == "http" and not settings.slack_signing_secret:
        raise SlackSetupError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to check that requests come "
            "from Slack. Copy it from your app's Basic Information page, or use Socket Mode "
            f"(--socket with SLACK_APP_TOKEN). {SETUP_GUIDE}"
        )
    if mode == "socket" and not settings.slack_app_token:
        raise SlackSetupError(
            "Socket Mode needs SLACK_APP_TOKEN: create an app-level token (xapp-…) with the "
            "connections:write scope on your app's Basic Information page, or serve over HTTP "
            f"with --http. {SETUP_GUIDE}"
        )
    if mode == "socket" and not str(settings.slack_app_token).startswith("xapp-"):
        raise SlackSetupError(
            "SLACK_APP_TOKEN should be an app-level token starting xapp- (not the bot token). "
            + SETUP_GUIDE
        )


def check_installable(settings: Settings, mode: str) -> None:
    """Slack installed in many workspaces (SLACK_CLIENT_ID): over HTTP, with the client secret,
    the signing secret and a Fernet key to keep tokens encrypted."""
    from bot.slack.installations import token_cipher

    if mode != "http":
        raise SlackSetupError(
            "Slack installed in many workspaces is served over HTTP (--http): its OAuth "
            "install and redirect are web pages."
        )
    if not settings.slack_client_secret:
        raise SlackSetupError(
            f"SLACK_CLIENT_SECRET is not set, and SLACK_CLIENT_ID is. {SETUP_GUIDE}"
        )
    if not settings.slack_signing_secret:
        raise SlackSetupError(f"SLACK_SIGNING_SECRET is not set. {SETUP_GUIDE}")
    token_cipher(settings.secret_key)


def serve_socket_mode(app: App, settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("connecting to Slack in Socket Mode")
    handler = SocketModeHandler(app, settings.slack_app_token)
    try:
        handler.start()
    except SlackApiError as refused:
        raise SlackSetupError(
            f"Slack refused the Socket Mode connection ({refused.response.get('error')}): check "
            f"SLACK_APP_TOKEN and that Socket Mode is on for the app. {SETUP_GUIDE}"
        ) from refused
    except OSError as unreachable:
        raise SlackSetupError(
            f"Could not reach Slack at {settings.slack_api_url}: {unreachable}"
        ) from unreachable
    finally:
        # Stopped (Ctrl-C, SIGTERM) or refused: close the WebSocket and its threads.
        handler.close()


def link_people_in_background(runtime: Runtime, client: WebClient) -> threading.Thread:
    """Leads named by e-mail become Slack users. In the background: a large plan can take
    minutes under Slack's rate limits, and the bot should answer meanwhile."""

    def run() -> None:
        try:
            with unit_of_work(runtime.sessions) as session:
                report = link_people(session, client)
        except Exception:
            # A thread's exception would otherwise vanish; the bot works without linking.
            log.exception("linking leads to Slack users failed")
            return
        for line in report.lines():
            log.info("people: %s", line)

    thread = threading.Thread(target=run, name="wsoa-link-people", daemon=True)
    thread.start()
    return thread


# --- HTTP --------------------------------------------------------------------------------------


def make_http_server(app: App, runtime: Runtime, host: str, port: int) -> uvicorn.Server:
    """uvicorn serving the one HTTP app with this Slack app alone (benchmarks' floor)."""
    return make_server(build_http_app(runtime, slack=app), host, port)


def start_http_server(app: App, runtime: Runtime, host: str, port: int) -> RunningServer:
    """The server running on a daemon thread (tests, benchmarks); `stop_http_server` ends it."""
    return start_in_thread(build_http_app(runtime, slack=app), host, port)


def stop_http_server(server: RunningServer) -> None:
    server.stop()
