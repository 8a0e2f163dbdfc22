"""E-mail for the people who are not in the chat (issue: e-mail): board recipients get the
pre-board digest and pack, leads known only by e-mail get their check-ins, each e-mail is a
claimed delivery sent once and retried, and every one can be unsubscribed from in one click.
Through a local SMTP server (aiosmtpd) and a local stand-in of GOV.UK Notify."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.runtime import Runtime
from bot.senders import ConsoleSender, Sender, senders_of
from bot.serve import build_serving_app, email_sender
from bot.services import boards
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting, BoardPackSnapshot, Delivery, MailUnsubscribe
from scheduler.deliveries import tick
from tests.conftest import ADMIN, NOW, Console
from tests.mail_standin import MailStandIn, Received
from tests.notify_standin import API_KEY, TEMPLATE_ID, NotifyStandIn

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "https://wsoa.council.example"
SECRET = "test-secret-key-for-unsubscribe-links"
CHAIR = "chair@council.example"
CLLR = "cllr.jones@council.example"
MEETING = "2026-11-26 10:00"  # its digest falls due 48 hours before: 24 Nov, 10:00
DUE = datetime.fromisoformat("2026-11-24T10:00:00+00:00")


@pytest.fixture
def mail() -> Iterator[MailStandIn]:
    with MailStandIn() as standin:
        yield standin


@pytest.fixture
def notify() -> Iterator[NotifyStandIn]:
    with NotifyStandIn() as standin:
        yield standin


def configure(runtime: Runtime, **settings: str) -> Settings:
    runtime.settings = runtime.settings.model_copy(
        update={
            "public_url": PUBLIC,
            "secret_key": SECRET,
            "download_secret": "test-download-secret",
            "mail_from": "SEND partnership <wsoa@council.example>",
            **settings,
        }
    )
    return runtime.settings


def senders(settings: Settings) -> dict[str, Sender]:
    console = ConsoleSender()
    email = email_sender(settings)
    assert email is not None
    return senders_of(console, email)


def add_board(console: Console, name: str = "SEND Improvement Board") -> str:
    reply = console(f"board add {MEETING} {name}")
    found = re.search(r"B-\d+", reply)
    assert found, reply
    return found.group(0)


def state_of(runtime: Runtime, key_part: str) -> list[Delivery]:
    with unit_of_work(runtime.sessions) as session:
        return list(session.scalars(select(Delivery).where(Delivery.key.contains(key_part))))


def test_board_recipients_get_the_digest_and_pack_once_each(
    demo: Runtime, console: Console, mail: MailStandIn
) -> None:
    settings = configure(demo, smtp_url=mail.url)
    board = add_board(console)
    added = console(f"board email {board} add {CHAIR} {CLLR.upper()}")
    assert f"Added {CHAIR}, {CLLR}" in added and "not set up" not in added
    assert CLLR in console(f"board email {board} list")

    report = tick(demo, senders(settings), DUE)
    assert len([k for k in report.sent if ":email:" in k]) == 2, str(report)
    packs = set()
    for address in (CHAIR, CLLR):
        (received,) = mail.wait_for(address)
        _assert_one_person_one_message(received, address)
        text, html = received.text, received.html
        assert html is not None and "<table" in html and 'lang="en"' in html
        # the digest's facts, ratings as words, and the history's chain head
        assert "Red" in text and "Record:" in text
        assert re.search(r"\bRed\b", html)
        (pack,) = [p for p in received.message.iter_attachments()]
        assert pack.get_filename().endswith(".docx")
        assert pack.get_content().startswith(b"PK")
        packs.add(pack.get_content())
        unsubscribe = received.message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{PUBLIC}/unsubscribe/")
        assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # each recipient's copy of the digest carries the one pack kept for the board
    (sent,) = packs
    with unit_of_work(demo.sessions) as session:
        kept = session.scalars(
            select(BoardPackSnapshot.content).where(BoardPackSnapshot.board_id == int(board[2:]))
        ).all()
    assert kept == [sent]
    # exactly once: later ticks send nothing more
    assert not [k for k in tick(demo, senders(settings), DUE + timedelta(minutes=5)).sent]
    assert len(mail.received) == 2
    listed = console("board list")
    assert "by e-mail to 2 recipients: 2 delivered" in listed


def _assert_one_person_one_message(received: Received, address: str) -> None:
    message = received.message
    assert received.recipients == [address]
    assert message["To"] == address
    assert message["Cc"] is None and message["Bcc"] is None
    assert message["Date"] and message["Message-ID"]
    assert message.get_body(preferencelist=("plain",)) is not None
    assert message.get_body(preferencelist=("html",)) is not None


def test_a_temporary_smtp_failure_is_retried_on_a_later_tick(
    demo: Runtime, console: Console, mail: MailStandIn
) -> None:
    settings = configure(demo, smtp_url=mail.url)
    board = add_board(console)
    console(f"board email {board} add {CHAIR}")
    mail.refuse_next("451 4.3.0 Try again later")
    first = tick(demo, senders(settings), DUE)
    assert any(":email:" in k for k in first.failed), str(first)
    assert not mail.received
    assert "retrying" in console("board list")
    # backoff: one minute after the first failure
    second = tick(demo, senders(settings), DUE + timedelta(minutes=2))
    assert any(":email:" in k for k in second.sent), str(second)
    assert len(mail.wait_for(CHAIR)) == 1
    (row,) = state_of(demo, ":email:")
    assert row.state == "sent" and row.attempts == 2


def test_a_refused_address_is_given_up_at_once_and_the_admins_told_once(
    demo: Runtime, console: Console, mail: MailStandIn
) -> None:
    # a programme manager known only by e-mail: told by e-mail
    pm = "pm@council.example"
    settings = configure(demo, smtp_url=mail.url, admins=demo.settings.admins | {pm})
    board = add_board(console)
    console(f"board email {board} add nobody@council.example")
    mail.refuse_next("550 5.1.1 No such user here")
    chat = senders(settings)
    first = tick(demo, chat, DUE)
    assert any(":email:" in k for k in first.abandoned), str(first)
    (row,) = state_of(demo, ":email:nobody")
    assert row.state == "abandoned" and row.attempts == 1 and "550" in (row.last_error or "")
    (notice,) = mail.wait_for(pm)
    assert "nobody@council.example" in notice.text
    again = tick(demo, chat, DUE + timedelta(hours=1))
    assert not again.sent and len(mail.received) == 1
    assert "not delivered (admins told)" in console("board list")


def test_header_injection_from_a_board_name_adds_no_header(
    demo: Runtime, console: Console, mail: MailStandIn
) -> None:
    settings = configure(demo, smtp_url=mail.url)
    board = add_board(console, "Board\r\nBcc: evil@attacker.example\r\nSubject: pwned")
    console(f"board email {board} add {CHAIR}")
    tick(demo, senders(settings), DUE)
    (received,) = mail.wait_for(CHAIR)
    assert received.recipients == [CHAIR]
    assert received.message["Bcc"] is None
    assert "\n" not in str(received.message["Subject"])
    assert len(received.message.get_all("Subject") or []) == 1


def test_addresses_are_checked_when_added(demo: Runtime, console: Console) -> None:
    configure(demo)
    board = add_board(console)
    refused = console(f"board email {board} add {CHAIR} not-an-address")
    assert "is not an e-mail address" in refused
    assert "Nobody yet" in console(f"board email {board} list")
    assert "Only programme managers" in console(f"board email {board} add {CHAIR}", user="U0DEMO05")
    assert "No board meeting B-999" in console(f"board email B-999 add {CHAIR}")
    assert "does not get" in console(f"board email {board} remove {CHAIR}")


def test_without_e_mail_configured_nothing_is_sent_and_the_admin_is_told(
    demo: Runtime, console: Console
) -> None:
    board = add_board(console)
    added = console(f"board email {board} add {CHAIR}")
    assert "E-mail is not set up" in added and "WSOA_SMTP_URL" in added
    assert email_sender(demo.settings) is None
    report = tick(demo, senders_of(ConsoleSender()), DUE)
    (row,) = state_of(demo, ":email:")
    assert row.state == "skipped"
    assert "e-mail is not set up" in (row.last_error or "")
    assert not [k for k in report.sent if ":email:" in k]


def test_e_mail_without_a_secret_key_is_refused_in_words(mail: MailStandIn) -> None:
    from bot.domain import UserError

    with pytest.raises(UserError, match="WSOA_SECRET_KEY"):
        email_sender(Settings(WSOA_SMTP_URL=mail.url))


# --- GOV.UK Notify ---------------------------------------------------------------------------


def test_through_notify_with_its_jwt_a_pack_link_and_retries(
    demo: Runtime, console: Console, notify: NotifyStandIn
) -> None:
    settings = configure(
        demo,
        notify_api_key=API_KEY,
        notify_template_id=TEMPLATE_ID,
        notify_url=notify.url,
    )
    board = add_board(console)
    console(f"board email {board} add {CHAIR}")
    notify.fail_next(429)
    assert any(":email:" in k for k in tick(demo, senders(settings), DUE).failed)
    notify.fail_next(500)
    at = DUE + timedelta(minutes=2)
    assert any(":email:" in k for k in tick(demo, senders(settings), at).failed)
    at += timedelta(minutes=3)
    report = tick(demo, senders(settings), at)
    assert any(":email:" in k for k in report.sent), str(report)
    (call,) = notify.sent_to(CHAIR)
    body = call.body
    assert body["template_id"] == TEMPLATE_ID
    assert body["one_click_unsubscribe_url"].startswith(f"{PUBLIC}/unsubscribe/")
    assert body["reference"].startswith("board-digest:")
    personalisation = body["personalisation"]
    assert "Record:" in personalisation["body"] and "Red" in personalisation["body"]
    # Notify attaches nothing here: the pack is a signed, expiring link
    assert f"{PUBLIC}/files/" in personalisation["body"]
    assert len(notify.calls) == 3
    assert not tick(demo, senders(settings), at + timedelta(minutes=5)).sent


def test_notify_refusing_an_address_is_not_retried(
    demo: Runtime, console: Console, notify: NotifyStandIn
) -> None:
    settings = configure(
        demo, notify_api_key=API_KEY, notify_template_id=TEMPLATE_ID, notify_url=notify.url
    )
    board = add_board(console)
    console(f"board email {board} add {CHAIR}")
    notify.fail_next(400)
    report = tick(demo, senders(settings), DUE)
    assert any(":email:" in k for k in report.abandoned), str(report)
    tick(demo, senders(settings), DUE + timedelta(hours=1))
    assert len(notify.calls) == 1


def test_a_wrong_notify_key_is_refused_by_the_stand_in(
    demo: Runtime, console: Console, notify: NotifyStandIn
) -> None:
    forged = API_KEY[:-36] + "00000000-0000-4000-8000-000000000000"
    settings = configure(
        demo, notify_api_key=forged, notify_template_id=TEMPLATE_ID, notify_url=notify.url
    )
    board = add_board(console)
    console(f"board email {board} add {CHAIR}")
    report = tick(demo, senders(settings), DUE)
    assert any(":email:" in k for k in report.abandoned), str(report)
    assert [c.status for c in notify.calls] == [403]


# --- unsubscribe -----------------------------------------------------------------------------


@pytest.fixture
def served(demo: Runtime, mail: MailStandIn) -> Iterator[str]:
    from bot.http.server import start_in_thread
    from bot.mail import transport_for

    settings = configure(demo, smtp_url=mail.url)
    server = start_in_thread(build_serving_app(demo, mail=transport_for(settings)))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_one_click_unsubscribe_stops_that_kind_of_e_mail(
    demo: Runtime, console: Console, mail: MailStandIn, served: str, encoding: str
) -> None:
    board = add_board(console)
    console(f"board email {board} add {CHAIR} {CLLR}")
    tick(demo, senders(demo.settings), DUE)
    received = mail.wait_for(CHAIR)[0]
    link = received.message["List-Unsubscribe"].strip("<>")
    path = link.removeprefix(PUBLIC)
    with httpx.Client(base_url=served) as web:
        # opening the link only asks
        shown = web.get(path)
        assert shown.status_code == 200 and "Stop these e-mails?" in shown.text
        assert _unsubscribed(demo) == []
        if encoding == "form":
            done = web.post(path, data={"List-Unsubscribe": "One-Click"})
        else:
            done = web.post(path, files={"List-Unsubscribe": (None, "One-Click")})
        assert done.status_code == 200 and "You have unsubscribed" in done.text
        # twice changes nothing more
        assert web.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
        assert web.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 400
        assert web.get("/unsubscribe/not-a-token").status_code == 400
    assert _unsubscribed(demo) == [(CHAIR, "board-papers")]
    assert "no: unsubscribed" in console(f"board email {board} list")

    # the next board's papers go to the councillor, not to the chair
    console(f"board move {board} 2026-12-10 10:00")
    tick(demo, senders(demo.settings), datetime.fromisoformat("2026-12-08T10:00:00+00:00"))
    assert len(mail.to(CLLR)) == 2 and len(mail.to(CHAIR)) == 1
    skipped = [d for d in state_of(demo, f":email:{CHAIR}") if d.state == "skipped"]
    assert skipped and "unsubscribed" in (skipped[0].last_error or "")


def _unsubscribed(runtime: Runtime) -> list[tuple[str, str]]:
    with unit_of_work(runtime.sessions) as session:
        return [(u.email, u.kind) for u in session.scalars(select(MailUnsubscribe))]


# --- leads known only by e-mail --------------------------------------------------------------


def test_an_e_mail_only_lead_gets_their_check_in_with_a_link_to_the_form(
    demo: Runtime, console: Console, mail: MailStandIn, served: str
) -> None:
    lead = "head.teacher@school.example"
    assert "Leads: Head Teacher" in console(f"assign 11F {lead}")
    added = console(f"board add {MEETING} SEND Improvement Board --reporting")
    assert "highlight reports straight away" in added
    report = tick(demo, senders(demo.settings), NOW)
    checkins = [k for k in report.sent if k.startswith("checkin:") and lead in k]
    assert checkins, str(report)
    (received,) = mail.wait_for(lead)
    assert "11F" in received.text
    (link,) = [u for u in received.links() if "/sign-in?" in u]
    assert link.startswith(f"{PUBLIC}/sign-in?email=head.teacher%40school.example&next=")
    assert "forms%2Fwsoa_report_open%2F11F" in link
    assert received.message["List-Unsubscribe"]

    # the link leads, through sign-in, to the lead's own highlight report form (the public
    # address is HTTPS, so the client is handed the Secure cookies this HTTP test gets)
    with httpx.Client(base_url=served, follow_redirects=False) as web:
        page = web.get(link.removeprefix(PUBLIC))
        assert f'value="{lead}"' in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        after = re.search(r'name="next" value="([^"]+)"', page.text)
        assert token and after
        web.cookies.set("wsoa_form", token.group(1))
        web.post(
            "/sign-in",
            data={"email": lead, "csrf": token.group(1), "next": after.group(1)},
        )
        sign_in = next(m for m in mail.wait_for(lead, 2) if "/sign-in/" in m.text)
        (signed,) = [u for u in sign_in.links() if "/sign-in/" in u]
        shown = web.get(signed.removeprefix(PUBLIC))
        confirm = re.search(r'<form method="post" action="([^"]+)"', shown.text)
        assert confirm
        used = web.post(
            confirm.group(1).replace("&amp;", "&"),
            data={"csrf": re.search(r'name="csrf" value="([^"]+)"', shown.text).group(1)},  # type: ignore[union-attr]
        )
        assert used.headers["location"] == "/plans/wsoa/forms/wsoa_report_open/11F"
        session = re.search(r"wsoa_session=([^;]+)", used.headers["set-cookie"])
        assert session
        web.cookies.set("wsoa_session", session.group(1))
        form = web.get(used.headers["location"])
        assert form.status_code == 200 and "Report on 11F" in form.text


def test_the_next_page_after_sign_in_is_only_ever_the_plans_own(served: str) -> None:
    with httpx.Client(base_url=served) as web:
        for evil in ("//evil.example/x", "https://evil.example", "/plans/../sign-out", "/files/x"):
            page = web.get("/sign-in", params={"next": evil})
            assert 'name="next"' not in page.text, evil


# --- exactly once, across tickers and processes ----------------------------------------------


def test_two_tickers_at_once_send_each_e_mail_once(
    demo: Runtime, console: Console, mail: MailStandIn, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two tickers racing for one claim: PostgreSQL, as a deployment runs")
    configure(demo, smtp_url=mail.url)
    board = add_board(console)
    addresses = [f"member{n}@council.example" for n in range(6)]
    console(f"board email {board} add {' '.join(addresses)}")
    second = Runtime.start(demo.settings)
    second.clock = demo.clock
    try:
        start = threading.Barrier(2)

        def run(runtime: Runtime) -> None:
            start.wait()
            tick(runtime, senders(demo.settings), DUE)

        threads = [threading.Thread(target=run, args=(r,)) for r in (demo, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        second.close()
    for address in addresses:
        assert len(mail.wait_for(address)) == 1
    assert len(mail.received) == len(addresses)


# the command line's own part; the database's, on both, is the rest of this file
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wsoa_tick_sends_the_e_mail_from_the_command_line(
    demo: Runtime, console: Console, mail: MailStandIn, database_url: str
) -> None:
    board = add_board(console)
    console(f"board email {board} add {CHAIR}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WSOA_"))}
    env |= {
        "WSOA_DATABASE_URL": database_url,
        "WSOA_SMTP_URL": mail.url,
        "WSOA_MAIL_FROM": "wsoa@council.example",
        "WSOA_PUBLIC_URL": PUBLIC,
        "WSOA_ADMINS": ADMIN,
        "WSOA_AS_OF": DUE.isoformat(),
    }
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "tick", "--at", DUE.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "WSOA_SECRET_KEY" in refused.stderr
    assert not mail.received
    env["WSOA_SECRET_KEY"] = SECRET
    done = subprocess.run(
        [sys.executable, "-m", "bot", "tick", "--at", DUE.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(mail.wait_for(CHAIR)) == 1
    with unit_of_work(demo.sessions) as session:
        meeting = session.get(BoardMeeting, int(board.removeprefix("B-")))
        assert meeting is not None
        key = f"{boards.board_digest_key(meeting)}:email:{CHAIR}"
    assert key in done.stdout


def test_an_unsubscribe_link_outlives_a_key_rotation() -> None:
    from bot.mail.unsubscribe import make_token, read_token

    old = make_token("old-key", CHAIR, "board-papers")
    assert read_token("new-key,old-key", old) == (CHAIR, "board-papers")
    assert read_token("new-key", old) is None
    fresh = make_token("new-key,old-key", CHAIR, "reminders")
    assert read_token("new-key", fresh) == (CHAIR, "reminders")


def _own_address() -> str | None:
    """This machine's address on its network, if it has one (nothing is sent to find it)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_a_server_across_a_network_must_offer_starttls() -> None:
    from bot.mail import Mail, MailFailed
    from bot.mail.smtp import SmtpTransport

    address = _own_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    with MailStandIn(host=address) as plain:  # aiosmtpd here offers no STARTTLS
        transport = SmtpTransport(plain.url, "wsoa@council.example")
        with pytest.raises(MailFailed, match="offers no STARTTLS") as refused:
            transport.send(Mail(to=CHAIR, subject="s", text="a sign-in link"), NOW)
        assert refused.value.temporary is False
        assert not plain.received


def test_asking_again_at_once_sends_no_second_link(demo: Runtime, mail: MailStandIn) -> None:
    from bot.http.server import start_in_thread
    from bot.mail import transport_for
    from tests.web_fixtures import PM_EMAIL, start_site

    site = start_site(demo, mail)
    port = int(site.url.rsplit(":", 1)[1])
    server = start_in_thread(build_serving_app(demo, mail=transport_for(demo.settings)), port=port)
    try:
        for _ in range(3):
            assert site.ask_for_link(PM_EMAIL).status_code == 200
        mail.wait_for(PM_EMAIL)
        time.sleep(0.5)
        assert len(mail.to(PM_EMAIL)) == 1
    finally:
        server.stop()
