"""Migration 0012 attributes every stored row to a person and a surface, and drops the platform
user ids the rows held: a database at 0011 with rows written the old way (a Slack id, a Teams
AAD id, an e-mail at the console, "import", "scheduler", "terminal", an id nobody has) is
upgraded and each row checked, on SQLite and PostgreSQL; then taken back down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from bot.domain import Surface
from bot.store.db import alembic_config, make_engine, session_factory, upgrade
from bot.store.models import (
    Answer,
    AnswerRedaction,
    BoardMeeting,
    BoardPackSnapshot,
    FollowUp,
    Identity,
    MeasureActual,
    MeasureEdit,
    Person,
    Subscription,
    Update,
)

T = "2026-11-20 09:00:00"
AAD = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

ROWS = [
    "INSERT INTO plans (id, slug, name, created_at) VALUES (1, 'wsoa', 'Torbay WSoA', :t)",
    "INSERT INTO workstreams (id, plan_id, name, key, position) VALUES (1, 1, 'GR', 'gr', 0)",
    "INSERT INTO people (id, email, name) VALUES (1, 'sam@council.example', 'Sam Jones')",
    "INSERT INTO people (id, email, name) VALUES (2, 'priya@icb.example', 'Priya Shah')",
    "INSERT INTO people (id, email, name) VALUES (3, NULL, 'Tess Teams')",
    "INSERT INTO identities (person_id, platform, workspace, external_id) "
    "VALUES (1, 'slack', 'T1', 'U0SAM')",
    f"INSERT INTO identities (person_id, platform, workspace, external_id) "
    f"VALUES (3, 'teams', 'tenant', '{AAD}')",
    "INSERT INTO actions (id, plan_id, workstream_id, ref, sort_key, title, status, created_at) "
    "VALUES (1, 1, 1, '11F', '0011F', 'Reduce exclusions', 'in progress', :t)",
    "INSERT INTO updates (id, plan_id, action_id, at, by, person_id, source, kind) VALUES "
    "(1, 1, 1, :t, 'import', NULL, 'import', 'created'), "
    "(2, 1, 1, :t, 'U0SAM', 1, 'slack', 'update'), "
    "(3, 1, 1, :t, 'U0GONE', NULL, 'slack', 'update'), "
    "(4, 1, 1, :t, 'priya@icb.example', NULL, 'console', 'update'), "
    f"(5, 1, 1, :t, '{AAD}', NULL, 'teams', 'update'), "
    "(6, 1, 1, :t, 'system', NULL, 'system', 'escalation'), "
    "(7, 1, 1, :t, 'U0SAM', 1, 'carrier pigeon', 'update')",
    "INSERT INTO followups (id, plan_id, action_id, question, raised_at, raised_by, "
    "closed_at, closed_by) VALUES (1, 1, 1, 'How many?', :t, 'U0PM', :t, 'U0SAM'), "
    f"(2, 1, 1, 'Why?', :t, '{AAD}', NULL, NULL)",
    "INSERT INTO answers (id, followup_id, at, by, person_id, text) VALUES "
    "(1, 1, :t, 'U0SAM', NULL, '46'), (2, 1, :t, 'priya@icb.example', 2, '')",
    "INSERT INTO answer_redactions (id, plan_id, answer_id, label, at, by, person_id, source) "
    "VALUES (1, 1, 2, 'FU-1/2', :t, 'U0PM', NULL, 'slack')",
    "INSERT INTO board_meetings (id, plan_id, name, starts_at, channel_id, digest_hours_before, "
    "created_by, created_at) VALUES (1, 1, 'Board', :t, 'C0BOARD', 48, 'U0PM', :t)",
    "INSERT INTO subscriptions (id, plan_id, channel_id, weekday, time, active, created_by, "
    f"changed_at) VALUES (1, 1, 'C0WEEKLY', 0, '09:00:00', :yes, '{AAD}', :t)",
    "INSERT INTO measures (id, plan_id, short_id, number, name, key, unit, better, "
    "baseline_value, baseline_date, target_value, target_date, trajectory, created_at) "
    "VALUES (1, 1, 'K1', 1, 'EHCPs', 'ehcps', '%', 'higher', 40, '2026-03-31', 80, "
    "'2027-03-31', '[]', :t)",
    "INSERT INTO measure_actuals (id, measure_id, period, value, recorded_at, by, person_id, "
    "source) VALUES (1, 1, '2026-09-01', 50, :t, 'import', NULL, 'import'), "
    "(2, 1, '2026-10-01', 55, :t, 'U0SAM', 1, 'slack')",
    "INSERT INTO measure_edits (id, measure_id, at, by, source, field, old, new) VALUES "
    "(1, 1, :t, 'import', 'import', 'created', NULL, 'x'), "
    "(2, 1, :t, 'U0SAM', 'slack', 'target value', '75', '80')",
    "INSERT INTO board_pack_snapshots (id, plan_id, board_id, created_at, created_by, filename, "
    "sha256, size, content) VALUES (1, 1, 1, :t, 'scheduler', 'a.docx', 'ab', 1, :blob), "
    "(2, 1, 1, :t, 'terminal', 'b.docx', 'cd', 1, :blob), "
    "(3, 1, 1, :t, 'U0PM', 'c.docx', 'ef', 1, :blob)",
]
TABLES = ("plans", "workstreams", "people", "identities", "actions", "updates", "followups")
USER_ID_COLUMNS = {
    "updates": "by",
    "followups": "raised_by",
    "answers": "by",
    "answer_redactions": "by",
    "board_meetings": "created_by",
    "subscriptions": "created_by",
    "measure_actuals": "by",
    "measure_edits": "by",
    "board_pack_snapshots": "created_by",
}


def _load_0011(url: str) -> None:
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0011")
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"t": T, "yes": True, "blob": b"x"})
        if conn.dialect.name == "postgresql":
            for table in TABLES:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    engine.dispose()


def test_every_row_keeps_who_made_it_as_a_person_and_a_surface(empty_database_url: str) -> None:
    _load_0011(empty_database_url)
    engine = make_engine(empty_database_url)
    upgrade(engine)
    columns = inspect(engine)
    for table, column in USER_ID_COLUMNS.items():
        assert column not in {c["name"] for c in columns.get_columns(table)}, table
    try:
        with session_factory(engine)() as session:
            ids = {i.external_id: i.person_id for i in session.scalars(select(Identity))}
            pm, gone = ids["U0PM"], ids["U0GONE"]
            assert session.get_one(Person, gone).name == "U0GONE"
            platform = {i.external_id: i.platform for i in session.scalars(select(Identity))}
            assert (platform["U0PM"], platform["U0GONE"]) == ("slack", "slack")

            updates = {u.id: (u.person_id, u.source) for u in session.scalars(select(Update))}
            assert updates == {
                1: (None, Surface.IMPORT),
                2: (1, Surface.SLACK),
                3: (gone, Surface.SLACK),
                4: (2, Surface.CONSOLE),  # the console's --user by e-mail: that person
                5: (3, Surface.TEAMS),
                6: (None, Surface.SCHEDULER),
                7: (1, Surface.UNKNOWN),  # a surface no one can know: said, not guessed
            }
            first, second = session.get_one(FollowUp, 1), session.get_one(FollowUp, 2)
            assert (first.raised_by_person_id, first.source, first.closed_by_person_id) == (
                pm,
                Surface.SLACK,
                1,
            )
            assert (second.raised_by_person_id, second.source) == (3, Surface.TEAMS)
            assert second.closed_by_person_id is None
            answers = {a.id: (a.person_id, a.source) for a in session.scalars(select(Answer))}
            assert answers == {1: (1, Surface.SLACK), 2: (2, Surface.CONSOLE)}
            redaction = session.get_one(AnswerRedaction, 1)
            assert (redaction.person_id, redaction.source) == (pm, Surface.SLACK)
            board = session.get_one(BoardMeeting, 1)
            assert (board.created_by_person_id, board.source) == (pm, Surface.SLACK)
            weekly = session.get_one(Subscription, 1)
            assert (weekly.created_by_person_id, weekly.source) == (3, Surface.TEAMS)
            figures = {
                a.id: (a.person_id, a.source) for a in session.scalars(select(MeasureActual))
            }
            assert figures == {1: (None, Surface.IMPORT), 2: (1, Surface.SLACK)}
            edits = {e.id: (e.person_id, e.source) for e in session.scalars(select(MeasureEdit))}
            assert edits == {1: (None, Surface.IMPORT), 2: (1, Surface.SLACK)}
            packs = {
                p.id: (p.created_by_person_id, p.source)
                for p in session.scalars(select(BoardPackSnapshot))
            }
            assert packs == {
                1: (None, Surface.SCHEDULER),
                2: (None, Surface.TERMINAL),
                3: (pm, Surface.SLACK),
            }

        # Down again: the user ids come back from the identities, and up once more.
        command.downgrade(alembic_config(engine), "0011")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT by FROM updates ORDER BY id")).scalars().all() == [
                "import",
                "U0SAM",
                "U0GONE",
                "priya@icb.example",
                AAD,
                "scheduler",
                "U0SAM",
            ]
            packs_by = text("SELECT created_by FROM board_pack_snapshots ORDER BY id")
            assert conn.execute(packs_by).scalars().all() == ["scheduler", "terminal", "U0PM"]
        upgrade(engine)
        with session_factory(engine)() as session:
            again = {u.id: (u.person_id, u.source) for u in session.scalars(select(Update))}
            assert again[3] == (gone, Surface.SLACK) and again[6] == (None, Surface.SCHEDULER)
    finally:
        engine.dispose()
