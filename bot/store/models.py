"""The schema, as typed SQLAlchemy 2 models. Alembic migrations are generated from these.

Times are stored in UTC; `UTCDateTime` gives them back timezone-aware on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import time as wall_time
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from bot.addresses import CONVERSATION_CHARS, Address
from bot.domain import Rag, Status, Surface, UpdateKind


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive-UTC so SQLite sorts them."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def words_of(enum: type[StrEnum], length: int) -> Enum:
    """An enum-typed column stored as the enum's words ("red", "signed off"), in a VARCHAR of
    `length`: the same strings as before the column was typed, so old rows read back as
    members and reports written against the table keep working."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class AddressColumn(TypeDecorator[Address]):
    """An Address stored as JSON: what a sender needs, kept with the row that uses it."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Address | None, dialect: Dialect) -> Any:
        return None if value is None else value.model_dump(exclude_none=True)

    def process_result_value(self, value: Any, dialect: Dialect) -> Address | None:
        return None if value is None else Address.model_validate(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Plan(Base):
    """One partnership's plan. A database holds any number; every query is scoped to one."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    # how people name it at the command line: `--plan torbay`
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # 3 (red, amber, green) or 5 (the delivery-confidence scale, with red/amber and
    # amber/green): set from the tracker at import; what summaries, digests and exports show
    rag_scale: Mapped[int] = mapped_column(default=3, server_default="3")


class PlanBinding(Base):
    """Which plan a workspace or tenant (or one channel in it) speaks to. A channel binding
    wins over its workspace's; an empty channel binds the whole workspace."""

    __tablename__ = "plan_bindings"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(CONVERSATION_CHARS), default="")


class Workstream(Base):
    __tablename__ = "workstreams"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    name: Mapped[str] = mapped_column(String(300))
    # lower-cased name: what commands match against
    key: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)


class WorkstreamImpact(Base):
    """What a workstream's work has changed for children and families, as the tracker says at
    the end of its section ("The difference it made: …"). Append-only: the latest is current."""

    __tablename__ = "workstream_impacts"
    __table_args__ = (Index("ix_workstream_impacts_workstream_id_id", "workstream_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstreams.id"))
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    text: Mapped[str] = mapped_column(Text)


class Person(Base):
    """Someone in the partnership, on whichever platforms they use (their identities). Rules
    compare people, never platform ids. The e-mail is stored lower-case."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))

    # Joined: loading a list's leads fetches their identities in the same statement, so
    # mentioning them costs no extra query.
    identities: Mapped[list[Identity]] = relationship(
        lazy="joined", back_populates="person", order_by="Identity.id"
    )

    @property
    def label(self) -> str:
        return person_label(self.id, self.name, self.email)

    def handle_on(self, platform: str) -> str | None:
        """This person's user id on `platform`, if they have one there."""
        return next((i.external_id for i in self.identities if i.platform == platform), None)

    @property
    def handles(self) -> dict[str, str]:
        """Platform → user id: what a renderer needs to mention this person."""
        found: dict[str, str] = {}
        for identity in self.identities:
            found.setdefault(identity.platform, identity.external_id)
        return found


def person_label(person_id: int, name: str | None, email: str | None) -> str:
    """How a person is named: their name, else their e-mail, else their number."""
    return name or email or f"person {person_id}"


