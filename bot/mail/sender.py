"""The scheduler's sender for e-mail addresses: a scheduled `Reply` (a pre-board digest with its
board pack, a lead's check-in, a nudge, a reminder) as one e-mail to one person.

Plain text and HTML come from the same reply; a rating is always a word. A button that opens a
form becomes a link to that form on the partnership's pages, through sign-in; the board pack is
attached where the transport can attach (SMTP), else linked. Every message carries a one-click
unsubscribe link for its kind of e-mail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from bot.addresses import Address
from bot.boardpack.links import link_for
from bot.commands.interactions import FORMS
from bot.mail import Mail, MailFailed, MailFile, Transport
from bot.mail import unsubscribe as unsubscribe_links
from bot.render.html import render_page
from bot.render.text import render_text
from bot.replies import Attachment, Buttons, Reply
from bot.senders import DeliveryFailed, DeliveryRefused
from bot.services.mailing import KIND_WORDS, mail_kind

PLATFORM = "email"


class EmailSender:
    platform = PLATFORM
    # hints in an e-mail are written as a chat command would be typed
    prefix = ""

    def __init__(
        self,
        transport: Transport,
        *,
        public_url: str,
        secret_key: str,
        download_secret: str = "",
        sender_domain: str = "wsoa.invalid",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError(
                "WSOA_SECRET_KEY is needed: every e-mail carries a signed unsubscribe link"
            )
        self.transport = transport
        self.public_url = public_url.rstrip("/")
        self.secret_key = secret_key
        self.download_secret = download_secret
        self.sender_domain = sender_domain
        self.clock = clock or (lambda: datetime.now(UTC))

    def send(self, reply: Reply, address: Address, key: str) -> str:
        mail = self.compose(reply, address, key)
        try:
            self.transport.send(mail, self.clock())
        except MailFailed as failed:
            if failed.temporary:
                raise DeliveryFailed(str(failed)) from failed
            raise DeliveryRefused(str(failed)) from failed
        # the delivery row keeps a short reference (its Message-ID is longer than a chat ts)
        return f"mail-{_digest(key)[:32]}"

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        """A mailbox cannot be searched: an interrupted send is sent again, with the same
        Message-ID, which mail clients show once."""
        return None

    def compose(self, reply: Reply, address: Address, key: str) -> Mail:
        email = address.conversation
        kind = mail_kind(key)
        unsubscribe = (
            unsubscribe_links.link(self.public_url, self.secret_key, email, kind)
            if self.public_url
            else None
        )
        links = self._links(reply, email, address.workspace)
        notes = []
        files: list[MailFile] = []
        for attachment in reply.files:
            if self.transport.attaches_files:
                files.append(MailFile(attachment.filename, attachment.media_type, attachment.data))
            else:
                notes.append(self._file_note(attachment, address.workspace))
        if not self.public_url and any(isinstance(e, Buttons) for e in reply.elements):
            notes.append(
                "To report, reply to the programme manager, or use the commands above in the "
                "partnership's Slack or Teams."
            )
        footer = (
            f"You get these e-mails ({KIND_WORDS[kind]}) from the SEND partnership's Written "
            "Statement of Action bot."
        )
        subject = reply.summary or "SEND partnership update"
        text = render_text(reply)
        if links:
            text += "\n" + "\n".join(f"{label}: {url}" for label, url in links) + "\n"
        if notes:
            text += "\n" + "\n\n".join(notes) + "\n"
        text += f"\n--\n{footer}"
        text += f"\nStop these e-mails: {unsubscribe}\n" if unsubscribe else "\n"
        html = render_page(
            "email.html",
            reply=reply,
            subject=subject,
            links=links,
            notes=notes,
            footer=footer,
            unsubscribe_url=unsubscribe,
        )
        return Mail(
            to=email,
            subject=subject,
            text=text,
            html=html,
            files=files,
            unsubscribe_url=unsubscribe,
            message_id=f"<{_digest(key)[:40]}@{self.sender_domain}>",
            reference=key[:500],
        )

    def _links(self, reply: Reply, email: str, slug: str) -> list[tuple[str, str]]:
        """Each button that opens a form, as a link to that form on the plan's pages: the
        sign-in page, with the address filled in, that leads on to the form."""
        if not self.public_url or not slug:
            return []
        found = []
        for element in reply.elements:
            if not isinstance(element, Buttons):
                continue
            for button in element.buttons:
                if not any(entry.opened_by == button.action_id for entry in FORMS.values()):
                    continue
                key = (button.value.split() or [""])[0]
                target = (
                    f"/plans/{quote(slug)}/forms/{button.action_id.value}/{quote(key, safe='')}"
                )
                query = urlencode({"email": email, "next": target})
                found.append((f"{button.label} on the web", f"{self.public_url}/sign-in?{query}"))
        return found

    def _file_note(self, attachment: Attachment, slug: str) -> str:
        if attachment.snapshot_id is not None and self.public_url and self.download_secret:
            url = link_for(
                self.public_url, attachment.snapshot_id, self.download_secret, self.clock()
            )
            return f"{attachment.title}: {url} (the link works for 7 days)."
        if self.public_url and slug:
            return (
                f"{attachment.title}: sign in to the plan's pages to download it, "
                f"{self.public_url}/plans/{quote(slug)}/packs"
            )
        return f"{attachment.title} is in the partnership's chat, or ask the programme manager."


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
