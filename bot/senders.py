"""How a scheduled `Reply` reaches an `Address`: a `Sender` per platform.

Each sender renders for its platform, posts, and knows its own way of finding a post it already
made (after a crash between the platform accepting a post and the bot recording it). The
scheduler chooses the sender by the address's platform and knows nothing of any platform.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Protocol, TextIO

from bot.addresses import Address
from bot.render.text import render_text
from bot.replies import Attachment, Reply


class DeliveryFailed(Exception):
    """The platform did not post the message; trying again cannot double it."""


class DeliveryRefused(DeliveryFailed):
    """The message can never be delivered as it is (an address the mail server does not know,
    one Notify refuses): given up on at once, and the admins told, rather than retried."""


class OutcomeUnknown(Exception):
    """The request may or may not have reached the platform: look before posting again."""


class ClaimLost(Exception):
    """While this ticker waited (a 429's Retry-After, a slow network) another took the delivery
    over: this one must not post it."""


# The check a scheduled post makes after every wait, before it posts again: is the claim still
# this ticker's? Set by the scheduler around a send; a chat reply has none.
_still_ours: ContextVar[Callable[[], bool] | None] = ContextVar("still_ours", default=None)
# Told when a scheduled post starts and stops waiting (a 429's Retry-After, a pause between
# posts): a process that is stopping hands a waiting post's delivery back at once. Told the
# wait is over, it answers whether the delivery is still this process's to post.
_on_wait: ContextVar[Callable[[bool], bool] | None] = ContextVar("on_wait", default=None)


@contextmanager
def claim_checked(
    still_ours: Callable[[], bool], on_wait: Callable[[bool], bool] | None = None
) -> Iterator[None]:
    """Within the block, `confirm_claim` asks `still_ours` whether the claim is still held, and
    `waiting` tells `on_wait` when the post waits."""
    token = _still_ours.set(still_ours)
    waits = _on_wait.set(on_wait)
    try:
        yield
    finally:
        _on_wait.reset(waits)
        _still_ours.reset(token)


@contextmanager
def waiting() -> Iterator[None]:
    """Around a platform client's wait before it sends again. A process that stops meanwhile
    hands the delivery to another (which looks for the post before posting it): this one then
    raises ClaimLost as the wait ends, and sends nothing more."""
    told = _on_wait.get()
    if told is not None:
        told(True)
    try:
        yield
    except BaseException:
        if told is not None:
            told(False)
        raise
    if told is not None and not told(False):
        raise ClaimLost("the process is stopping: the delivery was handed to another")


def confirm_claim() -> None:
    """Called by a platform client after it has waited and before it sends again: raises
    ClaimLost when the delivery being posted is no longer this ticker's."""
    still_ours = _still_ours.get()
    if still_ours is not None and not still_ours():
        raise ClaimLost("another ticker took the delivery over while this one waited")


class Sender(Protocol):
    # the platform whose addresses this sender serves
    platform: str
    # how a command is typed where its messages are read: hints in them say it this way
    prefix: str

    def send(self, reply: Reply, address: Address, key: str) -> str:
        """Posts `reply` to `address`, tagged with the delivery `key`; returns the platform's
        reference to the message. Raises DeliveryFailed or OutcomeUnknown.

        `reply.files` go with the message as the platform can carry them: Slack uploads them
        after it; Teams shows an image in the card and links a kept board pack
        (`Attachment.snapshot_id`) through `bot.boardpack.links.link_for`. Once the message is
        posted, a file that fails is logged, not raised: a retry would post the message twice."""
        ...

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        """The reference of a message tagged with `key` posted to `address` after `since`, if
        there is one. Raises DeliveryFailed when it cannot tell."""
        ...


Senders = Mapping[str, Sender]


def senders_of(*senders: Sender) -> dict[str, Sender]:
    """Senders by the platform each serves."""
    return {sender.platform: sender for sender in senders}


class ConsoleSender:
    """Prints each message as plain text (to `out`, when given) and remembers it, so the
    scheduler runs whole with no chat platform: tests use it, and a terminal can watch."""

    platform = "console"
    prefix = ""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out
        self.sent: list[tuple[Address, str, str]] = []
        # the files each message carried, by its delivery key
        self.files: list[tuple[str, Attachment]] = []

    def send(self, reply: Reply, address: Address, key: str) -> str:
        text = render_text(reply)
        self.sent.append((address, key, text))
        self.files.extend((key, attachment) for attachment in reply.files)
        if self.out is not None:
            print(f"--- to {address.conversation} ({key})\n{text}", file=self.out or sys.stdout)
        return f"console-{len(self.sent)}"

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        for n, (to, sent_key, _) in enumerate(self.sent, start=1):
            if to == address and sent_key == key:
                return f"console-{n}"
        return None

    def keys_to(self, conversation: str) -> list[str]:
        return [key for to, key, _ in self.sent if to.conversation == conversation]
