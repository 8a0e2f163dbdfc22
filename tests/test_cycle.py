"""The reporting cycle, driven the way it runs: an admin marks a board meeting as the reporting
deadline over signed Slack requests, `tick` runs across simulated days against the Web API
stand-in, and leads answer with the check-in's buttons, its form and plain replies."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import docx
import pytest
from sqlalchemy import select

from bot.boardpack.links import link_for
from bot.commands.reports import checkin_reply
from bot.config import Settings
from bot.console import run_console, run_line
from bot.domain import Surface
from bot.http.app import build_http_app
from bot.http.downloads import downloads
from bot.http.server import start_in_thread
from bot.render.blockkit import field_block, form_callback, message
from bot.replies import ButtonId
from bot.runtime import Runtime
from bot.services.checkins import (
    NO_CHANGE_NOTE,
    REPORT,
    checkin_due_at,
    participation,
    participation_due_at,
)
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.store.models import (
    Action,
    BoardMeeting,
    BoardPackSnapshot,
    Delivery,
    HighlightReport,
    Person,
    Update,
)
from scheduler.deliveries import TickReport, tick
from tests.conftest import ADMIN, LEAD_11F, Clock
from tests.kpi_fixtures import load_demo_measures
from tests.slack_fixtures import SlackHarness, served_slack_app, text_of, view_of  # noqa: F401
from tests.slack_requests import static_select_state, text_input_state
from tests.slack_standin import Call, SlackStandIn

LUCY = "U0DEMO18"  # leads 11F only, with LEAD_11F
RUTH = "U0DEMO10"  # leads 11B only
DM = "D0LEAD05"
MEETING = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # London is on UTC in December
CHECKINS_DUE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # ten days before
NUDGES_DUE = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # two days before
LIST_DUE = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # 09:00 on the day


def said(node: Any) -> str:
    return " ".join(text_of(node))


def run_tick(slack: SlackHarness, clock: Clock, at: datetime) -> TickReport:
    clock.now = at
    sender = SlackSender(make_client(slack.runtime.settings))
    return tick(slack.runtime, sender, at)


def posts(slack: SlackHarness, kind: str) -> list[Call]:
    return [
        call
        for call in slack.standin.calls_to("chat.postMessage")
        if call.ok
        and isinstance(call.params.get("metadata"), dict)
        and call.params["metadata"]["event_payload"]["key"].startswith(
            f"{kind}:".replace("::", ":")
        )
    ]


def post_to(slack: SlackHarness, kind: str, user: str) -> Call:
    [found] = [
        c
        for c in posts(slack, kind)
        if c.params["metadata"]["event_payload"]["key"].endswith(f":{user}")
    ]
    return found


def blocks_of(call: Call) -> Any:
    blocks = call.params["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def buttons(call: Call) -> list[tuple[str, str]]:
    blocks = blocks_of(call)
    return [
        (element["action_id"].split(":")[0], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def action(runtime: Runtime, ref: str) -> Action:
    with runtime.sessions() as session:
        found = session.scalars(select(Action).where(Action.ref == ref)).one()
        session.expunge(found)
        return found


def reports_of(runtime: Runtime, ref: str) -> list[HighlightReport]:
    with runtime.sessions() as session:
        found = session.scalars(
            select(HighlightReport)
            .join(Action, Action.id == HighlightReport.action_id)
            .where(Action.ref == ref)
            .order_by(HighlightReport.id)
        ).all()
        session.expunge_all()
        return list(found)


def report_values(
    rag: str | None, progress: str | None, barriers: str | None = None, escalate: str = "no"
) -> dict[str, Any]:
    return {
        field_block(REPORT, "rag"): {"rag": static_select_state(rag)},
        field_block(REPORT, "status"): {"status": static_select_state("in progress")},
        field_block(REPORT, "progress"): {"progress": text_input_state(progress)},
        field_block(REPORT, "planned"): {"planned": text_input_state("Recruit two caseworkers")},
        field_block(REPORT, "barriers"): {"barriers": text_input_state(barriers)},
        field_block(REPORT, "escalate"): {"escalate": static_select_state(escalate)},
    }


def dm(slack: SlackHarness, user: str, text: str, channel: str = DM) -> None:
    result = slack.sim.event(
        {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text}
    )
    assert result.status == 200, result.text


def replies_in(slack: SlackHarness, channel: str, count: int) -> list[str]:
    """The texts of the first `count` messages posted to `channel`, waiting for them."""
    deadline = time.monotonic() + 5
    while True:
        found = [
            said(blocks_of(c))
            for c in slack.standin.calls_to("chat.postMessage")
            if c.params.get("channel") == channel
        ]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, found
            return found
        time.sleep(0.02)


def test_a_whole_reporting_cycle_in_slack(demo: Runtime, clock: Clock, slack: SlackHarness) -> None:
    added = slack.reply("board add 2026-12-10 14:00 SEND Improvement Board --reporting", ADMIN)
    assert "asked for their highlight reports on Mon 30 Nov 2026 14:00" in said(added)
    with demo.sessions() as session:
        board = session.scalars(select(BoardMeeting).where(BoardMeeting.reporting)).one()
        board_id = board.id
        others = session.scalars(select(BoardMeeting.id).where(BoardMeeting.id != board_id))
    # The demo's own meetings go, so this board's cycle is the only one running.
    for other in list(others):
        assert "Removed" in said(slack.reply(f"board remove B-{other}", ADMIN))

    # Before the check-ins fall due none goes (the demo's other meetings have their reminders).
    early = run_tick(slack, clock, CHECKINS_DUE.replace(hour=13))
    assert not [k for k in early.sent if k.startswith("checkin:")]
    assert posts(slack, "checkin") == []

    report = run_tick(slack, clock, CHECKINS_DUE)
    checkins = posts(slack, "checkin")
    assert len(checkins) == len([k for k in report.sent if k.startswith("checkin:")]) >= 10
    mine = post_to(slack, "checkin", LEAD_11F)
    assert mine.params["channel"].startswith("D")  # a direct message
    assert buttons(mine) == [
        (kind, f"{ref} B-{board_id}")
        for ref in ("11F", "12A.1", "12B", "17A")
        for kind in (ButtonId.NO_CHANGE, ButtonId.REPORT)
    ]
    text = said(blocks_of(mine))
    assert "11F" in text and "red" in text and "in progress" in text

    # Once each, however many ticks.
    again = run_tick(slack, clock, CHECKINS_DUE.replace(minute=5))
    assert not [k for k in again.sent if k.startswith("checkin:")]
    assert len(posts(slack, "checkin")) == len(checkins)

    # No change: one click, recorded through the history writer, resets staleness.
    clock.now = CHECKINS_DUE.replace(hour=15)
    before = action(demo, "12B")
    click = slack.sim.block_action(ButtonId.NO_CHANGE, f"12B B-{board_id}", LEAD_11F, channel_id=DM)
    assert click.status == 200, click.text
    slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")
    after = action(demo, "12B")
    assert (after.rag, after.status) == (before.rag, before.status)
    assert after.last_note == NO_CHANGE_NOTE and after.last_update_at == clock.now
    [kept] = reports_of(demo, "12B")
    assert kept.no_change and kept.board_id == board_id
    # A second click records nothing more.
    twice = slack.sim.block_action(ButtonId.NO_CHANGE, f"12B B-{board_id}", LEAD_11F, channel_id=DM)
    assert twice.status == 200
    assert "already reported" in said(
        slack.standin.wait_for(f"response_url:{slack.sim.last_response_name}")[0].params
    )
    assert len(reports_of(demo, "12B")) == 1

    # Someone else's action is refused and changes nothing.
    refused = slack.sim.block_action(ButtonId.NO_CHANGE, f"12B B-{board_id}", RUTH, channel_id=DM)
    assert refused.status == 200
    assert len(reports_of(demo, "12B")) == 1

    # Update: the highlight report form; 17A going red needs the barrier and recovery.
    slack.sim.block_action(ButtonId.REPORT, f"17A B-{board_id}", LEAD_11F, channel_id=DM)
    [opened] = slack.standin.wait_for("views.open")
    view = view_of(opened)
    assert view["callback_id"] == form_callback(REPORT)
    metadata = view["private_metadata"]
    red_without = slack.sim.view_submission(
        form_callback(REPORT), report_values("red", "Caseloads rose again"), LEAD_11F, metadata
    )
    assert red_without.json()["response_action"] == "errors"
    assert field_block(REPORT, "barriers") in red_without.json()["errors"]
    assert reports_of(demo, "17A") == [] and action(demo, "17A").rag == "green"
    saved = slack.sim.view_submission(
        form_callback(REPORT),
        report_values(
            "red", "Caseloads rose again", "Two vacancies; agency cover from January", "yes"
        ),
        LEAD_11F,
        metadata,
    )
    assert saved.status == 200, saved.text
    assert action(demo, "17A").rag == "red"
    [highlight] = reports_of(demo, "17A")
    assert highlight.progress == "Caseloads rose again"
    assert highlight.planned == "Recruit two caseworkers"
    assert highlight.barriers == "Two vacancies; agency cover from January"
    assert highlight.escalate and highlight.board_id == board_id

    # A plain reply in the direct messages, with the ref …
    dm(slack, LEAD_11F, "12A.1 amber – pilot live in 12 schools")
    [answer] = replies_in(slack, DM, 1)
    assert "Updated 12A.1" in answer
    assert action(demo, "12A.1").last_note == "pilot live in 12 schools"
    # … and without one, from a lead of one open action.
    dm(slack, RUTH, "green JSNA chapter published", channel="D0RUTH")
    replies_in(slack, "D0RUTH", 1)
    assert action(demo, "11B").rag == "green"
    assert action(demo, "11B").last_note == "JSNA chapter published"

    # The participation view, by organisation.
    clock.now = NUDGES_DUE.replace(hour=10)
    view_now = said(slack.reply("reports", ADMIN))
    assert "Public Health" in view_now and "Dr Ruth Calloway" in view_now
    assert "reported" in view_now and "not yet" in view_now
    refused_view = said(slack.reply("reports", LEAD_11F))
    assert "Only programme managers" in refused_view

    # The nudge: only to leads still missing a report; LEAD_11F still has 11F to report.
    run_tick(slack, clock, NUDGES_DUE)
    nudged = {
        c.params["metadata"]["event_payload"]["key"].rsplit(":", 1)[1]
        for c in posts(slack, "nudge")
    }
    assert LEAD_11F in nudged and RUTH not in nudged
    nudge_text = said(blocks_of(post_to(slack, "nudge", LEAD_11F)))
    assert "11F" in nudge_text and "17A" not in nudge_text
    run_tick(slack, clock, NUDGES_DUE.replace(minute=30))
    assert len(posts(slack, "nudge")) == len(nudged)

    # The pre-board digest (48 hours before) lists 17A for escalation with its barrier, and
    # goes out with the board's pack, uploaded to its channel after it and kept as a snapshot.
    [digest] = posts(slack, f"board-digest:{board_id}")
    digest_text = said(blocks_of(digest))
    assert "For escalation" in digest_text
    assert "17A" in digest_text and "Two vacancies; agency cover from January" in digest_text
    [completed] = slack.standin.calls_to("files.completeUploadExternal")
    assert completed.params["channel_id"] == digest.params["channel"] == "C_BOARD"
    [entry] = json.loads(completed.params["files"])
    pack = slack.standin.uploaded(entry["id"])
    assert pack is not None
    document = docx.Document(io.BytesIO(pack))
    assert any("17A" in cell.text for t in document.tables for row in t.rows for cell in row.cells)
    with demo.sessions() as session:
        [kept] = session.scalars(
            select(BoardPackSnapshot).where(BoardPackSnapshot.board_id == board_id)
        ).all()
        assert kept.sha256 == hashlib.sha256(pack).hexdigest() and kept.source == Surface.SCHEDULER
        assert kept.created_by_person_id is None

    # The programme manager's list, the morning of the deadline, once.
    run_tick(slack, clock, LIST_DUE.replace(hour=8))
    assert posts(slack, "participation") == []
    run_tick(slack, clock, LIST_DUE)
    run_tick(slack, clock, LIST_DUE.replace(minute=1))
    [listing] = posts(slack, "participation")
    assert "Dr Ruth Calloway" in said(blocks_of(listing))

    with demo.sessions() as session:
        kinds = [d.kind for d in session.scalars(select(Delivery)).all()]
        updates = session.scalars(select(Update).where(Update.note == NO_CHANGE_NOTE)).all()
    assert kinds.count("participation") == 1
    assert len(updates) == 1


def test_board_reporting_is_admin_only_and_checks_its_words(
    demo: Runtime, slack: SlackHarness
) -> None:
    slack.reply("board add 2026-12-10 14:00 SEND Improvement Board", ADMIN)
    with demo.sessions() as session:
        board_id = session.scalars(select(BoardMeeting.id).order_by(BoardMeeting.id.desc())).first()
    assert "Only programme managers" in said(
        slack.reply(f"board reporting B-{board_id} on", LEAD_11F)
    )
    assert "neither on nor off" in said(slack.reply(f"board reporting B-{board_id} maybe", ADMIN))
    assert "1 to 28" in said(slack.reply(f"board reporting B-{board_id} on 40", ADMIN))
    with demo.sessions() as session:
        assert not session.get_one(BoardMeeting, board_id).reporting
    ok = said(slack.reply(f"board reporting B-{board_id} on 14", ADMIN))
    assert "14 days before" in ok
    with demo.sessions() as session:
        board = session.get_one(BoardMeeting, board_id)
        assert board.reporting and board.checkin_days == 14


def test_a_plain_reply_that_names_no_action_is_explained(
    demo: Runtime, slack: SlackHarness
) -> None:
    dm(slack, LEAD_11F, "all going well")
    [reply] = replies_in(slack, DM, 1)
    assert "start with the ref" in reply
    assert action(demo, "11F").last_note != "all going well"
    # A command's word is the command, not a report.
    dm(slack, LEAD_11F, "update 17A amber Caseloads falling")
    assert "Updated 17A" in replies_in(slack, DM, 2)[1]
    assert action(demo, "17A").last_note == "Caseloads falling"
    # The bot's own messages and edits are not replies.
    slack.sim.event(
        {"type": "message", "channel_type": "im", "channel": DM, "bot_id": "B1", "text": "x"}
    )
    slack.sim.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel_type": "im",
            "channel": DM,
            "user": LEAD_11F,
            "text": "11F green",
        }
    )
    assert len(slack.standin.calls_to("chat.postMessage")) == 2


@pytest.fixture
def patient(demo: Runtime) -> None:
    """A pack with its chart takes a second or more on a loaded test machine: this test is
    about where the file goes, not the 2.5 s answer deadline."""
    demo.settings = demo.settings.model_copy(update={"answer_within": 20.0})


def test_a_commands_files_are_uploaded_after_its_answer(
    demo: Runtime, patient: None, slack: SlackHarness
) -> None:
    """`boardpack` answers privately, so its file goes to the caller's direct messages."""
    answer = slack.answer_after("boardpack", ADMIN)
    assert "Board pack for" in said(answer)
    [completed] = slack.standin.wait_for("files.completeUploadExternal")
    [opened] = slack.standin.calls_to("conversations.open")
    assert opened.params["users"] == ADMIN
    assert completed.params["channel_id"] == opened.response["channel"]["id"]
    [entry] = json.loads(completed.params["files"])
    data = slack.standin.uploaded(entry["id"])
    assert data is not None and data[:2] == b"PK"  # a Word document is a zip
    with demo.sessions() as session:
        kept = session.scalars(select(BoardPackSnapshot)).one()
        assert kept.sha256 == hashlib.sha256(data).hexdigest()


