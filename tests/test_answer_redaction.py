"""An admin redacts a follow-up answer (`redact FU-3/1`): the text is gone from every table that
held it (the answer, kept board packs), the follow-up shows who redacted it and when, `wsoa
audit` records who, when and why; anyone else is refused and nothing changes. Through the
console and a signed Slack request; the migration that adds the record is tested too."""

from __future__ import annotations

import csv
import io

import pytest
from alembic import command
from docx import Document
from sqlalchemy import func, inspect, select, text

from bot.cli import main
from bot.runtime import Runtime
from bot.store.db import alembic_config, make_engine, unit_of_work, upgrade
from bot.store.models import Answer, AnswerRedaction, BoardPackSnapshot, Update
from tests.conftest import ADMIN, LEAD_11F, READER, Console, person_of
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401 (the `slack` fixture)

SLIPPED = "Met Zebedee Quorn's mum about Zebedee's transport"
FIGURES = "46 over 30 weeks"


def answers_of(runtime: Runtime, followup_id: int) -> list[str]:
    with unit_of_work(runtime.sessions) as session:
        return list(
            session.scalars(
                select(Answer.text)
                .where(Answer.followup_id == followup_id)
                .order_by(Answer.at, Answer.id)
            )
        )


def redactions(runtime: Runtime) -> list[AnswerRedaction]:
    with unit_of_work(runtime.sessions) as session:
        rows = list(session.scalars(select(AnswerRedaction).order_by(AnswerRedaction.id)))
        session.expunge_all()
        return rows


def answer_fu3(console: Console) -> None:
    """FU-3 is on 11F: its lead answers it twice; the first answer names a child."""
    assert "(answer FU-3/1)" in console(f"followup answer FU-3 {SLIPPED}", user=LEAD_11F)
    assert "(answer FU-3/2)" in console(f"followup answer FU-3 {FIGURES}", user=LEAD_11F)


@pytest.mark.usefixtures("demo")
def test_an_admin_redacts_an_answer_and_the_trail_says_who_when_why(
    runtime: Runtime,
    console: Console,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer_fu3(console)
    listed = console("followup list 11F", user=READER)
    assert "FU-3/1" in listed and "FU-3/2" in listed and "Zebedee" in listed

    reply = console("redact FU-3/1 named a pupil", user=ADMIN)
    assert "Redacted FU-3/1" in reply and "11F" in reply

    assert answers_of(runtime, 3) == ["", FIGURES]
    with unit_of_work(runtime.sessions) as session:
        every = " ".join(session.scalars(select(Answer.text)))
    assert "Zebedee" not in every
    [row] = redactions(runtime)
    with runtime.sessions() as session:
        admin = person_of(session, ADMIN)
    assert (row.label, row.reason, row.person_id, row.source) == (
        "FU-3/1",
        "named a pupil",
        admin,
        "console",
    )

    listed = console("followup list 11F", user=READER)
    assert "Zebedee" not in listed
    assert "FU-3/1" in listed and "[redacted by" in listed and FIGURES in listed

    monkeypatch.setenv("WSOA_DATABASE_URL", runtime.settings.database_url)
    capsys.readouterr()
    assert main(["audit"]) == 0
    audit = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    [entry] = [r for r in audit if r["Field"] == "answer"]
    assert entry["Kind"] == "redaction" and entry["Action"] == "11F"
    assert entry["New"] == "FU-3/1" and entry["Note"] == "named a pupil"
    assert entry["Who"].endswith(">") and entry["Source"] == "console"
    assert [r for r in audit if "Zebedee" in " ".join(r.values())] == []
    assert [r["When"] for r in audit] == sorted(r["When"] for r in audit)


@pytest.mark.usefixtures("demo")
def test_a_kept_board_pack_loses_the_answer_and_only_it(runtime: Runtime, console: Console) -> None:
    answer_fu3(console)
    console("followup answer FU-3 46", user=LEAD_11F)  # FU-3/3: a bare figure
    console("boardpack", user=ADMIN)
    with unit_of_work(runtime.sessions) as session:
        before = session.scalars(select(BoardPackSnapshot)).one()
        assert before.content is not None
        old_sha = before.sha256

    assert "1 kept board pack" in console("redact FU-3/3", user=ADMIN)
    assert "1 kept board pack" in console("redact FU-3/1", user=ADMIN)

    with unit_of_work(runtime.sessions) as session:
        kept = session.scalars(select(BoardPackSnapshot)).one()
        data = kept.content
        assert kept.sha256 != old_sha and kept.size == len(data)
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    whole = "\n".join(cells)
    assert "Zebedee" not in whole
    [fu3] = [r for t in doc.tables for r in t.rows if r.cells[0].text == "FU-3"]
    lines = fu3.cells[4].text.split("\n")
    assert [line.split(": ", 1)[1] for line in lines] == ["[redacted]", FIGURES, "[redacted]"]
    # "46" elsewhere in the pack (other answers, figures) is untouched
    assert "46 assessments are over 30 weeks" in whole


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("args", "answer"),
    [
        ("FU-999/1", "No follow-up FU-999"),
        ("FU-3/9", "FU-3 has 2 answers, so no FU-3/9"),
        ("FU-3/0", "so no FU-3/0"),
        ("FU-3", "not an answer's id"),
        ("fu-3/x", "not an answer's id"),
        ("", "Which update or answer"),
    ],
)
def test_an_unknown_answer_is_named_and_nothing_changes(
    runtime: Runtime, console: Console, args: str, answer: str
) -> None:
    answer_fu3(console)
    assert answer in console(f"redact {args}", user=ADMIN)
    assert answers_of(runtime, 3) == [SLIPPED, FIGURES]
    assert redactions(runtime) == []


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("user", [LEAD_11F, READER])
def test_only_admins_redact_answers(runtime: Runtime, console: Console, user: str) -> None:
    answer_fu3(console)
    assert "Only programme managers" in console("redact FU-3/1 named a pupil", user=user)
    assert answers_of(runtime, 3) == [SLIPPED, FIGURES]
    assert redactions(runtime) == []


