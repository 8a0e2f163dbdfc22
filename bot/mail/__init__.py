"""E-mail: one message shape, built with the standard library's `email`, and the transports
that send it (SMTP now; GOV.UK Notify beside it). Each message goes to one person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import Settings


class MailFailed(Exception):
    """A message not sent. `temporary` says whether a later try may succeed (a 4xx reply, a
    dropped connection) or not (an address refused)."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    # extra headers: List-Unsubscribe and its one-click partner
    headers: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, mail: Mail, at: datetime) -> None: ...


def one_line(text: str, limit: int = 200) -> str:
    """Text that goes into a header: one line, whatever was typed (no header injection)."""
    return " ".join(text.split())[:limit]


def build_message(mail: Mail, sender: str, at: datetime) -> EmailMessage:
    """The message as sent: one recipient, Date and Message-ID, plain text and (when given)
    HTML alternatives. The `email` package refuses a header with a line break in it; every
    header value passes `one_line` first, so typed text never gets that far."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MailAddress(addr_spec=mail.to)
    message["Subject"] = one_line(mail.subject)
    message["Date"] = format_datetime(at)
    domain = sender.rpartition("@")[2].strip(">").strip() or None
    message["Message-ID"] = make_msgid(domain=domain)
    for name, value in mail.headers.items():
        message[name] = one_line(value, 2000)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def transport_for(settings: Settings) -> Transport | None:
    """The transport the settings configure; None when e-mail is not set up."""
    if settings.smtp_url:
        from bot.mail.smtp import SmtpTransport

        return SmtpTransport(settings.smtp_url, settings.mail_from or "wsoa@localhost")
    return None