def test_the_console_saves_a_replys_files_and_says_where(demo: Runtime, tmp_path: Path) -> None:
    out = io.StringIO()
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "board-pack-2026-12-02-B1.docx").write_bytes(b"older")
    run_console(demo, ADMIN, ["boardpack B-1", "boardpack B-1"], out=out, folder=folder)
    said_lines = [line for line in out.getvalue().splitlines() if line.startswith("Saved ")]
    assert len(said_lines) == 2
    saved = sorted(p.name for p in folder.iterdir())
    assert len(saved) == 3 and (folder / "board-pack-2026-12-02-B1.docx").read_bytes() == b"older"
    for line in said_lines:
        path = Path(line.split(" to ", 1)[1])
        assert path.parent == folder.resolve() and path.read_bytes()[:2] == b"PK"


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except HTTPError as error:
        return error.code, error.read()


def test_the_download_link_serves_its_pack_and_refuses_an_expired_or_altered_token(
    demo: Runtime, clock: Clock
) -> None:
    secret = "download-secret"
    assert "Board pack for" in run_line(demo, ADMIN, "boardpack")
    with demo.sessions() as session:
        kept = session.scalars(select(BoardPackSnapshot)).one()
        kept_id, kept_sha = kept.id, kept.sha256
    server = start_in_thread(build_http_app(demo, parts=[downloads(demo, secret)]))
    try:
        link = link_for(server.url, kept_id, secret, clock.now)
        status, body = http_get(link)
        assert status == 200 and hashlib.sha256(body).hexdigest() == kept_sha
        # Altered: the signature, or the snapshot it names.
        head, signature = link.rsplit(".", 1)
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        assert http_get(f"{head}.{flipped}")[0] == 404
        token = link.rsplit("/", 1)[1]
        other = token.replace(f"{kept_id}.", f"{kept_id + 1}.", 1)
        assert http_get(f"{server.url}/files/{other}")[0] == 404
        assert http_get(f"{server.url}/files/..%2Fwsoa.db")[0] == 404
        # Expired: a week later the same link is refused.
        clock.now = clock.now + timedelta(days=8)
        status, body = http_get(link)
        assert status == 410 and b"expired" in body
    finally:
        server.stop()


