"""The partnership's pages served as `wsoa serve` serves them (bot.serve.build_serving_app under
uvicorn, on a real port), sign-in links e-mailed to a local SMTP server, and a client that
signs in the way a person does: asks for a link, reads the e-mail, opens it, presses the button.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.mail import transport_for
from bot.runtime import Runtime
from bot.serve import build_serving_app
from tests.conftest import ADMIN
from tests.http_process import free_port
from tests.mail_standin import MailStandIn

# the demo's programme manager, by e-mail (the pages know people by their addresses)
PM_EMAIL = "sophie.carrington@demo.example"
# leads 11F, 12B and 12A.1 in the demo
LEAD_EMAIL = "alison.whitfield@demo.example"
ADVISER_EMAIL = "jo.adviser@education.example"
VIEWER_EMAIL = "cllr.viewer@council.example"


@dataclass
class Site:
    runtime: Runtime
    url: str
    mail: MailStandIn

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def ask_for_link(self, email: str, client: httpx.Client | None = None) -> httpx.Response:
        client = client or self.client()
        form = client.get("/sign-in")
        assert form.status_code == 200
        return client.post("/sign-in", data={"email": email, "csrf": csrf_of(form.text)})

    def link_for(self, email: str, count: int = 1) -> str:
        message = self.mail.wait_for(email, count)[-1]
        (link,) = [u for u in message.links() if "/sign-in/" in u]
        return link.removeprefix(self.url)

    def sign_in_if_open(self, email: str) -> httpx.Client | None:
        """Signed in, or None when no link arrives (the address may see no plan)."""
        before = len(self.mail.to(email))
        assert self.ask_for_link(email).status_code == 200
        try:
            self.mail.wait_for(email, before + 1, timeout=2)
        except AssertionError:
            return None
        return self.sign_in(email)

    def sign_in(self, email: str) -> httpx.Client:
        client = self.client()
        before = len(self.mail.to(email))
        assert self.ask_for_link(email, client).status_code == 200
        link = self.link_for(email, before + 1)
        shown = client.get(link)
        assert shown.status_code == 200, shown.text
        used = client.post(link, data={"csrf": csrf_of(shown.text)})
        assert used.status_code == 303, used.text
        return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def start_site(runtime: Runtime, mail: MailStandIn, public_url: str | None = None) -> Site:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runtime.settings = runtime.settings.model_copy(
        update={
            "admins": runtime.settings.admins | {PM_EMAIL},
            "public_url": url if public_url is None else public_url,
            "smtp_url": mail.url,
            "mail_from": "WSoA bot <wsoa@demo.example>",
        }
    )
    return Site(runtime, url, mail)


@pytest.fixture
def mail() -> Iterator[MailStandIn]:
    with MailStandIn() as standin:
        yield standin


@pytest.fixture
def site(demo: Runtime, mail: MailStandIn) -> Iterator[Site]:
    from bot.http.server import start_in_thread

    served = start_site(demo, mail)
    port = int(served.url.rsplit(":", 1)[1])
    server = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)), port=port)
    try:
        yield served
    finally:
        server.stop()


__all__ = ["ADMIN", "Site", "csrf_of", "mail", "site"]
