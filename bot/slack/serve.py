"""`wsoa serve`: the Slack app over HTTP (the one ASGI app of `bot.http`, under uvicorn) or
Socket Mode, with the scheduler's clock running in the same process.

HTTP mode serves `POST /slack/events` (slash commands, interactivity and events share the one
Request URL) and `GET /healthz`, which answers 200 only while the database answers with the
current schema.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Literal, Protocol

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
from bot.slack.app import MISSING_BOT_TOKEN, SlackSetupError, build_app
from bot.slack.client import make_client
from bot.slack.people import link_people
from bot.store.db import unit_of_work

log = logging.getLogger(__name__)

SETUP_GUIDE = "See docs/slack-setup.md."

Mode = Literal["http", "socket"]
MODES: tuple[Mode, ...] = ("http", "socket")


class Clock(Protocol):
    def shutdown(self) -> None: ...


def check_settings(settings: Settings, mode: str) -> None:
    """Refuse to start, in words, when Slack settings are missing: not a traceback later."""
    if mode not in MODES:
        raise SlackSetupError(f"Unknown serving mode “{mode}”: use http or socket.")
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


def serve(settings: Settings, *, mode: Mode | str, host: str, port: int) -> None:
    """Serve until interrupted. `mode` is checked here rather than only by the type checker:
    the command line hands it over as a plain string."""
    check_settings(settings, mode)
    runtime = Runtime.start(settings)
    client = make_client(settings)
    clock: Clock | None = None
    try:
        app = build_app(runtime, client)
        link_people_in_background(runtime, client)
        clock = start_scheduler(runtime, client)
        _stop_on_sigterm()
        if mode == "http":
            server = make_http_server(app, runtime, host, port)
            log.info("serving %s and %s on %s:%s", EVENTS_PATH, HEALTH_PATH, host, port)
            # uvicorn stops gracefully on SIGTERM itself, then raises it again for us.
            server.run()
        else:
            serve_socket_mode(app, settings)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if clock is not None:
            clock.shutdown()
        runtime.close()


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


def start_scheduler(runtime: Runtime, client: WebClient) -> Clock | None:
    """The one place the in-process scheduler is started (scheduler/clock.py): it ticks every
    minute, and the database makes each delivery happen once however many processes run."""
    try:
        from scheduler.clock import start_clock
    except ModuleNotFoundError as missing:
        if missing.name != "scheduler.clock":
            raise
        log.warning("scheduler.clock is not installed: scheduled digests will not be sent")
        return None
    clock: Clock = start_clock(runtime, client)
    return clock


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


def _stop_on_sigterm() -> None:
    # Containers stop with SIGTERM: turn it into the same clean stop as Ctrl-C, so the
    # scheduler's clock shuts down and the database connections close.
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)


# --- HTTP --------------------------------------------------------------------------------------


def make_http_server(app: App, runtime: Runtime, host: str, port: int) -> uvicorn.Server:
    """uvicorn serving the one HTTP app with this Slack app; `.run()` serves until SIGTERM."""
    return make_server(build_http_app(runtime, slack=app), host, port)


def start_http_server(app: App, runtime: Runtime, host: str, port: int) -> RunningServer:
    """The server running on a daemon thread (tests, benchmarks); `stop_http_server` ends it."""
    return start_in_thread(build_http_app(runtime, slack=app), host, port)


def stop_http_server(server: RunningServer) -> None:
    server.stop()
