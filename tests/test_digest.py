"""What a digest says, on the demo plan: the board's picture, and what changed since the
channel's previous digest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.render.text import render_text
from bot.replies import Reply
from bot.runtime import Runtime
from bot.services.digests import DigestFor, build_digest, previous_digest_at
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting, Delivery
from tests.conftest import ADMIN, LEAD_11F, NOW, Clock, Console

CHANNEL = "console"  # where the console's `digest now` posts


def digest(runtime: Runtime, *, board: bool = False, weekly: bool = False) -> str:
    with unit_of_work(runtime.sessions) as session:
        meeting = (
            session.scalars(select(BoardMeeting).order_by(BoardMeeting.starts_at)).first()
            if board
            else None
        )
        reply: Reply = build_digest(
            session,
            runtime.settings,
            runtime.clock(),
            DigestFor(
                channel_id=CHANNEL,
                plan_id=meeting.plan_id if meeting else 1,
                board=meeting,
                weekly=weekly,
                prefix="/wsoa ",
            ),
        )
    return render_text(reply)


def test_a_board_digest_holds_what_the_board_needs(demo: Runtime) -> None:
    text = digest(demo, board=True)

    assert "WSoA digest before SEND Operational Leads (6-weekly)" in text
    assert "Meeting: Thu 26 Nov 2026 10:00" in text
    # RAG counts per workstream, and in all.
    assert "Graduated Response" in text and "Quality Assurance and Community Engagement" in text
    assert "All" in text and "Red" in text and "Amber" in text
    # Red and amber actions with their leads and latest note.
    assert "Red actions (3)" in text and "Amber actions (13)" in text
    assert "11F" in text and "@Alison Whitfield" in text
    assert "latest: Remains red." in text
    # What changed in the channel's first digest: the last week.
    assert "In the last 7 days:" in text and "progress update" in text
    # Overdue, due soon, open follow-ups with their age.
    assert "Overdue (5)" in text and "Due in the next 14 days (3)" in text
    assert "Open follow-ups (9)" in text and "45d" in text and "no answer" in text


def test_a_weekly_digest_names_the_next_meeting(demo: Runtime) -> None:
    text = digest(demo, weekly=True)

    assert text.startswith("Weekly WSoA digest, 23 Nov 2026")
    assert "Next meeting: SEND Operational Leads (6-weekly), Thu 26 Nov 2026 10:00" in text


def test_what_changed_counts_from_the_channels_previous_digest(
    demo: Runtime, clock: Clock, console: Console
) -> None:
    assert "WSoA digest" in console("digest now")  # recorded as this channel's digest, at NOW
    clock.now = NOW + timedelta(hours=1)
    console("update 11F amber Inclusion adviser in post from January", user=LEAD_11F)
    console("update 12B Agency EP capacity started this week", user=LEAD_11F)
    console("signoff 6A Signed off at SEND Ops")
    clock.now = NOW + timedelta(hours=2)

    text = digest(demo)

    assert "Since the last digest here (Mon 23 Nov 2026 10:00):" in text
    assert "2 progress updates, 1 RAG change, 1 sign-off." in text
    assert "red → amber: Reduce suspensions" in text
    assert "signed off: Launch the 'new way of working'" in text
    with unit_of_work(demo.sessions) as session:
        assert previous_digest_at(session, CHANNEL) == NOW
        assert previous_digest_at(session, CHANNEL, before=NOW) is None
        [manual] = session.scalars(select(Delivery)).all()
    assert manual.kind == "digest-now" and manual.target == CHANNEL and manual.sent_at == NOW
    assert manual.claimed_by == ADMIN
