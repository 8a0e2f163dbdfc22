"""How Slack names people in text, and where a Slack user is reached privately: registered
with the core (bot/platforms.py), which knows none of it."""

from __future__ import annotations

import re

from bot import platforms
from bot.addresses import Address
from bot.platforms import Handle
from bot.store.models import Identity, Person

PLATFORM = "slack"

# A Slack user id (U… or, on Enterprise Grid, W…); Slack's `<@U…|name>` mention form.
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class SlackPeople:
    platform = PLATFORM

    def handle(self, text: str) -> Handle | None:
        match = MENTION.match(text)
        if match:
            # Slack wrote the mention itself: a real user of the workspace.
            return Handle(PLATFORM, match.group(1), vouched=True)
        if USER_ID.match(text):
            return Handle(PLATFORM, text)
        return None

    def address(self, identity: Identity) -> Address | None:
        # A user id is its own direct-message conversation: chat.postMessage opens it.
        return Address(
            platform=PLATFORM, workspace=identity.workspace, conversation=identity.external_id
        )

    def address_for(self, user_id: str) -> Address | None:
        return Address(platform=PLATFORM, conversation=user_id)

    def unreachable(self, person: Person) -> str | None:
        return None


platforms.register(SlackPeople())