def test_a_measure_off_trajectory_asks_its_owner_once_per_new_figure(
    demo: Runtime, clock: Clock, tmp_path: Path
) -> None:
    load_demo_measures(demo, tmp_path)
    with SlackStandIn() as standin:
        settings = demo.settings.model_copy(update={"slack_api_url": standin.url})
        sender = SlackSender(make_client(settings))

        def asks() -> list[Call]:
            return [
                c
                for c in standin.calls_to("chat.postMessage")
                if c.params["metadata"]["event_payload"]["key"].startswith("kpi-commentary:")
            ]

        first = tick(demo, sender, clock.now)
        assert [k for k in first.sent if k.startswith("kpi-commentary:")] == [
            k for k in first.sent if k.endswith(":2026-10-01")
        ]
        [ask] = asks()
        assert "K3 has been off its trajectory" in said(blocks_of(ask))
        opened = [c for c in standin.calls_to("conversations.open") if c.ok]
        assert ask.params["channel"] in {
            c.response["channel"]["id"] for c in opened if c.params["users"] == LEAD_11F
        }
        tick(demo, sender, clock.now + timedelta(minutes=1))
        assert len(asks()) == 1
        # A new figure still off the trajectory asks again, once.
        assert "K3" in run_line(demo, LEAD_11F, "kpi record K3 104 2026-11 Still rising")
        tick(demo, sender, clock.now + timedelta(minutes=2))
        tick(demo, sender, clock.now + timedelta(minutes=3))
        keys = [c.params["metadata"]["event_payload"]["key"] for c in asks()]
        assert len(keys) == 2 and keys[1].endswith(":2026-11-01")


