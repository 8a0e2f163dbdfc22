"""The history proves itself (bot/store/chain.py): every row written through the bot is linked
into its plan's hash chain; `wsoa audit verify` checks the whole chain and prints its head, or
names the first row changed, removed or inserted behind the bot's back and exits 1; a redaction
still verifies; the board pack and the digest print the head; simultaneous writers keep one
chain. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from docx import Document
from sqlalchemy import func, select, text

from bot.cli import main
from bot.commands import execute
from bot.runtime import Runtime
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.services.plans import current_plan
from bot.store import chain
from bot.store.db import alembic_config, make_engine, session_factory, upgrade
from bot.store.models import ChainLink, Plan, Update
from tests.conftest import ADMIN, LEAD_11F, NOW, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


@pytest.fixture
def wsoa(database_url: str, monkeypatch: pytest.MonkeyPatch, demo: Runtime) -> object:
    monkeypatch.setenv("WSOA_DATABASE_URL", database_url)

    def run(*args: str) -> int:
        return main(list(args))

    return run


def verdict(runtime: Runtime) -> chain.Verdict:
    with runtime.sessions() as session:
        return chain.verify(session, current_plan(session, NOW, create=True).id)


def head(runtime: Runtime) -> str:
    with runtime.sessions() as session:
        found = chain.head(session, current_plan(session, NOW, create=True).id)
    assert found is not None
    return found


def sql(runtime: Runtime, statement: str) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(text(statement))


def test_every_row_written_is_linked_and_verifies(
    demo: Runtime, console: Console, wsoa, capsys: pytest.CaptureFixture[str]
) -> None:
    before = verdict(demo)
    assert before.ok and before.links > 100, before.problems
    console("update 11F amber Pilot live in 12 schools", user=LEAD_11F)
    console("followup answer FU-3 46 over 30 weeks", user=LEAD_11F)
    console("signoff 1C confirm the framework is reviewed each term")
    after = verdict(demo)
    assert after.ok and after.links == before.links + 3, after.problems
    assert after.head != before.head

    assert wsoa("audit", "verify") == 0
    assert f"history rows verified; head {after.head}" in capsys.readouterr().out
    # the audit export names each row's record and its link's hash: the newest is the head
    assert wsoa("audit") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    signed = [r for r in rows if r["Action"] == "1C" and r["Kind"] == "signoff"]
    assert signed and signed[-1]["Chain hash"] == after.head
    assert signed[-1]["Record"].startswith("update #")
    history = ("update #", "highlight report #", "answer #", "figure #", "measure change #")
    assert all(r["Chain hash"] for r in rows if r["Record"].startswith(history))
    assert {r["Kind"] for r in rows if not r["Chain hash"]} <= {"follow-up", "board", "board pack"}


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE updates SET note = 'All fine' WHERE id = {id}", "its row was changed"),
        ("DELETE FROM updates WHERE id = {id}", "its row was removed"),
        (
            "INSERT INTO updates (plan_id, action_id, at, source, kind, note, changes) "
            "SELECT plan_id, action_id, at, source, kind, 'Backdated', changes FROM updates "
            "WHERE id = {id}",
            "has no link: it was inserted behind the bot's back",
        ),
        (
            "UPDATE chain_links SET hash = commitment "
            "WHERE source_table = 'updates' AND row_id = {id}",
            "does not follow",
        ),
    ],
    ids=["changed", "removed", "inserted", "relinked"],
)
def test_a_row_altered_behind_the_bots_back_is_named(
    demo: Runtime,
    console: Console,
    wsoa,
    capsys: pytest.CaptureFixture[str],
    tamper: str,
    named: str,
) -> None:
    console("update 11F amber Pilot live in 12 schools", user=LEAD_11F)
    with demo.sessions() as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    sql(demo, f"DELETE FROM highlight_reports WHERE update_id = {row_id}")
    sql(demo, tamper.format(id=row_id))
    capsys.readouterr()

    assert wsoa("audit", "verify") == 1
    said = capsys.readouterr().err
    assert "the history does not verify" in said and named in said
    if "inserted" not in named:
        assert f"update #{row_id}" in said


def test_a_redaction_still_verifies(demo: Runtime, console: Console) -> None:
    console("update 12B red Met Zebedee's mum about transport", user=ADMIN)
    with demo.sessions() as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    console("followup answer FU-3 Zebedee Quorn is over 30 weeks", user=LEAD_11F)
    assert "Redacted" in console(f"redact {row_id} named a child")
    assert "Redacted FU-3/1" in console("redact FU-3/1")
    found = verdict(demo)
    assert found.ok, found.problems
    with demo.sessions() as session:
        salts = session.scalars(
            select(ChainLink.salt).where(
                ChainLink.source_table == "updates", ChainLink.row_id == row_id
            )
        ).all()
    assert salts == [None]  # the text and the means to check it are both gone


def test_the_board_pack_and_the_digest_print_the_head(
    demo: Runtime, console: Console, slack: SlackHarness
) -> None:
    short = head(demo)[: chain.SHORT]
    reply = execute(demo, Caller(user_id=ADMIN, channel_id=CONSOLE_CHANNEL), "boardpack")
    doc = Document(io.BytesIO(reply.files[0].data))
    record = next(p.text for p in doc.paragraphs if p.text.startswith("Record: "))
    assert short in record and "wsoa audit verify" in record
    assert f"history chain head {short}" in console("digest preview")
    assert short in str(slack.reply("digest preview", ADMIN))


def test_simultaneous_writers_keep_one_chain(demo: Runtime, slack: SlackHarness) -> None:
    """Twelve updates at once, each to a different action (so no action's lock orders them):
    the plan's lock does, and the chain stays one line."""
    refs = ["11F", "12B", "12C", "1B", "1C", "1D", "2A.3", "2A.4", "2A.5", "2B", "2C", "6B"]
    before = verdict(demo).links
    barrier = threading.Barrier(len(refs))

    def send(ref: str) -> int:
        barrier.wait()
        result = slack.slash(f"update {ref} amber at the same moment", user_id=ADMIN)
        assert result.status == 200, (ref, result.status, result.text)
        return result.status

    with ThreadPoolExecutor(max_workers=len(refs)) as pool:
        assert set(pool.map(send, refs)) == {200}
    found = verdict(demo)
    assert found.ok, found.problems
    assert found.links == before + len(refs)


def test_a_migrated_database_is_chained_and_verifies(empty_database_url: str) -> None:
    """A database with history written before the chain existed: the migration links every
    row, in the order it was written."""
    engine = make_engine(empty_database_url)
    command.upgrade(alembic_config(engine), "0015")
    stamp = "2026-11-20 09:00:00"
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO plans (id, slug, name, created_at) VALUES (1, 'wsoa', 'WSoA', :t)",
            "INSERT INTO workstreams (id, plan_id, name, key, position) "
            "VALUES (1, 1, 'GR', 'gr', 0)",
            "INSERT INTO actions (id, plan_id, workstream_id, ref, sort_key, title, status, "
            "created_at) VALUES (1, 1, 1, '11F', '0011F', 'Reduce exclusions', 'in progress', "
            ":t)",
            "INSERT INTO updates (id, plan_id, action_id, at, source, kind, note) VALUES "
            "(1, 1, 1, :t, 'import', 'created', NULL), "
            "(2, 1, 1, '2026-11-21 09:00:00', 'slack', 'update', 'Pilot live')",
            "INSERT INTO followups (id, plan_id, action_id, question, raised_at, source) "
            "VALUES (1, 1, 1, 'How many?', :t, 'slack')",
            "INSERT INTO answers (id, followup_id, at, person_id, source, text) VALUES "
            "(1, 1, '2026-11-20 10:00:00', NULL, 'slack', '46')",
        ):
            connection.execute(text(statement), {"t": stamp})
    upgrade(engine)
    try:
        with session_factory(engine)() as session:
            plan_id = session.scalars(select(Plan.id)).one()
            found = chain.verify(session, plan_id)
            order = session.execute(
                select(ChainLink.source_table, ChainLink.row_id).order_by(ChainLink.seq)
            ).all()
            assert session.scalar(select(func.count()).select_from(ChainLink)) == 3
    finally:
        engine.dispose()
    assert found.ok and found.links == 3, found.problems
    assert [tuple(row) for row in order] == [("updates", 1), ("answers", 1), ("updates", 2)]


