"""The Slack `Sender`: posting a scheduled Reply to a Slack address (rendered as Block Kit),
and finding one that was posted before a crash.

Every scheduled post carries its claim key in the message's `metadata`, so a later ticker can
ask the channel (`conversations.history` with `include_all_metadata`) whether an interrupted
post arrived before posting it again.

A post either fails for certain (Slack answered, and not with the message: `DeliveryFailed`) or
ends with its outcome unknown (the connection dropped after the request went out:
`OutcomeUnknown`). Only the first may be retried straight away; the second is looked up first.
That is why posts do not go through the client's connection-error retry handler, which would
repeat a request Slack may already have acted on. 429 (after `Retry-After`) and 5xx retries
stay: Slack has not posted the message when it answers them.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.addresses import Address
from bot.render import blockkit
from bot.replies import Attachment, Reply
from bot.senders import ClaimLost, DeliveryFailed, OutcomeUnknown

log = logging.getLogger(__name__)

# The metadata event type of every scheduled post: `event_payload.key` is the claim key.
EVENT_TYPE = "wsoa_delivery"
# How far back, before the interrupted attempt began, to look for its message (clock skew).
LOOK_BACK = timedelta(minutes=5)
HISTORY_PAGE = 200
HISTORY_PAGES = 5


class SlackSender:
    """A `Sender` over the bot's Web API client (see bot/slack/client.py)."""

    platform = "slack"
    prefix = "/wsoa "

    def __init__(self, client: WebClient) -> None:
        self.client = client
        # The same client, minus the handler that repeats a post after a dropped connection.
        self.poster = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=dict(client.headers),
            retry_handlers=[
                handler
                for handler in client.retry_handlers
                if not isinstance(handler, ConnectionErrorRetryHandler)
            ],
        )

    def send(self, reply: Reply, address: Address, key: str) -> str:
        channel = self.channel_for(address.conversation)
        ts = self.post(channel, blockkit.message(reply), key)
        if reply.files:
            # After the message, so the pack lands under its digest. The message is the
            # delivery: a failed upload is logged, never retried (that would post it twice);
            # `boardpack` gives the kept pack again.
            try:
                upload_files(self.client, channel, reply.files)
            except (SlackClientError, OSError, ClaimLost) as error:
                log.warning("%s was posted but its files were not uploaded: %s", key, error)
        return ts

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        return self.find_posted(self.channel_for(address.conversation), key, since)

    def channel_for(self, target: str) -> str:
        """The conversation to post in: a channel id as it is; a user id's direct message."""
        if not _is_user(target):
            return target
        try:
            response = self.client.conversations_open(users=target)
        except SlackApiError as error:
            raise DeliveryFailed(_describe(error)) from error
        except OSError as error:  # nothing is posted by opening a conversation
            raise DeliveryFailed(f"could not reach Slack: {error}") from error
        return str(response["channel"]["id"])

    def post(self, channel: str, payload: dict[str, Any], key: str) -> str:
        try:
            response = self.poster.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            raise DeliveryFailed(_describe(error)) from error
        except OSError as error:
            if _never_connected(error):
                raise DeliveryFailed(f"could not reach Slack: {error}") from error
            # A timeout or a reset after the request went out: it may have landed.
            raise OutcomeUnknown(f"connection failed mid-post: {error}") from error
        return str(response["ts"])

    def find_posted(self, channel: str, key: str, since: datetime) -> str | None:
        cursor: str | None = None
        oldest = f"{(since - LOOK_BACK).timestamp():.6f}"
        for _ in range(HISTORY_PAGES):
            try:
                response = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                )
            except SlackApiError as error:
                raise DeliveryFailed(f"could not read the channel: {_describe(error)}") from error
            except OSError as error:
                raise DeliveryFailed(f"could not reach Slack: {error}") from error
            for message in response.get("messages") or []:
                if _carries_key(message, key):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        log.warning("gave up looking for %s after %d pages of %s", key, HISTORY_PAGES, channel)
        return None


def upload_files(client: WebClient, channel: str, files: Sequence[Attachment]) -> None:
    """Upload a reply's files to a conversation (a channel id, or a DM's id), in one share:
    `files_upload_v2` (files.getUploadURLExternal, the bytes, files.completeUploadExternal)."""
    if not files:
        return
    uploads: list[dict[str, Any]] = []
    for attachment in files:
        upload: dict[str, Any] = {
            "content": attachment.data,
            "filename": attachment.filename,
            "title": attachment.title,
        }
        if attachment.alt_text:
            upload["alt_txt"] = attachment.alt_text
        uploads.append(upload)
    client.files_upload_v2(file_uploads=uploads, channel=channel)


def direct_channel(client: WebClient, user_id: str) -> str:
    """A user's direct messages with the bot."""
    return str(client.conversations_open(users=user_id)["channel"]["id"])


def _carries_key(message: Any, key: str) -> bool:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("key") == key


def _never_connected(error: OSError) -> bool:
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _is_user(target: str) -> bool:
    return target[:1] in ("U", "W")


def _describe(error: SlackApiError) -> str:
    response = error.response
    status = getattr(response, "status_code", None)
    code = response.get("error") if isinstance(response.data, dict) else None
    return f"Slack answered {status}: {code or 'no error code'}"
