"""The board pack and escalation, driven the way people drive them: `boardpack` and `escalate`
through the console path (the same `execute` Slack uses), a signed Slack slash command, and
`wsoa boardpack` at the terminal. The pack is opened with python-docx and read as a screen
reader would: its title, headings, table header rows, the chart's alt text, and the plan's
figures."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.table import Table
from sqlalchemy import func, select, update

from bot.boardpack.document import MEDIA_TYPE, RAG_FILL
from bot.commands import execute
from bot.domain import Rag, Surface, UpdateKind
from bot.replies import Reply
from bot.runtime import Runtime
from bot.services import checkins, history, kpis
from bot.services import escalations as escalation_service
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.services.history import ActionChange, Author
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import Action, BoardMeeting, BoardPackSnapshot, Identity, Plan, Update
from tests.conftest import ADMIN, LEAD_11F, NOW, READER, Clock, Console
from tests.kpi_fixtures import (
    ACTUALS,
    MEASURES,
    MEASURES_HEADER,
    load_demo_measures,
    load_measures,
    write_csv,
    write_workbook,
)
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.test_cli import run as run_wsoa

pytestmark = pytest.mark.usefixtures("demo")


def ask(runtime: Runtime, text: str, user: str = ADMIN) -> Reply:
    return execute(runtime, Caller(user_id=user, channel_id=CONSOLE_CHANNEL), text)


def opened(reply: Reply) -> DocumentObject:
    assert len(reply.files) == 1, reply
    attachment = reply.files[0]
    assert attachment.media_type == MEDIA_TYPE
    assert attachment.filename.endswith(".docx")
    return Document(io.BytesIO(attachment.data))


def headings(doc: DocumentObject) -> list[tuple[str, str]]:
    return [
        (p.style.name, p.text)
        for p in doc.paragraphs
        if p.style is not None and p.style.name in ("Title", "Heading 1", "Heading 2")
    ]


def table_after(doc: DocumentObject, heading: str) -> Table:
    """The first table that follows the heading (or paragraph) with this text."""
    body = doc.element.body
    seen = False
    for child in body.iterchildren():
        style = child.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        if style is not None and style.get(qn("w:val")) == "ListBullet":
            continue  # the contents list names the headings too
        if child.tag == qn("w:p") and "".join(child.itertext()).startswith(heading):
            seen = True
        elif seen and child.tag == qn("w:tbl"):
            return next(t for t in doc.tables if t._tbl is child)
    raise AssertionError(f"no table after {heading!r}")


SECTIONS = [
    "Purpose",
    "Summary",
    "Decisions for the board",
    "Risks and barriers",
    "Red actions",
    "Who has reported this cycle",
    "What changed since the previous board",
    "Measures of impact",
    "Co-production and parent voice",
    "Adviser follow-ups",
    "Appendix A: Red and amber actions by workstream",
    "Appendix B: All RAG moves",
    "Appendix C: RAG by workstream",
    "Appendix D: Strategic priorities",
    "Appendix E: RAG at each board meeting",
    "Appendix F: Other measures, and the lists shortened",
]


def bullets_after(doc: DocumentObject, heading: str) -> list[str]:
    """The bulleted paragraphs under a heading, up to the next heading."""
    found: list[str] = []
    seen = False
    for p in doc.paragraphs:
        if p.style.name.startswith("Heading"):
            if seen:
                break
            seen = p.text == heading
        elif seen and p.style.name == "List Bullet":
            found.append(p.text)
    return found


def rows(grid: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in grid.rows]


def snapshots(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(BoardPackSnapshot)) or 0


def add_past_boards(runtime: Runtime) -> None:
    """Two earlier meetings, 90 and 45 days ago, so the demo has cycles behind it: 11F turned
    red 41 days ago (newly red), 12C 118 days ago (red for two cycles)."""
    with unit_of_work(runtime.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        for days, name in ((90, "SEND Improvement Board (August)"), (45, "SEND Ops (October)")):
            session.add(
                BoardMeeting(
                    plan_id=plan.id,
                    name=name,
                    starts_at=NOW - timedelta(days=days),
                    channel_id=CONSOLE_CHANNEL,
                    source=Surface.SLACK,
                    created_at=NOW - timedelta(days=100),
                )
            )


# --- the document -----------------------------------------------------------------------------


def test_the_pack_has_every_section_accessibly(demo: Runtime, console: Console) -> None:
    add_past_boards(demo)
    console("priority add Early identification of need")
    console("priority add Timely EHCPs")
    console("map 11F P1")
    console("map 2A.3 P2")
    console("escalate 11F Board agreed extra EP capacity for secondary case conferences")
    reply = ask(demo, "boardpack B-1")
    doc = opened(reply)

    props = doc.core_properties
    assert props.title == "Board pack: SEND Improvement Board, 2 Dec 2026"
    assert props.language == "en-GB"
    lang = doc.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:lang"))
    assert lang is not None and lang.get(qn("w:val")) == "en-GB"

    found = headings(doc)
    assert found[0] == ("Title", "Board pack: SEND Improvement Board, 2 Dec 2026")
    ones = [text for style, text in found if style == "Heading 1"]
    assert ones == ["Contents", *SECTIONS]
    # the contents list names the sections in order, as a real list
    contents = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"][: len(SECTIONS)]
    assert contents == SECTIONS
    texts = [p.text for p in doc.paragraphs]
    # the cover block: meeting, date, who prepared it and their contact, publication
    cover = texts[1:6]
    assert cover[1] == "Meeting: SEND Improvement Board, Wed 2 Dec 2026 14:00"
    assert cover[2].startswith("Prepared by: ") and "@" in cover[2]
    assert cover[4].startswith("Publication: Not for publication")
    twos = [text for style, text in found if style == "Heading 2"]
    assert "To consider (2)" in twos and "To confirm: sign-offs (3)" in twos
    assert "Workstreams × priorities" in twos

    # Every table's first row is a header row, announced and repeated on each page; every row
    # is kept whole on a page; every table is captioned.
    assert len(doc.tables) >= 10
    for grid in doc.tables:
        first = grid.rows[0]._tr
        assert first.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
        assert all(r._tr.find(qn("w:trPr")).find(qn("w:cantSplit")) is not None for r in grid.rows)
        assert all(r._tr.find(qn("w:trPr")).find(qn("w:tblHeader")) is None for r in grid.rows[1:])
        assert grid._tbl.tblPr.find(qn("w:tblCaption")).get(qn("w:val"))
    assert "The plan has no measures of impact yet." in texts

    # The summary: real bullets, each a fact the board needs.
    summary = bullets_after(doc, "Summary")
    assert summary[0] == (
        "RAG position: 40 actions: 3 red, 13 amber, 18 green, 5 complete, 1 not rated."
    )
    assert any(b.startswith("Overdue: 5 open actions are past their due date") for b in summary)
    assert any(b.startswith("Stale: ") for b in summary)
    assert any(b.startswith("Reporting: ") and "leads have reported" in b for b in summary)
    assert any(b.startswith("For the board: 5 decisions: 2 actions to consider") for b in summary)

    # The decisions: what the board is asked, as a numbered list, then each list.
    asked = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    assert asked[0].startswith("To consider the 2 actions below")
    assert asked[1].startswith("To confirm that the objectives of the 3 actions")
    consider = {r[0]: r for r in rows(table_after(doc, "To consider (2)"))[1:]}
    # 11F was considered this cycle: off the list; 12B (red, overdue, never considered) is on it
    assert set(consider) == {"12B", "12C"}
    assert escalation_service.RED_UNCONSIDERED in consider["12B"][2]
    assert "overdue (due 14 Oct 2026)" in consider["12B"][2]
    assert consider["12C"][2] == escalation_service.RED_TWO_CYCLES

    # The plan's figures. Graduated Response: 3 red, 4 amber, 7 actions; overall red, in words.
    by_workstream = {r[0]: r[1:] for r in rows(table_after(doc, "Overall is the worst"))}
    # Overall, Red, Amber, Green, Complete, Not rated, Closed, Actions
    assert by_workstream["Graduated Response"] == ["red", "3", "4", "0", "0", "0", "0", "7"]
    assert by_workstream["SEND Strategy"][0] == "green"
    assert by_workstream["Becoming an Adult"][5] == "1"  # not rated
    red = rows(table_after(doc, "3 actions are rated red"))
    assert red[0] == ["Ref", "Action and success measure", "Leads", "Due", "Latest report"]
    assert [r[0] for r in red[1:]] == ["11F", "12B", "12C"]
    row_11f = red[1]
    assert "Alison Whitfield" in row_11f[2] and "Lucy Fenwick" in row_11f[2]
    assert "Success measure: " in row_11f[1]
    # the latest highlight report with who wrote it and when, not the escalation note
    assert "Inclusion adviser post agreed" in row_11f[4]
    assert row_11f[4].split("\n")[0] == "16 Nov 2026 by Alison Whitfield"
    assert "(overdue)" in red[2][3]  # 12B
    # the colour repeats the word: shaded, never alone
    grid = table_after(doc, "Overall is the worst")
    shading = grid.rows[1].cells[1]._tc.tcPr.find(qn("w:shd"))
    assert shading is not None and shading.get(qn("w:fill")) in RAG_FILL.values()

    recorded_heading = "What changed since the previous board"
    assert recorded_heading in ones

    followups = rows(table_after(doc, "Adviser follow-ups"))
    about_12b = next(r for r in followups if r[1] == "12B")
    assert "30 week wait" in about_12b[2] and "46 assessments are over 30 weeks" in about_12b[4]
    assert about_12b[5] == "open"

    matrix = rows(table_after(doc, "Actions in each workstream serving each priority"))
    assert matrix[0] == ["Workstream", "P1", "P2", "Not mapped"]
    graduated = next(r for r in matrix if r[0] == "Graduated Response")
    assert graduated[1:] == ["1 (1 red)", "0", "6 (2 red, 4 amber)"]

    # The chart: a picture with alt text giving its figures, and the same figures as a table;
    # its bars named by meeting.
    shapes = doc.inline_shapes
    assert len(shapes) == 1
    descr = shapes[0]._inline.docPr.get("descr")
    assert descr.startswith("Bar chart of the number of actions by RAG rating")
    assert "23 Nov 2026 (this pack): 3 red, 13 amber, 18 green, 5 complete, 1 not rated" in descr
    chart_rows = rows(table_after(doc, "The figures in the chart"))
    assert chart_rows[0] == ["Board meeting", "Red", "Amber", "Green", "Complete", "Not rated"]
    assert chart_rows[1][0] == "SEND Improvement Board (August), 25 Aug 2026"
    assert chart_rows[-1] == ["23 Nov 2026 (this pack)", "3", "13", "18", "5", "1"]
    assert len(chart_rows) == 4  # header, the two earlier boards, now
    png = next(part.blob for part in doc.part.package.parts if part.partname.endswith(".png"))
    assert png.startswith(b"\x89PNG")


def test_what_changed_since_the_previous_board(demo: Runtime, console: Console) -> None:
    add_past_boards(demo)  # the previous board sat 45 days ago
    console("update 12C amber Extra clinics open")  # red for 118 days
    console("update 11F amber Pilot live in 12 schools", user=LEAD_11F)  # red for 41
    console("signoff 6A Charter published on the Local Offer")
    doc = opened(ask(demo, "boardpack"))
    moves = {(r[0], r[1]): r[3].split(", ") for r in rows(table_after(doc, "Appendix B"))[1:]}
    assert "12C" in moves[("red", "amber")]
    # 11F was amber when the previous board sat and is amber again: no move to report
    assert not any("11F" in refs for refs in moves.values())
    signed = rows(table_after(doc, "To confirm: sign-offs"))
    assert any(r[0] == "6A" and r[3] == "Charter published on the Local Offer" for r in signed)
    assert not any(p.text.startswith("To approve") for p in doc.paragraphs)

    # An edit that moved 12B's due date is listed with both dates; one of only the title is not.
    was = None
    with unit_of_work(demo.sessions) as session:
        for ref, change in (
            ("12B", ActionChange(title="Moved on", due=(date(2027, 3, 31), None))),
            ("12C", ActionChange(title="Retitled")),
        ):
            action = session.scalars(select(Action).where(Action.ref == ref)).one()
            was = action.due if ref == "12B" else was
            history.write(
                session,
                action,
                UpdateKind.EDIT,
                change,
                note="overdue-tracker.xlsx: edited",
                author=Author(source=Surface.IMPORT),
                at=NOW,
            )
    doc = opened(ask(demo, "boardpack"))
    due = rows(table_after(doc, "To approve: revised due dates"))
    assert [r[0] for r in due[1:]] == ["12B"]
    assert due[0][2:5] == ["Was due", "Due now", "Reason"]
    assert due[1][2:5] == [
        was.isoformat() if was else "no date",
        "2027-03-31",
        "overdue-tracker.xlsx: edited",
    ]
    asked = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    assert any(a.startswith("To approve the 1 revised due dates") for a in asked)


# --- snapshots --------------------------------------------------------------------------------


def test_each_pack_is_kept_and_a_started_board_gets_exactly_its_pack(
    demo: Runtime, console: Console, clock: Clock
) -> None:
    reply = ask(demo, "boardpack")  # the next board: B-2, in three days
    data = reply.files[0].data
    digest = hashlib.sha256(data).hexdigest()
    text = " ".join(s.text for e in reply.elements for s in getattr(e, "spans", []))
    assert f"SHA-256 {digest}" in text and "B-2 SEND Operational Leads" in text
    with unit_of_work(demo.sessions) as session:
        kept = session.scalars(select(BoardPackSnapshot)).one()
        assert (kept.sha256, kept.size, kept.source) == (digest, len(data), Surface.CONSOLE)
        assert (
            kept.created_by_person_id
            == session.scalars(
                select(Identity.person_id).where(Identity.external_id == ADMIN)
            ).one()
        )
        assert kept.board_id == 2 and kept.created_at == NOW
        assert kept.content == data

    # The plan moves on, the meeting starts: the board's pack is still what it was given.
    console("update 11F green Exclusions down by a third", user=LEAD_11F)
    clock.now = NOW + timedelta(days=4)
    again = ask(demo, "boardpack B-2", user=READER)
    assert again.files[0].data == data
    assert hashlib.sha256(again.files[0].data).hexdigest() == digest
    assert "was given" in " ".join(s.text for e in again.elements for s in getattr(e, "spans", []))
    assert snapshots(demo) == 1


def test_a_past_board_with_no_kept_pack_is_not_rebuilt(demo: Runtime, console: Console) -> None:
    add_past_boards(demo)
    out = console("boardpack B-4", user=READER)
    assert "No pack was kept for B-4 (SEND Improvement Board (August)" in out
    assert "never rebuilt" in out
    assert snapshots(demo) == 0


@pytest.mark.parametrize(
    ("command", "user", "answer"),
    [
        ("boardpack B-99", ADMIN, "No board meeting B-99. `board list` shows"),
        ("boardpack soon", ADMIN, "No board meeting soon."),
        ("boardpack", READER, "Only programme managers (admins) can make a board pack"),
        ("boardpack B-1", LEAD_11F, "Only programme managers (admins) can make a board pack"),
    ],
)
def test_bad_boardpack_requests_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, answer: str
) -> None:
    assert answer in console(command, user=user)
    assert snapshots(demo) == 0


def test_no_board_ahead(demo: Runtime, console: Console) -> None:
    for board in ("B-1", "B-2", "B-3"):
        console(f"board remove {board}")
    assert "There is no board meeting ahead" in console("boardpack")


# --- escalation -------------------------------------------------------------------------------


def test_escalate_records_the_boards_consideration_in_history(
    demo: Runtime, console: Console
) -> None:
    add_past_boards(demo)
    listed = console("escalate", user=READER)
    assert "For escalation (3)" in listed
    assert "newly red since the previous board" in listed and "red for two cycles" in listed
    assert "SEND Ops (October)" in listed

    out = console("escalate 11f Board agreed extra EP capacity; review in 6 weeks")
    assert "Recorded: the board considered 11F" in out
    history = console("history 11F", user=READER)
    assert "considered by the board (escalation)" in history
    assert "Board agreed extra EP capacity; review in 6 weeks" in history
    with unit_of_work(demo.sessions) as session:
        action = session.scalars(select(Action).where(Action.ref == "11F")).one()
        last = session.scalars(
            select(Update).where(Update.action_id == action.id).order_by(Update.id.desc())
        ).first()
        assert last is not None and last.kind == "escalation"
        assert (last.rag_from, last.rag_to) == ("red", "red")
        # not a progress report: the lead's latest note stands
        assert action.last_note is not None and "Inclusion adviser" in action.last_note
    # decided on: off the list until it has been red for two more cycles
    after = console("escalate", user=READER)
    assert "For escalation (2)" in after and "11F" not in after


@pytest.mark.parametrize(
    ("command", "user", "answer"),
    [
        ("escalate 11F Noted", LEAD_11F, "Only programme managers"),
        ("escalate 2A.3 Noted", ADMIN, "2A.3 is amber: only red actions, or ones whose lead"),
        ("escalate 11F", ADMIN, "Say what the board decided"),
        ("escalate 11G Noted", ADMIN, "No action 11G"),
    ],
)
def test_bad_escalations_change_nothing(
    demo: Runtime, console: Console, command: str, user: str, answer: str
) -> None:
    before = console("history 11F")
    assert answer in console(command, user=user)
    assert console("history 11F") == before


def test_cycles_without_earlier_boards_are_42_days(demo: Runtime) -> None:
    with unit_of_work(demo.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        cycle, items = escalation_service.for_escalation(session, plan.id, NOW)
    assert cycle.previous_board is None
    assert cycle.previous == NOW - timedelta(days=42)
    assert cycle.before == NOW - timedelta(days=84)
    # 11F turned red 41 days ago (after the cycle began); 12C has been red for 118 days;
    # 12B turned red in between, is overdue, and no board has considered it.
    assert {i.action.ref: i.reason for i in items} == {
        "11F": escalation_service.NEWLY_RED,
        "12B": f"{escalation_service.RED_UNCONSIDERED}; overdue (due 14 Oct 2026)",
        "12C": escalation_service.RED_TWO_CYCLES,
    }


def test_a_red_action_stays_for_the_board_until_it_decides(
    demo: Runtime, console: Console, clock: Clock
) -> None:
    """Each case of the rule: never considered (listed, every reason written out); decided in
    its red run (off the list); decided over two cycles ago and still red (back on it)."""
    listed = console("escalate", user=READER)
    [line] = [row for row in listed.splitlines() if row.startswith("12B")]
    assert escalation_service.RED_UNCONSIDERED in line and "overdue (due 14 Oct 2026)" in line
    console("escalate 12B The board asked the ICB for a recovery plan")
    assert "12B" not in console("escalate", user=READER)
    # decided on, and still red two cycles (of 42 days, with no boards) later: back on it
    console("escalate 12C Board agreed to wait for the new provider")
    assert "12C" not in console("escalate", user=READER)
    clock.now = NOW + timedelta(days=90)
    listed = console("escalate", user=READER)
    [line] = [row for row in listed.splitlines() if row.startswith("12C")]
    assert escalation_service.RED_AGAIN in line and "Board agreed to wait" in line


def test_the_rag_timeline() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    timeline = escalation_service.RagTimeline()
    for days, rag in ((0, "amber"), (10, "red"), (20, "red"), (30, "amber"), (40, "red")):
        timeline.add(1, t0 + timedelta(days=days), rag)
    assert timeline.rag_at(1, t0 - timedelta(days=1)) is None
    assert timeline.rag_at(1, t0 + timedelta(days=15)) == "red"
    assert timeline.rag_at(1, t0 + timedelta(days=35)) == "amber"
    assert timeline.red_since(1, t0 + timedelta(days=25)) == t0 + timedelta(days=10)
    assert timeline.red_since(1, t0 + timedelta(days=45)) == t0 + timedelta(days=40)
    assert timeline.red_since(1, t0 + timedelta(days=35)) is None
    assert timeline.red_since(2, t0) is None


# --- the other ways in ------------------------------------------------------------------------


def test_boardpack_and_summary_by_priority_over_a_signed_slack_request(
    demo: Runtime, slack: SlackHarness
) -> None:
    body = slack.answer_after("boardpack", ADMIN)
    said = str(body)
    assert "Board pack for B-2 SEND Operational Leads" in said
    assert "SHA-256" in said
    assert snapshots(demo) == 1
    refused = str(slack.answer_after("boardpack", READER))
    assert "Only programme managers" in refused
    assert snapshots(demo) == 1
    slack.reply("priority add Timely EHCPs", ADMIN)
    assert "summary by strategic priority" in str(slack.reply("summary by priority", READER))


def test_wsoa_boardpack_at_the_terminal(demo: Runtime, tmp_path: Path) -> None:
    url = demo.settings.database_url
    output = tmp_path / "pack.docx"
    result = run_wsoa(
        ["boardpack", "--board", "B-1", "-o", str(output)], tmp_path, WSOA_DATABASE_URL=url
    )
    assert result.returncode == 0, result.stderr
    data = output.read_bytes()
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in result.stdout
    assert Document(io.BytesIO(data)).core_properties.title.startswith("Board pack: SEND Improv")

    bad = run_wsoa(["boardpack", "--board", "B-42"], tmp_path, WSOA_DATABASE_URL=url)
    assert bad.returncode == 2 and "No board meeting B-42" in bad.stderr
    wrong = run_wsoa(["boardpack", "-o", "pack.pdf"], tmp_path, WSOA_DATABASE_URL=url)
    assert wrong.returncode == 2 and "pack.docx" in wrong.stderr


# --- highlight reports and measures of impact -------------------------------------------------


def test_flagged_actions_show_their_latest_highlight_report(demo: Runtime) -> None:
    fields = checkins.HighlightFields(
        rag=Rag.RED,
        status=None,
        progress="Two agency EPs started",
        planned="Recruit a senior EP",
        barriers="EP vacancies; agency cover to March",
    )
    with demo.work(Caller(user_id=LEAD_11F, channel_id=CONSOLE_CHANNEL)) as ctx:
        checkins.record_report(ctx, "11F", fields, None)
    doc = opened(ask(demo, "boardpack B-1"))
    red = {r[0]: r for r in rows(table_after(doc, "3 actions are rated red"))[1:]}
    report = red["11F"][4].split("\n")
    assert report == [
        "23 Nov 2026 by Alison Whitfield",
        "Progress: Two agency EPs started",
        "Planned: Recruit a senior EP",
        "Barriers: EP vacancies; agency cover to March",
    ]
    # without a report, the latest note, with who wrote it
    by, note = red["12B"][4].split("\n")[:2]
    assert by.startswith("18 Nov 2026 by ")
    assert note.startswith("Progress: Timeliness 38%; 46 assessments over 30 weeks")
    # the barrier is also under Risks and barriers, for escalation or not
    barriers = bullets_after(doc, "Risks and barriers")
    assert any(b.startswith("11F: EP vacancies; agency cover to March") for b in barriers)


def test_measures_of_impact_are_charted_with_alt_text(demo: Runtime, tmp_path: Path) -> None:
    load_demo_measures(demo, tmp_path)
    doc = opened(ask(demo, "boardpack B-1"))
    twos = [text for style, text in headings(doc) if style == "Heading 2"]
    # the two off trajectory are charted in the body; the one on trajectory is in a table
    assert "K2 " + MEASURES[1][0] in twos and "K3 " + MEASURES[2][0] in twos
    assert "K1 EHCPs issued within 20 weeks" not in twos and "Other measures (1)" in twos
    texts = [p.text for p in doc.paragraphs]
    assert any(t.startswith("1 of 3 measures are on trajectory.") for t in texts)
    shapes = {s._inline.docPr.get("title"): s._inline.docPr.get("descr") for s in doc.inline_shapes}
    assert len(shapes) == 3  # two measures and the RAG chart
    for short_id in ("K2", "K3"):
        title = next(t for t in shapes if t.startswith(short_id + " "))
        with unit_of_work(demo.sessions) as session:
            standing = next(
                s
                for s in kpis.standings(session, current_plan(session, NOW, create=True).id)
                if s.measure.short_id == short_id
            )
            assert shapes[title] == kpis.chart_of(standing)[1]
    assert (
        "Latest: 58 days (Oct 2026), off trajectory (the trajectory is 56.9 days). "
        "Target: 23.5 days by Sep 2027." in texts
    )
    # each chart's figures are also a table: the latest six months, as words and numbers
    figures = rows(table_after(doc, "The figures in the chart of K2"))
    assert figures[0][-1] == "Oct 2026" and figures[1][0] == "Figure"
    assert figures[1][-1] == "58 days" and figures[3][-1] == "no"
    others = rows(table_after(doc, "Other measures (1)"))
    assert others[1][:2] == ["K1 EHCPs issued within 20 weeks", "53.1% (Oct 2026)"]
    pngs = [p.blob for p in doc.part.package.parts if p.partname.endswith(".png")]
    assert len(pngs) == 3 and all(png.startswith(b"\x89PNG") for png in pngs)


def test_with_many_measures_only_those_off_trajectory_get_charts(
    demo: Runtime, tmp_path: Path
) -> None:
    # four more, on a workstream with no red or amber actions: seven in all
    extra = [
        [
            *(f"Strategy measure {n}", "", "number", "higher", 10, "2026-09-30", 20),
            *("2027-09-30", "", "SEND Strategy", "", "U0DEMO05", "", "monthly"),
        ]
        for n in range(1, 5)
    ]
    report = load_measures(
        demo,
        write_workbook(tmp_path / "k.xlsx", {"KPIs": [MEASURES_HEADER, *MEASURES, *extra]}),
    )
    assert len(report.created) == 7, report
    load_measures(demo, write_csv(tmp_path / "a.csv", ACTUALS))
    doc = opened(ask(demo, "boardpack B-1"))
    titles = [s._inline.docPr.get("title") for s in doc.inline_shapes]
    assert [t.split()[0] for t in titles] == ["K2", "K3", "RAG"]
    others = rows(table_after(doc, "Other measures (5)"))
    assert others[0] == ["Measure", "Latest", "Trajectory", "Target", "On trajectory"]
    assert [r[0].split()[0] for r in others[1:]] == ["K1", "K4", "K5", "K6", "K7"]
    assert others[2][1:] == ["no figures yet", "none yet", "20 by Sep 2027", "no figures yet"]


def test_a_plan_without_reports_or_measures_says_so(demo: Runtime) -> None:
    doc = opened(ask(demo, "boardpack B-1"))
    ones = [text for style, text in headings(doc) if style == "Heading 1"]
    assert "Measures of impact" in ones
    assert len(doc.inline_shapes) == 1


def report(demo: Runtime, ref: str, *, escalate: bool, barriers: str | None = None) -> None:
    fields = checkins.HighlightFields(
        rag=None, status=None, progress="Waiting on funding", barriers=barriers, escalate=escalate
    )
    with demo.work(Caller(user_id=LEAD_11F, channel_id=CONSOLE_CHANNEL)) as ctx:
        checkins.record_report(ctx, ref, fields, None)


def test_a_lead_who_asks_for_escalation_puts_the_action_on_the_list(
    demo: Runtime, console: Console
) -> None:
    """12A.1 is amber: listed once its lead's report says "escalate: yes", and no longer once a
    later report does not; a red action that is listed anyway gives both reasons."""
    refused = "12A.1 is amber: only red actions, or ones whose lead asks"
    assert "12A.1" not in console("escalate", user=READER)
    assert refused in console("escalate 12A.1 Noted")

    report(demo, "12A.1", escalate=True, barriers="The ICB has not agreed the funding")
    report(demo, "11F", escalate=True, barriers="EP capacity")
    listed = console("escalate", user=READER)
    assert "For escalation (4)" in listed
    [line] = [row for row in listed.splitlines() if row.startswith("12A.1")]
    assert escalation_service.LEAD_ASKS in line and "not red" in line
    [line] = [row for row in listed.splitlines() if row.startswith("11F")]
    assert f"{escalation_service.NEWLY_RED}; {escalation_service.LEAD_ASKS}" in line
    doc = opened(ask(demo, "boardpack"))
    pack = {r[0]: r for r in rows(table_after(doc, "To consider (4)"))[1:]}
    assert set(pack) == {"11F", "12A.1", "12B", "12C"}
    assert escalation_service.LEAD_ASKS in pack["12A.1"][2] and pack["12A.1"][3] == "not red"

    # the board decides: off the list, until the lead asks again
    assert "Recorded: the board considered 12A.1" in console("escalate 12A.1 ICB asked to decide")
    assert "12A.1" not in console("escalate", user=READER)
    report(demo, "12A.1", escalate=True, barriers="Still no decision from the ICB")
    assert "12A.1" in console("escalate", user=READER)

    report(demo, "12A.1", escalate=False)  # the lead withdraws the request
    assert "12A.1" not in console("escalate", user=READER)
    before = console("history 12A.1")
    assert refused in console("escalate 12A.1 Noted again")
    assert console("history 12A.1") == before


def test_rag_by_priority_on_a_five_point_plan_adds_up(demo: Runtime, console: Console) -> None:
    with unit_of_work(demo.sessions) as session:
        session.execute(update(Plan).values(rag_scale=5))
        session.execute(update(Action).where(Action.ref == "12B").values(rag="amber/green"))
    console("priority add Timely EHCPs")
    console("map 12B P1")
    console("map 11F P1")
    grid = rows(table_after(opened(ask(demo, "boardpack B-1")), "The actions serving each"))
    header = grid[0]
    ratings = ["Red", "Red/Amber", "Amber", "Amber/Green", "Green", "Complete", "Not rated"]
    assert header == ["Priority", *ratings, "Actions"]
    p1 = next(r for r in grid if r[0].startswith("P1"))
    counts = [int(n) for n in p1[1:-1]]
    assert sum(counts) == int(p1[-1]) == 2 and p1[header.index("Amber/Green")] == "1"
