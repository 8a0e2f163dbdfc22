"""SMTP: `smtp://[user:password@]host:port` (STARTTLS, which a server other than this machine
must offer: sign-in links and passwords never cross a network in the clear) or `smtps://…`
(TLS from the first byte), with a timeout on every socket."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from datetime import datetime
from urllib.parse import unquote, urlsplit

from bot.mail import Mail, MailFailed, build_message

TIMEOUT_SECONDS = 20


class SmtpTransport:
    name = "SMTP"
    attaches_files = True

    def __init__(self, url: str, sender: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("WSOA_SMTP_URL is smtp://[user:password@]host:port or smtps://…")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, mail: Mail, at: datetime) -> None:
        message = build_message(mail, self.sender, at)
        context = ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.implicit_tls and client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif not self.implicit_tls and not _loopback(self.host):
                    raise MailFailed(
                        f"the mail server {self.host} offers no STARTTLS: nothing is sent to it "
                        "in the clear (use smtps://, or a server that offers STARTTLS)",
                        temporary=False,
                    )
                if self.user:
                    client.login(self.user, self.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailFailed(
                f"the server refused {mail.to}: {codes}",
                temporary=all(400 <= c < 500 for c in codes),
            ) from error
        except smtplib.SMTPResponseException as error:
            raise MailFailed(
                f"the server answered {error.smtp_code}", temporary=400 <= error.smtp_code < 500
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            # connection refused or dropped, a timeout, TLS failing: worth another try
            raise MailFailed(f"could not reach the mail server: {error}", temporary=True) from error
        if refused:
            raise MailFailed(f"the server refused {mail.to}", temporary=False)


def _loopback(host: str) -> bool:
    """A mail server on this machine (a relay, or the tests' own): nothing crosses a network."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
