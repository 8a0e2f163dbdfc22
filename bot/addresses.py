"""Where a message goes: a platform, its workspace or tenant, and a conversation in it.

Board meetings, weekly digests and deliveries store the address they were set up from; a
reminder goes to the lead's personal chat on the platform they use. Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Platform = Literal["slack", "teams", "console", "email"]

# Teams conversation ids run past 100 characters, its service URLs to about 200.
CONVERSATION_CHARS = 400


class Address(BaseModel):
    """A conversation on a platform. Slack: the workspace (team id) and a channel id, or a user
    id for that user's direct messages. Teams: the tenant, the conversation id, the regional
    `service_url` the Bot Connector wants, and the thread when replying in one. Console: the
    terminal ("console"). E-mail: the address, with the plan's slug as its workspace (links
    in the message lead to that plan's pages)."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    conversation: str
    workspace: str = ""
    thread: str | None = None
    service_url: str | None = None


def console_address(conversation: str = "console") -> Address:
    return Address(platform="console", conversation=conversation)
