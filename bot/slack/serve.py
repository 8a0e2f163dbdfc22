"""`wsoa serve`: the Slack app over HTTP (waitress, a production WSGI server) or Socket Mode,
with the scheduler's clock running in the same process.

HTTP mode serves `POST /slack/events` (slash commands, interactivity and events share the one
Request URL) and `GET /healthz`, which answers 200 only while the database answers.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.app import MISSING_BOT_TOKEN, SlackSetupError, build_app
from bot.slack.client import make_client
from bot.slack.people import link_people
from bot.store.db import unit_of_work

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 8
SETUP_GUIDE = "See docs/slack-setup.md."

Server = BaseWSGIServer | MultiSocketServer
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


def database_answers(runtime: Runtime) -> bool:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("health check: the database does not answer: %s", error)
        return False
    return True


def make_wsgi_app(app: App, runtime: Runtime) -> WSGIApplication:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            healthy = database_answers(runtime)
            body = b"ok\n" if healthy else b"database unavailable\n"
            start_response(
                "200 OK" if healthy else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            )
            return [body]
        return slack(environ, start_response)

    return wsgi


def make_http_server(app: App, runtime: Runtime, host: str, port: int) -> Server:
    """A waitress server for the app; port 0 picks a free one (`server.effective_port`)."""
    return create_server(make_wsgi_app(app, runtime), host=host, port=port, threads=HTTP_THREADS)


def start_http_server(
    app: App, runtime: Runtime, host: str, port: int
) -> tuple[Server, threading.Thread]:
    """The server running on a daemon thread (tests, benchmarks); `stop_http_server` ends it."""
    server = make_http_server(app, runtime, host, port)
    thread = threading.Thread(target=server.run, name="wsoa-http", daemon=True)
    thread.start()
    return server, thread


def stop_http_server(server: Server, thread: threading.Thread) -> None:
    if isinstance(server, BaseWSGIServer):
        # Close from inside the server's loop, woken by its trigger: closing from outside is
        # only noticed at the loop's next one-second timeout.
        # (The type stubs do not describe the trigger or the loop's map.)
        running = cast(Any, server)
        running.trigger.pull_trigger(lambda: wasyncore.close_all(running._map))
    else:
        server.close()
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()
