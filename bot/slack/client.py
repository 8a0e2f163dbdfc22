"""The Web API client every part of the bot uses: Slack's own retry handlers for 429
(honouring Retry-After), 5xx and dropped connections, pointed at SLACK_API_URL."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings
from bot.senders import confirm_claim, waiting

# A 429's Retry-After is honoured as Slack sends it; 5xx and connection errors back off.
RETRIES = 3


class _ConfirmsAfterWaiting:
    """After a retry handler has waited, and before the request goes again, a scheduled post
    confirms that its delivery is still its own (bot/senders.py `confirm_claim`)."""

    def prepare_for_next_attempt(self, *args: Any, **kwargs: Any) -> None:
        with waiting():
            super().prepare_for_next_attempt(*args, **kwargs)  # type: ignore[misc]
        confirm_claim()


class RateLimitRetry(_ConfirmsAfterWaiting, RateLimitErrorRetryHandler):
    pass


class ServerErrorRetry(_ConfirmsAfterWaiting, ServerErrorRetryHandler):
    pass


class ConnectionErrorRetry(_ConfirmsAfterWaiting, ConnectionErrorRetryHandler):
    pass


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            RateLimitRetry(max_retry_count=RETRIES),
            ServerErrorRetry(max_retry_count=RETRIES),
            ConnectionErrorRetry(max_retry_count=RETRIES),
        ],
    )
