"""A local SMTP server (aiosmtpd) that keeps every message it accepts, and can refuse the
next ones with a reply code (451 try later, 550 no such user) or drop the connection."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.http_process import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else str(part.get_content())

    def links(self) -> list[str]:
        return re.findall(r"https?://\S+", self.text)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    # reply codes for the next messages, in order: "451 4.3.0 try later", "550 5.1.1 no user"
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            if self.refusals and self.refusals[0].startswith("550"):
                return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 OK"


class MailStandIn:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.handler = _Handler()
        self.host = host
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def __enter__(self) -> MailStandIn:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse_next(self, *replies: str) -> None:
        with self.handler.lock:
            self.handler.refusals.extend(replies)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30) -> list[Received]:
        """The messages to `address` once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self.handler.arrived:
            while True:
                found = [r for r in self.handler.received if address in r.recipients]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} message(s) to {address} did not arrive")
                self.handler.arrived.wait(left)
