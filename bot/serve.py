"""`wsoa serve` and `wsoa tick`: which adapters run, which HTTP routes they answer, which
senders deliver scheduled messages, and the scheduler's clock. The one place they are wired
together: adapters start no scheduler, and the scheduler knows no adapter.

Slack (`POST /slack/events`, or Socket Mode) and Teams (`POST /api/messages`), each when its
settings are given: either alone, or both on one port against one database.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.config import Settings
from bot.domain import UserError
from bot.http.app import Part, build_http_app
from bot.http.health import HEALTH_PATH
from bot.http.server import run as run_http
from bot.mail import transport_for
from bot.runtime import Runtime
from bot.senders import Sender, Senders, senders_of

if TYPE_CHECKING:
    from fastapi import FastAPI
    from slack_bolt import App

    from bot.mail import Transport
    from bot.teams.connector import Connector
    from scheduler.deliveries import TickReport

log = logging.getLogger(__name__)

Mode = Literal["http", "socket"]


class Clock(Protocol):
    def stop(self) -> list[str]: ...

    def shutdown(self) -> None: ...

    def busy(self) -> bool: ...


def senders_for(settings: Settings, runtime: Runtime | None = None) -> dict[str, Sender]:
    """A sender for each platform the settings configure (`runtime` holds Slack's
    installations when it is installed in many workspaces)."""
    found: list[Sender] = []
    if settings.slack_client_id and runtime is not None:
        found.append(installed_slack_sender(runtime))
    elif settings.slack_bot_token:
        from bot.slack.client import make_client
        from bot.slack.sender import SlackSender

        found.append(SlackSender(make_client(settings)))
    if settings.teams_enabled:
        found.append(teams_sender(settings, teams_connector(settings)))
    mail = email_sender(settings)
    if mail is not None:
        found.append(mail)
    return senders_of(*found)


def installed_slack_sender(runtime: Runtime) -> Sender:
    from bot.slack.app import installation_store
    from bot.slack.installations import InstalledSlackSender

    return InstalledSlackSender(runtime.settings, installation_store(runtime))


def email_sender(settings: Settings) -> Sender | None:
    """E-mail's sender when SMTP or Notify is configured: the scheduler then reaches board
    recipients and people known only by e-mail. Refuses, in words, what cannot work."""
    transport = transport_for(settings)
    if transport is None:
        return None
    if not settings.secret_key:
        raise UserError(
            "E-mail is configured but WSOA_SECRET_KEY is not: every e-mail carries an "
            "unsubscribe link signed with it. Set it to a Fernet key (the same key keeps Slack "
            'tokens encrypted): `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`.'
        )
    from bot.mail.sender import EmailSender

    return EmailSender(
        transport,
        public_url=settings.public_url,
        secret_key=settings.secret_key,
        download_secret=settings.download_secret,
        sender_domain=settings.mail_from.rpartition("@")[2].strip(" >") or "wsoa.invalid",
    )


# The bot's id in dev mode, where there is no app registration: only the stand-in sees it.
DEV_APP_ID = "wsoa-dev"


def teams_connector(settings: Settings) -> Connector:
    """The Bot Connector client: a local token in dev mode (nothing contacts Microsoft), client
    credentials otherwise (fetched on first use, so starting needs no network)."""
    from bot.teams.connector import Connector, token_provider

    return Connector(tokens=token_provider(settings))


def teams_sender(settings: Settings, connector: Connector) -> Sender:
    from bot.teams.sender import TeamsSender, bot_account_id

    app_id = DEV_APP_ID if settings.teams_dev else (settings.teams_app_id or DEV_APP_ID)
    return TeamsSender(
        connector=connector,
        bot_id=bot_account_id(app_id),
        public_url=settings.public_url,
        download_secret=settings.download_secret,
    )


def teams_part(runtime: Runtime, connector: Connector, cloud: Any = None) -> Part:
    """`POST /api/messages`, wired into the core (bot/teams/core.py)."""
    from bot.teams.core import TeamsCore
    from bot.teams.web import teams_part as part
    from bot.teams.web import token_validator

    bot = TeamsCore(runtime, connector).bot()
    validator = token_validator(runtime.settings, cloud=cloud)
    return part(bot, validator, answer_within=runtime.settings.answer_within)


def build_serving_app(
    runtime: Runtime,
    *,
    slack: App | None = None,
    teams: Connector | None = None,
    cloud: Any = None,
    download_secret: str | None = None,
    mail: Transport | None = None,
) -> FastAPI:
    """The one HTTP app `wsoa serve` runs: health, the partnership's pages (sign-in links go
    through `mail`), Slack's route when `slack` is given, Teams' when a connector is, kept board
    packs' downloads when a secret signs their links. Tests build theirs here too."""
    from bot.web.site import pages

    parts: list[Part] = [pages(runtime, mail)]
    body_limits: dict[str, int] = {}
    if download_secret:
        from bot.http.downloads import downloads

        parts.append(downloads(runtime, download_secret))
    if teams is not None:
        from bot.teams.web import MAX_ACTIVITY_BYTES, MESSAGES_PATH

        parts.append(teams_part(runtime, teams, cloud))
        body_limits[MESSAGES_PATH] = MAX_ACTIVITY_BYTES
    return build_http_app(runtime, slack=slack, parts=parts, body_limits=body_limits)