class Identity(Base):
    """A person's account on one platform: a Slack user in a workspace, a Teams user in a
    tenant (the AAD object id, and the Bot Connector's `29:` id that personal chats need), or a
    name used at the console. An empty workspace means "not yet known" (filled in on first
    contact)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100), default="")
    external_id: Mapped[str] = mapped_column(String(255), index=True)
    # Teams: the Bot Connector user id (29:…), 200+ characters
    connector_id: Mapped[str | None] = mapped_column(String(512))
    # Teams: the regional Bot Connector URL the person was last seen through (path kept):
    # reminders and private answers to their personal chat are posted there
    service_url: Mapped[str | None] = mapped_column(String(512))

    person: Mapped[Person] = relationship(back_populates="identities", lazy="raise")


action_leads = Table(
    "action_leads",
    Base.metadata,
    Column("action_id", ForeignKey("actions.id"), primary_key=True),
    Column("person_id", ForeignKey("people.id"), primary_key=True, index=True),
)


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("plan_id", "ref"),
        # red/amber lists stop at their limit instead of sorting every match
        Index("ix_actions_plan_rag_sort", "plan_id", "rag", "sort_key"),
        Index("ix_actions_plan_due_status", "plan_id", "due", "status"),
        # the first refs per workstream and rating, in order; with status, covers the RAG counts
        Index(
            "ix_actions_plan_workstream_rag_sort",
            "plan_id",
            "workstream_id",
            "rag",
            "sort_key",
            "status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstreams.id"), index=True)
    ref: Mapped[str] = mapped_column(String(20))
    # sorts 2A.3 before 11F: digits zero-padded (see domain.ref_sort_key)
    sort_key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)
    due: Mapped[date | None] = mapped_column(Date)
    # the timescale as the plan wrote it ("Ongoing", "March 2027"), shown beside `due`
    due_text: Mapped[str | None] = mapped_column(String(100))
    # current RAG and status: derived from the latest update, stored for fast reads
    rag: Mapped[Rag | None] = mapped_column(words_of(Rag, 20))
    status: Mapped[Status] = mapped_column(words_of(Status, 20))
    created_at: Mapped[datetime]
    last_update_at: Mapped[datetime | None] = mapped_column(index=True)
    last_note: Mapped[str | None] = mapped_column(Text)
    # what the last import read of each field, as text (bot/services/imports.py): a re-import
    # applies only the cells that changed since, and keeps what was changed in the bot
    imported: Mapped[dict[str, str | None] | None] = mapped_column(JSON)

    # An outer join: when an action is itself joined in (a follow-up's), an inner one nests
    # and makes SQLite join every action to its workstream first.
    workstream: Mapped[Workstream] = relationship(lazy="joined")
    leads: Mapped[list[Person]] = relationship(
        secondary=action_leads, lazy="selectin", order_by="Person.name"
    )


class Update(Base):
    """One change to an action. Append-only: never updated, never deleted.

    Written only by bot/services/history.py, under a lock on the action, so each row's "from"
    values are the previous row's "to" values. RAG and status moves have their own columns
    (the digest counts them in SQL); every changed field, those two included, is also in
    `changes` with its old and new value as text, so an edit keeps what it replaced.
    """

    __tablename__ = "updates"
    __table_args__ = (
        Index("ix_updates_action_at", "action_id", "at"),
        # the digest's "what changed" counts one plan's recent rows
        Index("ix_updates_plan_at", "plan_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    # who made the change; None when no person did (`source` says what did: an import…)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    kind: Mapped[UpdateKind] = mapped_column(words_of(UpdateKind, 20), default=UpdateKind.UPDATE)
    rag_from: Mapped[Rag | None] = mapped_column(words_of(Rag, 20))
    rag_to: Mapped[Rag | None] = mapped_column(words_of(Rag, 20))
    status_from: Mapped[Status | None] = mapped_column(words_of(Status, 20))
    status_to: Mapped[Status | None] = mapped_column(words_of(Status, 20))
    note: Mapped[str | None] = mapped_column(Text)
    # [{"field": "due", "old": "2027-01-31", "new": "2027-03-31"}, …]; None on rows written
    # before fields were recorded (their RAG and status moves are in the columns above)
    changes: Mapped[list[dict[str, str | None]] | None] = mapped_column(JSON)

    action: Mapped[Action] = relationship(lazy="raise")


class FollowUp(Base):
    """A follow-up question raised by an adviser, about an action or a whole workstream."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), index=True)
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstreams.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    # who raised it, and through what
    raised_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    action: Mapped[Action | None] = relationship(lazy="joined")
    workstream: Mapped[Workstream | None] = relationship(lazy="joined")
    # oldest first: an answer's place in this list is its number (FU-12/2)
    answers: Mapped[list[Answer]] = relationship(
        lazy="selectin", order_by="[Answer.at, Answer.id]", back_populates="followup"
    )


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    # empty once redacted (see AnswerRedaction): an answer is never stored empty otherwise
    text: Mapped[str] = mapped_column(Text)

    followup: Mapped[FollowUp] = relationship(back_populates="answers", lazy="raise")


class AnswerRedaction(Base):
    """An admin removed a follow-up answer's text (a child's details stored by mistake): who,
    when and why. The answer keeps its row, its text emptied; this row is the record, and what
    `wsoa audit` lists. See bot/services/redaction.py."""

    __tablename__ = "answer_redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), unique=True)
    # the answer as people named it when it was redacted (FU-12/2)
    label: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    reason: Mapped[str | None] = mapped_column(Text)


