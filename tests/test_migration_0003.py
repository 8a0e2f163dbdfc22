"""Migration 0003 carries a single-plan Slack database over with nothing lost: a database built
at revision 0002 with real rows (inserted as SQL, the way the old code stored them) is upgraded
to head and each row checked, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time

from alembic import command
from sqlalchemy import select, text

from bot.addresses import Address
from bot.config import Settings
from bot.replies import Reply
from bot.runtime import Runtime
from bot.services.boards import board_digest_key
from bot.store.db import alembic_config, make_engine, upgrade
from bot.store.models import (
    Answer,
    BoardMeeting,
    Delivery,
    DeliveryState,
    FollowUp,
    Identity,
    Person,
    Plan,
    Subscription,
    Update,
)
from scheduler.deliveries import tick

T = "2026-11-20 09:00:00"
MEETING = "2026-11-25 14:00:00"

ROWS = [
    "INSERT INTO plans (id, name, created_at) VALUES (1, 'Torbay WSoA', :t)",
    "INSERT INTO workstreams (id, plan_id, name, key, position) "
    "VALUES (1, 1, 'Graduated Response', 'graduated response', 0)",
    "INSERT INTO people (id, slack_user_id, email, name, organisation) "
    "VALUES (1, 'U0SAM', 'sam@council.example', 'Sam Jones', 'Council')",
    "INSERT INTO people (id, slack_user_id, email, name) "
    "VALUES (2, NULL, 'priya@icb.example', 'Priya Shah')",
    "INSERT INTO actions (id, plan_id, workstream_id, ref, sort_key, title, rag, status, "
    "created_at, last_update_at, last_note) VALUES (1, 1, 1, '11F', '0011F', "
    "'Reduce exclusions', 'amber', 'in progress', :t, :t, 'Toolkit live')",
    "INSERT INTO action_leads (action_id, person_id) VALUES (1, 1), (1, 2)",
    "INSERT INTO updates (id, action_id, at, by, person_id, source, kind, rag_from, rag_to, "
    "status_from, status_to, note) VALUES "
    "(1, 1, :t, 'import', NULL, 'import', 'created', NULL, 'red', NULL, 'in progress', 'In'), "
    "(2, 1, :t, 'U0SAM', 1, 'slack', 'update', 'red', 'amber', 'in progress', "
    "'in progress', 'Toolkit live'), "
    "(3, 1, :t, 'U0GONE', NULL, 'slack', 'update', 'amber', 'amber', 'in progress', "
    "'in progress', 'By someone never recorded')",
    "INSERT INTO followups (id, plan_id, action_id, question, raised_at, raised_by) "
    "VALUES (1, 1, 1, 'How many over 30 weeks?', :t, 'U0PM')",
    "INSERT INTO answers (id, followup_id, at, by, text) VALUES (1, 1, :t, 'U0SAM', '46')",
    "INSERT INTO board_meetings (id, plan_id, name, starts_at, channel_id, "
    "digest_hours_before, created_by, created_at) "
    "VALUES (1, 1, 'SEND Improvement Board', :meeting, 'C0BOARD', 48, 'U0PM', :t)",
    "INSERT INTO subscriptions (id, plan_id, channel_id, weekday, time, active, created_by, "
    "changed_at) VALUES (1, 1, 'C0WEEKLY', 0, '09:00', :yes, 'U0PM', :t)",
    "INSERT INTO deliveries (id, key, kind, target, due_at, claimed_at, claimed_by, state, "
    "attempts, sent_at, message_ts) VALUES (1, 'board-digest:1:20261125T1400Z', "
    "'board-digest', 'C0BOARD', :t, :t, 'old-host', 'sent', 1, :t, '1700000000.000100')",
]


TABLES = (
    "plans",
    "workstreams",
    "people",
    "actions",
    "updates",
    "followups",
    "answers",
    "board_meetings",
    "subscriptions",
    "deliveries",
)


class RecordingSender:
    """Stands in for Slack: records what would be posted. The scheduler must post nothing
    already delivered."""

    platform = "slack"
    prefix = "/wsoa "

    def __init__(self) -> None:
        self.posted: list[str] = []

    def send(self, reply: Reply, address: Address, key: str) -> str:
        self.posted.append(key)
        return f"ts-{len(self.posted)}"

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        return None


def test_a_slack_database_at_0002_upgrades_with_nothing_lost(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    command.upgrade(alembic_config(engine), "0002")
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"t": T, "meeting": MEETING, "yes": True})
        if conn.dialect.name == "postgresql":
            # The rows above name their ids, as the old bot's never did: move each sequence on.
            for table in TABLES:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    upgrade(engine)

    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=empty_database_url))
    try:
        with runtime.sessions() as session:
            identities = {
                (i.platform, i.workspace, i.external_id): i.person_id
                for i in session.scalars(select(Identity))
            }
            gone = identities[("slack", "", "U0GONE")]
            assert identities[("slack", "", "U0SAM")] == 1
            assert ("slack", "", "U0PM") in identities
            assert session.get_one(Person, 2).identities == []
            assert session.get_one(Person, gone).name == "U0GONE"

            authors = {u.id: u.person_id for u in session.scalars(select(Update))}
            assert authors == {1: None, 2: 1, 3: gone}
            assert {u.plan_id for u in session.scalars(select(Update))} == {1}
            assert session.get_one(Plan, 1).slug == "wsoa"
            assert session.get_one(Answer, 1).person_id == 1
            followup = session.get_one(FollowUp, 1)
            assert followup.raised_by_person_id == identities[("slack", "", "U0PM")]

            assert session.get_one(Subscription, 1).time == time(9, 0)
            board = session.get_one(BoardMeeting, 1)
            delivered = session.get_one(Delivery, 1)
            assert delivered.key == board_digest_key(board)
            assert delivered.state is DeliveryState.SENT
            slack_board = Address(platform="slack", conversation="C0BOARD")
            assert board.address == delivered.address == slack_board
            weekly = session.get_one(Subscription, 1).address
            assert weekly == Address(platform="slack", conversation="C0WEEKLY")

        # The digest was delivered before the upgrade: a tick in its window sends nothing new
        # for that meeting.
        sender = RecordingSender()
        report = tick(runtime, sender, datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
        assert "board-digest:1:20261125T1400Z" not in sender.posted
        # This Monday's weekly digest was due and never sent: it goes, to its Slack channel.
        assert report.sent == sender.posted == ["weekly:C0WEEKLY:2026-W48"]
    finally:
        runtime.close()
        engine.dispose()
