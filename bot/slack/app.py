"""The app factory: a Bolt App built from a Runtime, with nothing sent to Slack while building.

Tests and benchmarks build as many apps as they like, each with its own client and database.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.domain import UserError
from bot.runtime import ContextCarryingExecutor, Runtime
from bot.slack.client import make_client
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


def build_app(runtime: Runtime, client: WebClient | None = None) -> App:
    """`client` defaults to one from the settings (SLACK_BOT_TOKEN, SLACK_API_URL, retries)."""
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
    return app