def test_the_trail_is_complete_and_laid_out_for_reading(
    demo: Runtime,
    console: Console,
    slack: SlackHarness,
    wsoa,
    tmp_path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Follow-ups raised, answered and closed; board meetings added and removed; board packs
    kept; a highlight report's plans, barriers and escalation: each is a row, with its record
    and, for history rows, its chain hash. Some through Slack, some at the console."""
    from bot.services import checkins

    assert "FU-" in str(slack.reply("followup add 11F How many are over 30 weeks?", ADMIN))
    with demo.sessions() as session:
        from bot.store.models import FollowUp

        newest = session.scalars(select(FollowUp.id).order_by(FollowUp.id.desc())).first()
    console(f"followup answer FU-{newest} 46 over 30 weeks", user=LEAD_11F)
    console(f"followup close FU-{newest}")
    console("board add 2027-03-04 14:00 Spring board")
    console("board move B-1 2027-01-20 14:00")
    console("board remove B-3")
    console("boardpack")
    # a redaction rewrites the kept pack that quotes it: the board's history keeps both hashes
    console("update 11F red Met Zebedee's mum about transport", user=LEAD_11F)
    console("boardpack")
    with demo.sessions() as session:
        noted = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    assert "1 kept board pack" in console(f"redact {noted} named a child")
    fields = checkins.HighlightFields(
        rag=None,
        status=None,
        progress="Two agency EPs started",
        planned="Recruit a senior EP",
        barriers="EP vacancies",
        escalate=True,
    )
    with demo.work(Caller(user_id=LEAD_11F, channel_id=CONSOLE_CHANNEL)) as ctx:
        checkins.record_report(ctx, "11F", fields, None)
    capsys.readouterr()

    assert wsoa("audit") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    kinds = {(r["Kind"], r["Field"]) for r in rows}
    for expected in (
        ("follow-up", "raised"),
        ("follow-up", "closed"),
        ("board", "added"),
        ("board", "moved"),
        ("board", "removed"),
        ("board pack", "kept"),
        ("highlight report", "planned"),
        ("highlight report", "barriers"),
        ("highlight report", "escalate"),
    ):
        assert expected in kinds, expected
    answer = next(
        r for r in rows if r["Kind"] == "answer" and r["Field"].startswith(f"FU-{newest}/")
    )
    assert answer["New"] == "46 over 30 weeks" and answer["Chain hash"]
    assert answer["Record"].startswith("answer #")
    pack = next(r for r in rows if r["Kind"] == "board pack")
    assert "SHA-256 " in pack["New"]
    moved = next(r for r in rows if r["Field"] == "moved")
    assert moved["Action"].startswith("B-1 ") and moved["New"] == "2027-01-20 14:00 UTC"
    [rewritten] = [r for r in rows if r["Field"].endswith("rewritten")]
    assert len(rewritten["Old"]) == len(rewritten["New"]) == 64
    assert rewritten["Old"] != rewritten["New"]
    # times carry their offset from UTC
    assert all(r["When"][-6] in "+-" for r in rows)

    # the xlsx: the time zone in the header, widths, wrapped notes, a filter, a frozen header
    import openpyxl

    path = tmp_path / "audit.xlsx"
    assert wsoa("audit", "-o", str(path)) == 0
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert sheet["A1"].value == "When (Europe/London)"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:K")
    assert sheet.column_dimensions["H"].width == 50
    long_notes = [c for c in sheet["H"][1:] if c.value and len(str(c.value)) > 40]
    assert long_notes and all(c.alignment.wrap_text for c in long_notes)


def test_an_erased_salt_or_a_value_the_bot_never_writes_is_named(
    demo: Runtime, console: Console, wsoa, capsys: pytest.CaptureFixture[str]
) -> None:
    """Blanking a link's salt would make its row uncheckable: only a redaction may, and
    verify says so; a value no surface writes is reported, not a crash."""
    console("update 11F amber Pilot live in 12 schools", user=LEAD_11F)
    with demo.sessions() as session:
        row_id = session.scalars(select(Update.id).order_by(Update.id.desc()).limit(1)).one()
    sql(demo, f"UPDATE updates SET note = 'All fine' WHERE id = {row_id}")
    sql(
        demo,
        f"UPDATE chain_links SET salt = NULL WHERE source_table = 'updates' AND row_id = {row_id}",
    )
    capsys.readouterr()
    assert wsoa("audit", "verify") == 1
    assert "its salt was erased, but no redaction says so" in capsys.readouterr().err

    sql(demo, f"UPDATE updates SET source = 'carrier pigeon' WHERE id = {row_id}")
    assert wsoa("audit", "verify") == 1
    assert "a value the bot never writes" in capsys.readouterr().err
