"""How Teams names people in text, and where a Teams user is reached privately: registered
with the core (bot/platforms.py), which knows none of it.

The adapter turns an @mention into the person's AAD object id before the text reaches a command
(bot/teams/core.py), so in commands and plans a Teams user is their AAD object id."""

from __future__ import annotations

import re

from bot import platforms
from bot.addresses import Address
from bot.platforms import Handle
from bot.store.models import Identity, Person

PLATFORM = "teams"

AAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class TeamsPeople:
    platform = PLATFORM

    def handle(self, text: str) -> Handle | None:
        return Handle(PLATFORM, text.lower()) if AAD_ID.match(text) else None

    def address(self, identity: Identity) -> Address | None:
        if not (identity.connector_id and identity.service_url):
            # Never seen through the bot (it was not installed for them): Teams cannot open a
            # chat without their `29:` id and regional URL.
            return None
        return Address(
            platform=PLATFORM,
            workspace=identity.workspace,
            conversation=identity.connector_id,
            service_url=identity.service_url,
        )

    def address_for(self, user_id: str) -> Address | None:
        return None  # an AAD id alone opens no chat: see `address`

    def unreachable(self, person: Person) -> str | None:
        return (
            f"{person.label} has not installed the bot in Teams, so no personal chat can be "
            "opened: install it for them (docs/teams-setup.md, pre-installing for leads)"
        )


platforms.register(TeamsPeople())