class BoardMeeting(Base):
    __tablename__ = "board_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    # the conversation its digest goes to (address.conversation), and where that is
    channel_id: Mapped[str] = mapped_column(String(CONVERSATION_CHARS))
    address: Mapped[Address | None] = mapped_column(AddressColumn)
    digest_hours_before: Mapped[int] = mapped_column(Integer, default=48)
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    created_at: Mapped[datetime]
    # removal is recorded, not deleted, so a claimed delivery can see the meeting went away
    removed_at: Mapped[datetime | None]
    # the reporting deadline of a cycle: leads are asked for highlight reports before it
    reporting: Mapped[bool] = mapped_column(default=False, server_default=false())
    checkin_days: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # its papers are published with the meeting's agenda (a scrutiny committee's are): the
    # board pack says so on its cover
    public: Mapped[bool] = mapped_column(default=False, server_default=false())


class Subscription(Base):
    """A channel's weekly digest."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    channel_id: Mapped[str] = mapped_column(String(CONVERSATION_CHARS), unique=True)
    address: Mapped[Address | None] = mapped_column(AddressColumn)
    weekday: Mapped[int] = mapped_column(Integer)  # Monday = 0
    time: Mapped[wall_time] = mapped_column(Time)  # wall-clock time in WSOA_TIMEZONE
    active: Mapped[bool] = mapped_column(default=True)
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    changed_at: Mapped[datetime]


class DeliveryKind(StrEnum):
    """What a delivery is (also the first part of its key)."""

    BOARD_DIGEST = "board-digest"
    REMINDER = "reminder"
    WEEKLY = "weekly"
    DIGEST_NOW = "digest-now"
    ADMIN_NOTICE = "admin-notice"
    CHECKIN = "checkin"  # a lead asked for their highlight reports before a reporting board
    NUDGE = "nudge"  # a lead who has not reported, two days before the deadline
    PARTICIPATION = "participation"  # who has reported, to an admin the morning of the deadline
    KPI_COMMENTARY = "kpi-commentary"  # a measure's owner asked why it is off trajectory


class DeliveryState(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # retrying
    ABANDONED = "abandoned"  # gave up, admins told
    SKIPPED = "skipped"


BOARD_DIGEST = DeliveryKind.BOARD_DIGEST
REMINDER = DeliveryKind.REMINDER
WEEKLY = DeliveryKind.WEEKLY
DIGEST_NOW = DeliveryKind.DIGEST_NOW
ADMIN_NOTICE = DeliveryKind.ADMIN_NOTICE
CHECKIN = DeliveryKind.CHECKIN
NUDGE = DeliveryKind.NUDGE
PARTICIPATION = DeliveryKind.PARTICIPATION
KPI_COMMENTARY = DeliveryKind.KPI_COMMENTARY

PENDING = DeliveryState.PENDING
SENDING = DeliveryState.SENDING
SENT = DeliveryState.SENT
FAILED = DeliveryState.FAILED
ABANDONED = DeliveryState.ABANDONED
SKIPPED = DeliveryState.SKIPPED


class Delivery(Base):
    """One scheduled occurrence. The unique key is the claim: only its inserter sends."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[DeliveryKind] = mapped_column(words_of(DeliveryKind, 30))
    # the conversation (a channel, or a person's chat), and the whole address
    target: Mapped[str] = mapped_column(String(CONVERSATION_CHARS))
    address: Mapped[Address | None] = mapped_column(AddressColumn)
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[DeliveryState] = mapped_column(
        words_of(DeliveryState, 20), default=DeliveryState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    message_ts: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)


# --- Measures of impact (KPIs) ---------------------------------------------------------------

measure_workstreams = Table(
    "measure_workstreams",
    Base.metadata,
    Column("measure_id", ForeignKey("measures.id"), primary_key=True),
    Column("workstream_id", ForeignKey("workstreams.id"), primary_key=True, index=True),
)

measure_actions = Table(
    "measure_actions",
    Base.metadata,
    Column("measure_id", ForeignKey("measures.id"), primary_key=True),
    Column("action_id", ForeignKey("actions.id"), primary_key=True, index=True),
)


