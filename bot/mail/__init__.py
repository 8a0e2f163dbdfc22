"""E-mail: one message shape, and the transports that send it: SMTP (the standard library's
`email` and `smtplib`) and GOV.UK Notify (its own client). Each message goes to one person.

A transport raises `MailFailed`, saying whether a later try may succeed (a 4xx reply, a dropped
connection, Notify's 429 or 5xx) or never will (an address refused, Notify's 400).
"""

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
    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class MailFile:
    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    files: list[MailFile] = field(default_factory=list)
    # RFC 8058 one-click unsubscribe: the signed URL a POST to stops this kind of e-mail
    unsubscribe_url: str | None = None
    # the same for every try of one delivery, so a mail client shows a repeat once
    message_id: str | None = None
    # the delivery's key: Notify keeps it as the notification's reference
    reference: str | None = None


class Transport(Protocol):
    # what `board list` and the admins are told e-mail goes through
    name: str
    # whether a file can go with the message (SMTP); otherwise it is linked (Notify)
    attaches_files: bool

    def send(self, mail: Mail, at: datetime) -> None: ...


def one_line(text: str, limit: int = 200) -> str:
    """Text that goes into a header: one line, whatever was typed (no header injection)."""
    return " ".join(text.split())[:limit]


def build_message(mail: Mail, sender: str, at: datetime) -> EmailMessage:
    """The message as SMTP sends it: one recipient, Date and Message-ID, plain text and (when
    given) HTML alternatives, files attached, and the one-click unsubscribe headers. Every
    header value passes `one_line`, and the `email` package refuses a line break in a header
    besides, so typed text (a board's name) can add no header."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MailAddress(addr_spec=mail.to)
    message["Subject"] = one_line(mail.subject)
    message["Date"] = format_datetime(at)
    domain = sender.rpartition("@")[2].strip(">").strip() or None
    message["Message-ID"] = mail.message_id or make_msgid(domain=domain)
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{one_line(mail.unsubscribe_url, 2000)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for file in mail.files:
        main, _, sub = file.media_type.partition("/")
        message.add_attachment(file.data, maintype=main, subtype=sub, filename=file.filename)
    return message


def transport_for(settings: Settings) -> Transport | None:
    """The transport the settings configure (Notify when its key is given, else SMTP); None
    when e-mail is not set up."""
    if settings.notify_api_key:
        from bot.mail.notify import NotifyTransport

        return NotifyTransport(
            settings.notify_api_key, settings.notify_template_id, settings.notify_url
        )
    if settings.smtp_url:
        from bot.mail.smtp import SmtpTransport

        return SmtpTransport(settings.smtp_url, settings.mail_from or "wsoa@localhost")
    return None
