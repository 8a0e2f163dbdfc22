"""How each chat platform names people in text and reaches them privately, as its adapter
declares it. The core asks here, and so names no platform, holds none of their id or mention
syntax, and knows none of their rules for opening a personal chat.

Each adapter registers a `PlatformPeople` when its module is imported; `bot.adapters` imports
them all, and every entry point (the command line, the tests) imports `bot.adapters`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.addresses import Address

if TYPE_CHECKING:
    from bot.store.models import Identity, Person


@dataclass(frozen=True)
class Handle:
    """A user id as someone typed or pasted it: in a plan's lead cell, a command, WSOA_ADMINS."""

    platform: str
    user_id: str
    # the platform itself resolved it (a mention it wrote into the text): a real user, who
    # may not have used the bot yet
    vouched: bool = False


class PlatformPeople(Protocol):
    # the platform its identities are stored under
    platform: str

    def handle(self, text: str) -> Handle | None:
        """`text` as one of this platform's user ids or mentions, if it is one."""
        ...

    def address(self, identity: Identity) -> Address | None:
        """The person's personal chat on this platform; None when it cannot be opened."""
        ...

    def address_for(self, user_id: str) -> Address | None:
        """The personal chat of a user id no one has linked yet, where one can be opened."""
        ...

    def unreachable(self, person: Person) -> str | None:
        """Why a person with an identity here cannot be reached, when the admins can put it
        right (said to them); None to say only that no chat account is linked."""
        ...


_REGISTERED: dict[str, PlatformPeople] = {}


def register(platform: PlatformPeople) -> None:
    _REGISTERED[platform.platform] = platform


def registered() -> Iterable[PlatformPeople]:
    return _REGISTERED.values()


def handle_of(text: str) -> Handle | None:
    """The platform user id or mention `text` is, as some adapter reads it."""
    text = text.strip()
    for platform in _REGISTERED.values():
        found = platform.handle(text)
        if found is not None:
            return found
    return None


EMAIL = "email"


def personal_address(person: Person) -> Address | None:
    """Where to reach `person` privately: their personal chat on the first platform they were
    linked on where one can be opened; for someone known only by e-mail (no chat account on any
    platform), their e-mail. None when there is none."""
    for identity in person.identities:
        platform = _REGISTERED.get(identity.platform)
        address = platform.address(identity) if platform is not None else None
        if address is not None:
            return address
    if person.email and not any(i.platform in _REGISTERED for i in person.identities):
        return Address(platform=EMAIL, conversation=person.email)
    return None


def address_for(handle: Handle) -> Address | None:
    platform = _REGISTERED.get(handle.platform)
    return platform.address_for(handle.user_id) if platform is not None else None


@dataclass(frozen=True)
class Unreachable:
    reason: str
    # the admins can put it right, so they are told rather than it being skipped quietly
    tell_admins: bool


def why_unreachable(person: Person) -> Unreachable:
    for identity in person.identities:
        platform = _REGISTERED.get(identity.platform)
        reason = platform.unreachable(person) if platform is not None else None
        if reason is not None:
            return Unreachable(reason, tell_admins=True)
    return Unreachable(f"{person.label} has no chat account linked", tell_admins=False)