def test_the_list_goes_at_nine_local_or_an_hour_before_an_early_meeting() -> None:
    london = ZoneInfo("Europe/London")
    summer = BoardMeeting(starts_at=datetime(2027, 6, 10, 13, 0, tzinfo=UTC), checkin_days=10)
    # 09:00 BST is 08:00 UTC
    assert participation_due_at(summer, london) == datetime(2027, 6, 10, 8, 0, tzinfo=UTC)
    early = BoardMeeting(starts_at=datetime(2027, 1, 12, 8, 30, tzinfo=UTC), checkin_days=10)
    assert participation_due_at(early, london) == datetime(2027, 1, 12, 7, 30, tzinfo=UTC)
    assert checkin_due_at(early) == datetime(2027, 1, 2, 8, 30, tzinfo=UTC)


def test_participation_is_a_few_statements_however_many_leads(
    demo: Runtime, count_statements: Callable[[Callable[[], object]], int]
) -> None:
    with demo.sessions() as session:
        board = session.scalars(select(BoardMeeting)).first()
        assert board is not None
        found: list[Any] = []
        used = count_statements(lambda: found.extend(participation(session, board)))
    assert len(found) >= 15 and used <= 4


def test_a_check_in_for_many_actions_stays_within_slacks_limits() -> None:
    board = BoardMeeting(
        id=3, name="Board", starts_at=MEETING, checkin_days=10, plan_id=1, reporting=True
    )
    lead = Person(id=1, name="Busy Lead")
    many = [
        Action(ref=f"{n}A", title="An action " * 20, rag="amber", status="in progress")
        for n in range(1, 41)
    ]
    settings = Settings()
    reply = checkin_reply(settings, board, lead, many, "/wsoa ")
    payload = message(reply)
    assert len(payload["blocks"]) <= 50
    assert "…and 20 more" in said(payload["blocks"])
    assert len([b for b in payload["blocks"] if b["type"] == "actions"]) == 20