@pytest.mark.usefixtures("demo")
def test_redacting_an_answer_twice_changes_nothing_more(runtime: Runtime, console: Console) -> None:
    answer_fu3(console)
    console("redact fu3/1", user=ADMIN)
    assert "already redacted" in console("redact FU-3/1", user=ADMIN)
    assert len(redactions(runtime)) == 1


@pytest.mark.usefixtures("demo")
def test_a_reason_with_a_childs_details_is_refused(runtime: Runtime, console: Console) -> None:
    answer_fu3(console)
    reply = console("redact FU-3/1 Jamie Smith 12/03/2015 was named", user=ADMIN)
    assert "looks like it holds" in reply
    assert answers_of(runtime, 3) == [SLIPPED, FIGURES]
    assert redactions(runtime) == []


@pytest.mark.usefixtures("demo")
def test_a_signed_slack_request_redacts_an_answer_for_admins_only(
    runtime: Runtime, console: Console, slack: SlackHarness
) -> None:
    answer_fu3(console)
    refused = str(slack.reply("redact FU-3/1 named a pupil", user_id=LEAD_11F))
    assert "Only programme managers" in refused
    assert answers_of(runtime, 3) == [SLIPPED, FIGURES]

    done = str(slack.reply("redact FU-3/1 named a pupil", user_id=ADMIN))
    assert "Redacted FU-3/1" in done
    assert answers_of(runtime, 3) == ["", FIGURES]
    [row] = redactions(runtime)
    assert (row.source, row.reason) == ("slack", "named a pupil")

    unknown = str(slack.reply("redact FU-3/7", user_id=ADMIN))
    assert "so no FU-3/7" in unknown


def test_migration_0011_adds_the_record_and_keeps_answers(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    command.upgrade(alembic_config(engine), "0010")
    assert "answer_redactions" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, slug, name, created_at) VALUES (7, 'p', 'P', :t)"),
            {"t": "2026-11-20 09:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO followups (id, plan_id, question, raised_at, raised_by) "
                "VALUES (7, 7, 'How many?', :t, 'U0PM')"
            ),
            {"t": "2026-11-20 09:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO answers (id, followup_id, at, by, text) VALUES (7, 7, :t, 'U', '46')"
            ),
            {"t": "2026-11-20 09:00:00"},
        )
    upgrade(engine)
    assert "answer_redactions" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.scalar(select(Answer.text).where(Answer.id == 7)) == "46"
        assert conn.scalar(select(func.count()).select_from(AnswerRedaction)) == 0
    command.downgrade(alembic_config(engine), "0010")
    assert "answer_redactions" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()


@pytest.mark.usefixtures("demo")
def test_an_update_redaction_keeps_its_reason_as_the_note(
    runtime: Runtime, console: Console
) -> None:
    console("update 11F amber Met Zebedee's mum", user=LEAD_11F)
    with unit_of_work(runtime.sessions) as session:
        newest = session.scalar(select(func.max(Update.id)))
    assert "Redacted" in console(f"redact {newest} named a pupil", user=ADMIN)
    with unit_of_work(runtime.sessions) as session:
        row = session.scalars(select(Update).where(Update.kind == "redaction")).one()
        assert row.note == "named a pupil"
    assert "redact" in console("help", user=ADMIN) and "FU-12/2" in console("help", user=ADMIN)