class Measure(Base):
    """A measure of impact: an aggregate figure with a baseline, a target and, optionally, an
    interim trajectory. Never about an individual child."""

    __tablename__ = "measures"
    __table_args__ = (
        # two unique pairs on plan_id: the naming convention would give both one name
        UniqueConstraint("plan_id", "short_id", name="uq_measures_plan_short_id"),
        UniqueConstraint("plan_id", "key", name="uq_measures_plan_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    # K1, K2…: what people type; `number` orders them
    short_id: Mapped[str] = mapped_column(String(10))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    # lower-cased name with single spaces: what commands and re-imports match against
    key: Mapped[str] = mapped_column(String(300))
    definition: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(10))  # %, number, days, weeks
    better: Mapped[str] = mapped_column(String(10))  # higher, lower
    baseline_value: Mapped[float] = mapped_column(Float)
    baseline_date: Mapped[date] = mapped_column(Date)
    target_value: Mapped[float] = mapped_column(Float)
    target_date: Mapped[date] = mapped_column(Date)
    # interim points between baseline and target: [["2026-09-30", 55.0], …], dates ascending
    trajectory: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(300))
    frequency: Mapped[str | None] = mapped_column(String(30))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]

    owner: Mapped[Person | None] = relationship(lazy="joined")
    workstreams: Mapped[list[Workstream]] = relationship(
        secondary=measure_workstreams, lazy="selectin", order_by="Workstream.position"
    )
    actions: Mapped[list[Action]] = relationship(
        secondary=measure_actions, lazy="selectin", order_by="Action.sort_key"
    )


