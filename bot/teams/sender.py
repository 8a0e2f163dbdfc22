"""Scheduled deliveries to Teams: a `Reply` rendered as a card and posted to an address learned
from an earlier activity (a channel, a group chat, or a person's personal chat).

Shaped for the core's `Sender` protocol (a Reply and an Address in, the post's id out); the core's
typed `Address` maps onto `TeamsAddress` field for field. Unlike Slack, a bot cannot read a Teams
channel's history without Graph permissions, so there is no looking for a post already made after
a crash: exactly-once rests on the scheduler's claims alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.addresses import Address
from bot.boardpack.links import link_for
from bot.render import cards
from bot.replies import Attachment, Reply, code, plain
from bot.senders import DeliveryFailed, OutcomeUnknown
from bot.teams.connector import Connector, ConnectorError


@dataclass(frozen=True)
class TeamsAddress:
    service_url: str
    tenant_id: str
    # a channel or chat; None for a person reached in their personal chat
    conversation_id: str | None = None
    # a person's Bot Connector id (`29:…`), for reminders
    user_id: str | None = None
    # the root message of a channel thread to post into; None starts a new post
    thread_id: str | None = None


def bot_account_id(app_id: str) -> str:
    """The bot's id in conversations: `28:` and its app id."""
    return app_id if app_id.startswith("28:") else f"28:{app_id}"


def teams_address(address: Address) -> TeamsAddress:
    """The core's address as the Bot Connector needs it: a personal chat is stored as the
    person's `29:` id (the chat is opened, or found, with it), anything else as a conversation."""
    if not address.service_url:
        raise DeliveryFailed(f"no Teams service URL is known for {address.conversation}")
    if address.conversation.startswith("29:"):
        return TeamsAddress(address.service_url, address.workspace, user_id=address.conversation)
    return TeamsAddress(
        address.service_url,
        address.workspace,
        conversation_id=address.conversation,
        thread_id=address.thread,
    )


@dataclass
class TeamsSender:
    """The `Sender` for Teams addresses (bot/senders.py)."""

    connector: Connector
    bot_id: str
    invocation: str = cards.TEAMS_INVOCATION
    # where a kept board pack is downloaded (`WSOA_PUBLIC_URL`, `WSOA_DOWNLOAD_SECRET`): without
    # both, a pack is named with the command that fetches it
    public_url: str = ""
    download_secret: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    platform = "teams"
    prefix = cards.TEAMS_INVOCATION

    def send(self, reply: Reply, address: Address, key: str) -> str:
        """A scheduled delivery. A refusal (4xx) or a failure before sending fails the delivery
        (retried on later ticks); a timeout may have posted, so the outcome is unknown.

        A kept board pack cannot be uploaded with a bot's message: it becomes a download link
        (or, with no public URL, a line saying how to fetch it)."""
        reply, links = self._board_packs(reply, personal=address.conversation.startswith("29:"))
        try:
            return self.post(reply, teams_address(address), links=links)
        except ConnectorError as failed:
            if failed.status == 0 and "timed out" in str(failed):
                raise OutcomeUnknown(str(failed)) from failed
            raise DeliveryFailed(str(failed)) from failed

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        # A bot cannot read a Teams conversation without Graph permissions: the scheduler's
        # claims alone make deliveries happen once.
        return None

    def _board_packs(
        self, reply: Reply, *, personal: bool
    ) -> tuple[Reply, list[tuple[Attachment, str]]]:
        """The reply without its kept board packs, and each pack with its download link. With
        no public URL or secret, each pack is a line naming it and the command that gets it."""
        packs = [a for a in reply.files if a.snapshot_id is not None]
        if not packs:
            return reply, []
        rest = [a for a in reply.files if a.snapshot_id is None]
        reply = reply.model_copy(update={"files": rest, "elements": list(reply.elements)})
        if self.public_url and self.download_secret:
            now = self.clock()
            return reply, [
                (a, link_for(self.public_url, a.snapshot_id or 0, self.download_secret, now))
                for a in packs
            ]
        invocation = "" if personal else self.invocation
        for pack in packs:
            reply.para(
                plain(f"{pack.title} ({pack.filename}) is kept: "),
                code(f"{invocation}boardpack"),
                plain(" gets it."),
            )
        return reply, []

    def post(
        self,
        reply: Reply,
        address: TeamsAddress,
        *,
        more_hint: str | None = None,
        links: list[tuple[Attachment, str]] | None = None,
    ) -> str:
        """Posts the reply (with a download button for each linked file); returns the new
        activity's id."""
        if address.conversation_id is None:
            if address.user_id is None:
                raise ValueError("a Teams address needs a conversation or a person")
            conversation = self.connector.create_personal_conversation(
                address.service_url,
                bot_id=self.bot_id,
                user_id=address.user_id,
                tenant_id=address.tenant_id,
            )
            activity = cards.message(reply, more_hint=more_hint, invocation="")
            return self.connector.send(
                address.service_url, conversation, with_links(activity, links or [])
            )
        # A channel id learned from a thread carries `;messageid=`: the bare id posts anew.
        conversation = address.conversation_id.split(";", 1)[0]
        if address.thread_id:
            conversation += f";messageid={address.thread_id}"
        personal = conversation.startswith("a:")
        activity = cards.message(
            reply, more_hint=more_hint, invocation="" if personal else self.invocation
        )
        return self.connector.send(
            address.service_url, conversation, with_links(activity, links or [])
        )


def with_links(activity: dict[str, Any], links: list[tuple[Attachment, str]]) -> dict[str, Any]:
    """The message's card with a download button for each file: `Action.OpenUrl`, so the link
    opens in the browser, which downloads the file (the link carries its own expiring token)."""
    if not links:
        return activity
    card = activity["attachments"][0]["content"]
    card["body"].append(
        {
            "type": "ActionSet",
            "actions": [
                {
                    "type": "Action.OpenUrl",
                    "title": f"Download {pack.filename}"[: cards.BUTTON_LABEL],
                    "url": url,
                }
                for pack, url in links
            ],
        }
    )
    return activity
