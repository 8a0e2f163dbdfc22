"""`wsoa serve` and `wsoa tick`: which adapters run, which HTTP routes they answer, which
senders deliver scheduled messages, and the scheduler's clock. The one place they are wired
together: adapters start no scheduler, and the scheduler knows no adapter.

Slack is the adapter today (`POST /slack/events`, or Socket Mode); another platform adds its
routes to `routes` and its sender to `senders_for`.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.config import Settings
from bot.http.app import build_http_app
from bot.http.health import HEALTH_PATH
from bot.http.server import run as run_http
from bot.runtime import Runtime
from bot.senders import Sender, Senders, senders_of

if TYPE_CHECKING:
    from scheduler.deliveries import TickReport

log = logging.getLogger(__name__)

Mode = Literal["http", "socket"]


class Clock(Protocol):
    def shutdown(self) -> None: ...


def senders_for(settings: Settings) -> dict[str, Sender]:
    """A sender for each platform the settings configure."""
    found: list[Sender] = []
    if settings.slack_bot_token:
        from bot.slack.client import make_client
        from bot.slack.sender import SlackSender

        found.append(SlackSender(make_client(settings)))
    return senders_of(*found)


def serve(settings: Settings, *, mode: Mode | str, host: str, port: int) -> None:
    """Serve until interrupted. `mode` is checked here rather than only by the type checker:
    the command line hands it over as a plain string."""
    from bot.http.slack import EVENTS_PATH
    from bot.slack.app import build_app
    from bot.slack.client import make_client
    from bot.slack.sender import SlackSender
    from bot.slack.serve import (
        check_settings,
        link_people_in_background,
        serve_socket_mode,
    )

    check_settings(settings, mode)
    runtime = Runtime.start(settings)
    client = make_client(settings)
    clock: Clock | None = None
    try:
        app = build_app(runtime, client)
        link_people_in_background(runtime, client)
        clock = start_scheduler(runtime, senders_of(SlackSender(client)))
        _stop_on_sigterm()
        if mode == "http":
            parts = []
            if settings.download_secret:
                from bot.http.downloads import downloads

                parts.append(downloads(runtime, settings.download_secret))
            web = build_http_app(runtime, slack=app, parts=parts)
            log.info("serving %s and %s on %s:%s", EVENTS_PATH, HEALTH_PATH, host, port)
            # uvicorn stops gracefully on SIGTERM itself, finishing requests in flight.
            run_http(web, host, port)
        else:
            serve_socket_mode(app, settings)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if clock is not None:
            clock.shutdown()
        runtime.close()


def start_scheduler(runtime: Runtime, senders: Senders) -> Clock | None:
    """The one place the in-process scheduler is started (scheduler/clock.py): it ticks every
    minute, and the database makes each delivery happen once however many processes run."""
    try:
        from scheduler.clock import start_clock
    except ModuleNotFoundError as missing:
        if missing.name != "scheduler.clock":
            raise
        log.warning("scheduler.clock is not installed: scheduled digests will not be sent")
        return None
    clock: Clock = start_clock(runtime, senders)
    return clock


def run_tick(settings: Settings, at: datetime | None = None) -> TickReport:
    """`wsoa tick`: one tick against the configured database and platforms."""
    from scheduler.deliveries import tick

    runtime = Runtime.start(settings)
    try:
        return tick(runtime, senders_for(settings), at or runtime.clock())
    finally:
        runtime.close()


def _stop_on_sigterm() -> None:
    # Containers stop with SIGTERM: turn it into the same clean stop as Ctrl-C, so the
    # scheduler's clock shuts down and the database connections close.
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