class MeasureActual(Base):
    """One figure for one period. Append-only: a correction is a new row, and the latest row for
    a period is the figure; the earlier ones stay as history."""

    __tablename__ = "measure_actuals"
    __table_args__ = (Index("ix_measure_actuals_measure_period", "measure_id", "period", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    # the month the figure is for, as its first day
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    # who recorded it; None for a file imported at the terminal
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    note: Mapped[str | None] = mapped_column(Text)


class MeasureEdit(Base):
    """A change to a measure's definition (its target, baseline, unit…): old and new value, so
    a target that moved is as visible as a figure that did. Append-only."""

    __tablename__ = "measure_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    field: Mapped[str] = mapped_column(String(30))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


# --- strategic priorities and board packs (issue 12) -------------------------------------------


class Priority(Base):
    """One of the partnership's strategic priorities; actions map to any number of them."""

    __tablename__ = "priorities"
    __table_args__ = (
        UniqueConstraint("plan_id", "key", name="uq_priorities_plan_id_key"),
        UniqueConstraint("plan_id", "name_key", name="uq_priorities_plan_id_name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    # the short key commands accept (`P3`)
    key: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    # lower-cased name: what commands and tracker columns match against
    name_key: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


action_priorities = Table(
    "action_priorities",
    Base.metadata,
    Column("action_id", ForeignKey("actions.id"), primary_key=True),
    Column("priority_id", ForeignKey("priorities.id"), primary_key=True, index=True),
)


class BoardEvent(Base):
    """A board meeting's own history: added, moved, removed, its settings changed, a kept pack
    rewritten after a redaction (with the pack's SHA-256 before and after). Append-only."""

    __tablename__ = "board_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board_meetings.id"))
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    # "added", "moved", "removed", "public", "reporting", "digest hours", "pack #12 rewritten"
    event: Mapped[str] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


class BoardPackSnapshot(Base):
    """A board pack exactly as it was produced: kept so what a board saw can be produced again.
    Append-only, like the history."""

    __tablename__ = "board_pack_snapshots"
    __table_args__ = (Index("ix_board_pack_snapshots_board_at", "board_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    board_id: Mapped[int] = mapped_column(ForeignKey("board_meetings.id"))
    created_at: Mapped[datetime]
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    filename: Mapped[str] = mapped_column(String(200))
    # hex SHA-256 of `content`
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class SeenRequest(Base):
    """A signed request already answered, kept for Slack's 5-minute replay window so a replay
    (or Slack's own retry of an event) is answered as done instead of run again. In the database,
    not in memory, so every replica sees what the others have seen."""

    __tablename__ = "seen_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "sig:" + SHA-256 of the signature, or "event:" + Slack's event_id
    key: Mapped[str] = mapped_column(String(80), unique=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class HighlightReport(Base):
    """A lead's highlight report on one action for a reporting cycle: the structured part of
    the progress update it was recorded with (`update_id`; its RAG, status and note are on the
    update). "No change" is a report too. Append-only, like the history."""

    __tablename__ = "highlight_reports"
    __table_args__ = (Index("ix_highlight_reports_action_at", "action_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id"), unique=True)
    # the reporting board it was asked for, when it was asked for one
    board_id: Mapped[int | None] = mapped_column(ForeignKey("board_meetings.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    no_change: Mapped[bool] = mapped_column(default=False)
    progress: Mapped[str | None] = mapped_column(Text)
    planned: Mapped[str | None] = mapped_column(Text)
    barriers: Mapped[str | None] = mapped_column(Text)
    escalate: Mapped[bool] = mapped_column(default=False)


# --- the audit trail's integrity (bot/store/chain.py) ------------------------------------------


class ChainLink(Base):
    """One history row's link in its plan's hash chain: numbered per plan, committing to the
    row's content under a salt (erased by a redaction), and hashing the link before it."""

    __tablename__ = "chain_links"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq", name="uq_chain_links_plan_id_seq"),
        UniqueConstraint("source_table", "row_id", name="uq_chain_links_source_table_row_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    source_table: Mapped[str] = mapped_column(String(30))
    row_id: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str | None] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PersonMerge(Base):
    """Two people found to be one: rows that named `old_person_id` now name `new_person_id`.
    Plain numbers, not keys: the old person is gone, and a later merge must not rewrite this."""

    __tablename__ = "person_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_person_id: Mapped[int] = mapped_column(Integer)
    new_person_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]


# --- The partnership's pages (bot/web) -------------------------------------------------------


class Publication(Base):
    """The plan's public progress page, frozen when an admin publishes it (`publish`), or its
    withdrawal (`publish off`). Append-only: the latest row decides what `/progress/SLUG`
    shows. `body` holds only public fields (bot/services/publishing.py says which)."""

    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_plan_id_id", "plan_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    withdrawn: Mapped[bool] = mapped_column(default=False)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class YouSaid(Base):
    """ "You said, we did": what families told the partnership and what changed. Removing one
    keeps the row, with who removed it and when."""

    __tablename__ = "you_said"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstreams.id"))
    you_said: Mapped[str] = mapped_column(Text)
    we_did: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    removed_at: Mapped[datetime | None]
    removed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    workstream: Mapped[Workstream] = relationship(lazy="joined")


class PartnerRole(StrEnum):
    VIEWER = "viewer"
    ADVISER = "adviser"


class Partner(Base):
    """Someone who may sign in to a plan's pages without leading an action: a board member, a
    councillor, an adviser, a forum volunteer. The e-mail is stored lower-case; removing one
    keeps the row."""

    __tablename__ = "partners"
    __table_args__ = (Index("ix_partners_email", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[PartnerRole] = mapped_column(words_of(PartnerRole, 10))
    added_at: Mapped[datetime]
    added_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    removed_at: Mapped[datetime | None]
    removed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class SignInLink(Base):
    """An e-mailed sign-in link: only its SHA-256 is kept, so the table opens nothing. Used
    once, within its time."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie's SHA-256, whose it is, and the token its forms carry
    (CSRF). Any replica reads it here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


# --- E-mail (bot/mail) -----------------------------------------------------------------------


class BoardRecipient(Base):
    """Someone who gets a board's pre-board digest and pack by e-mail (`board email ID add`).
    The e-mail is stored lower-case; removing one keeps the row."""

    __tablename__ = "board_recipients"
    __table_args__ = (Index("ix_board_recipients_board_id_email", "board_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    board_id: Mapped[int] = mapped_column(ForeignKey("board_meetings.id"))
    email: Mapped[str] = mapped_column(String(320))
    added_at: Mapped[datetime]
    added_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[Surface] = mapped_column(words_of(Surface, 20))
    removed_at: Mapped[datetime | None]
    removed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class MailUnsubscribe(Base):
    """An address that asked, by its e-mails' one-click link, for no more of one kind of e-mail
    (`board-papers`, `reminders`, `notices`). One row per address and kind: asking again
    changes nothing."""

    __tablename__ = "mail_unsubscribes"
    __table_args__ = (UniqueConstraint("email", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
