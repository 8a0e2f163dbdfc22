"""The app factory: a Bolt App built from a Runtime, with nothing sent to Slack while building.

Tests and benchmarks build as many apps as they like, each with its own client and database.
"""

from __future__ import annotations

import logging
import math

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot.domain import UserError
from bot.runtime import ContextCarryingExecutor, Runtime
from bot.slack.client import make_client
from bot.slack.installations import EncryptedInstallationStore, StateStore, token_cipher
from bot.slack.listeners import register_listeners
from bot.slack.middleware import attach_caller

# Listeners run on these threads once the request thread has its acknowledgement (Bolt's
# default is 5, fewer than the HTTP server's threads, which would queue clicks behind forms).
LISTENER_THREADS = 16


class SlackSetupError(UserError):
    """A Slack setting is missing or wrong: the bot cannot start until it is fixed."""


class _TokenFromTheClient(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, given a client too, warns
    at every start that the token is unused. The client carries that very token: the warning
    would only alarm whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _quiet_unused_token_warning() -> None:
    bolt_log = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _TokenFromTheClient) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenFromTheClient())


MISSING_BOT_TOKEN = (
    "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from your Slack app's "
    "OAuth & Permissions page. See docs/slack-setup.md."
)


INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def build_app(runtime: Runtime, client: WebClient | None = None) -> App:
    """`client` defaults to one from the settings (SLACK_BOT_TOKEN, SLACK_API_URL, retries).
    With SLACK_CLIENT_ID (and no client given), the app installs itself in many workspaces."""
    if runtime.settings.slack_client_id and client is None:
        return build_installable_app(runtime)
    client = client or make_client(runtime.settings)
    if not client.token:
        raise SlackSetupError(MISSING_BOT_TOKEN)
    _quiet_unused_token_warning()
    app = App(
        name="wsoa",
        client=client,
        # Passed explicitly (even empty, for Socket Mode) so Bolt never reads the environment
        # itself: settings are read once, in bot.config.
        signing_secret=runtime.settings.slack_signing_secret or "",
        # No auth.test at build time; Bolt asks once, on the first request.
        token_verification_enabled=False,
        # Carrying context: a listener's unit of work sees the request's deadline.
        listener_executor=ContextCarryingExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="wsoa-listener"
        ),
    )
    app.use(attach_caller(runtime))
    register_listeners(app)
    _wait_for_acknowledgements(app, runtime.settings.answer_within)
    return app


def _wait_for_acknowledgements(app: App, answer_within: float) -> None:
    """Bolt waits Slack's 3 s for a listener to acknowledge, then answers "unhandled". The
    bot's own deadline (`answer_within`, 2.5 s unless set) answers first, with an apology;
    where it is set longer (a test on a loaded machine), Bolt waits as long, so the one
    deadline that applies is always the bot's. Bolt offers no setting for this but the
    listener's own `ack_timeout`."""
    wait = max(3, math.ceil(answer_within))
    for listener in app._listeners:
        listener.ack_timeout = wait


def installation_store(runtime: Runtime) -> EncryptedInstallationStore:
    settings = runtime.settings
    return EncryptedInstallationStore(
        runtime.engine, settings.slack_client_id or "", token_cipher(settings.secret_key)
    )


def build_installable_app(runtime: Runtime) -> App:
    """Slack installed in many workspaces: Bolt's OAuth flow (`GET /slack/install`,
    `GET /slack/oauth_redirect`, the state checked and used once), each request authorised by
    its own workspace's installation, and an uninstall (`app_uninstalled`, `tokens_revoked`)
    deleting it. Tokens are rotated by Bolt when the app has rotation turned on."""
    settings = runtime.settings
    if not settings.slack_client_secret:
        raise SlackSetupError(
            "SLACK_CLIENT_SECRET is not set: with SLACK_CLIENT_ID the bot installs itself in "
            "workspaces through Slack's OAuth, which needs the app's client secret (Basic "
            "Information page). See docs/slack-setup.md."
        )
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=BOT_SCOPES,
        installation_store=installation_store(runtime),
        state_store=StateStore(runtime.engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # straight to Slack's consent screen, no page of our own first
        install_page_rendering_enabled=False,
        redirect_uri=f"{settings.public_url.rstrip('/')}{REDIRECT_PATH}"
        if settings.public_url
        else None,
    )
    _quiet_unused_token_warning()
    app = App(
        name="wsoa",
        client=make_client(settings, token=""),
        signing_secret=settings.slack_signing_secret or "",
        oauth_settings=oauth,
        listener_executor=ContextCarryingExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="wsoa-listener"
        ),
    )
    app.enable_token_revocation_listeners()
    app.use(attach_caller(runtime))
    register_listeners(app)
    _wait_for_acknowledgements(app, settings.answer_within)
    return app


# the app's bot scopes, as manifest.yml asks for them
BOT_SCOPES = [
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
]