def check_serving(settings: Settings, mode: str, host: str) -> None:
    """Refuse to start, in words, before anything is opened."""
    from bot.slack.serve import check_settings
    from bot.teams.web import check_dev_host

    if settings.teams_enabled:
        check_dev_host(settings, host)
        if mode == "socket" and settings.slack_enabled:
            raise UserError(
                "Teams is served over HTTP: serve Slack over HTTP too (--http with "
                "SLACK_SIGNING_SECRET), or run Slack's Socket Mode in a second process."
            )
        if settings.slack_enabled:
            check_settings(settings, "http")
        return
    check_settings(settings, mode)


def serve(settings: Settings, *, mode: Mode | str, host: str, port: int) -> None:
    """Serve until interrupted. `mode` is checked here rather than only by the type checker:
    the command line hands it over as a plain string."""
    from bot.http.slack import EVENTS_PATH

    check_serving(settings, mode, host)
    # e-mail refuses now, in words, rather than at the first delivery
    mail = email_sender(settings)
    runtime = Runtime.start(settings)
    clock: Clock | None = None
    closers: list[Callable[[], None]] = []
    try:
        slack_app = None
        senders: list[Sender] = []
        if settings.slack_client_id:
            from bot.slack.app import build_app

            # installed in many workspaces: each request, and each post, with its own token
            slack_app = build_app(runtime)
            senders.append(installed_slack_sender(runtime))
        elif settings.slack_bot_token:
            from bot.slack.app import build_app
            from bot.slack.client import make_client
            from bot.slack.sender import SlackSender
            from bot.slack.serve import link_people_in_background

            client = make_client(settings)
            slack_app = build_app(runtime, client)
            link_people_in_background(runtime, client)
            senders.append(SlackSender(client))
        connector = None
        if settings.teams_enabled:
            connector = teams_connector(settings)
            closers.append(connector.close)
            senders.append(teams_sender(settings, connector))
        if mail is not None:
            senders.append(mail)
        clock = start_scheduler(runtime, senders_of(*senders))
        _stop_on_sigterm()
        if mode == "http" or connector is not None:
            web = build_serving_app(
                runtime,
                slack=slack_app,
                teams=connector,
                download_secret=settings.download_secret,
                mail=transport_for(settings),
            )
            routes = [HEALTH_PATH, "/progress/…", "/sign-in", "/plans/…"]
            if slack_app is not None:
                routes.append(EVENTS_PATH)
            if connector is not None:
                routes.append("/api/messages")
            log.info("serving %s on %s:%s", ", ".join(routes), host, port)
            # uvicorn stops gracefully on SIGTERM itself, finishing requests in flight; the
            # clock hands its waiting deliveries back at once
            run_http(web, host, port, on_exit=clock.stop if clock is not None else None)
        else:
            from bot.slack.serve import serve_socket_mode

            assert slack_app is not None
            serve_socket_mode(slack_app, settings)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if clock is not None:
            clock.shutdown()
        for close in closers:
            close()
        runtime.close()
    if clock is not None and clock.busy():
        # A tick is still in a platform client's wait (a 429's Retry-After), which cannot be cut
        # short. Its delivery has been handed back, or keeps its lease if it was mid-post, so
        # another replica delivers it: stop now rather than wait it out.
        log.info("stopped; a scheduled post's wait was left to another replica")
        logging.shutdown()
        os._exit(0)


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
        return tick(runtime, senders_for(settings, runtime), at or runtime.clock())
    finally:
        runtime.close()


def _stop_on_sigterm() -> None:
    # Containers stop with SIGTERM: turn it into the same clean stop as Ctrl-C, so the
    # scheduler's clock shuts down and the database connections close.
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
