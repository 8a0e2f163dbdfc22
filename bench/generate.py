"""Synthetic plans for the benchmarks: any number of actions and updates, shaped like the plans in
the partnerships' papers (eight pillars, refs like 2A.3, 11F, 12A.1, leads across the council,
the ICB, health providers, schools and the parent carer forum).

Rows go in with SQLAlchemy Core bulk inserts into the model tables, after the real migrations
have run (`Runtime.start`): 200,000 updates through the ORM would take minutes, and the schema,
types and constraints are the product's own either way. The invariants the product keeps hold
here too: an action's current RAG, status, last update and last note are those of its latest
update, and every action starts with the `created` row an import writes.

Everything is drawn from one seeded `random.Random`, so a size and a seed give the same plan.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, text

from bot.config import Settings
from bot.domain import Status, Surface, ref_sort_key
from bot.runtime import Runtime
from bot.store.models import (
    Action,
    Answer,
    BoardMeeting,
    FollowUp,
    Identity,
    Measure,
    MeasureActual,
    Person,
    Plan,
    Update,
    Workstream,
    action_leads,
    measure_actions,
    measure_workstreams,
)

PLAN_NAME = "Benchmark Local Area SEND Written Statement of Action"
# The eight pillars of the Torbay WSoA (seeds/), in plan order.
WORKSTREAMS = (
    "Joint Commissioning",
    "SEND Strategy",
    "Culture",
    "Joint Working",
    "Graduated Response",
    "Becoming an Adult",
    "Quality Assurance and Community Engagement",
    "Resilience",
)
ORGANISATIONS = (
    ("Bench Council", "council"),
    ("Bench ICB", "icb"),
    ("Children and Family Health", "cfh"),
    ("SEND Family Voice", "pcf"),
    ("Schools", "schools"),
    ("Public Health", "publichealth"),
)
FIRST_NAMES = (
    "Alison", "Daniel", "Bethan", "Anjali", "Tom", "Fiona", "Joanne", "Dominic", "Ruth", "Gavin",
    "Leah", "Sam", "Nikhil", "Kirsty", "Owen", "Amira", "Lucy", "Hannah", "Matt", "Tina",
)  # fmt: skip
LAST_NAMES = (
    "Whitfield", "Osei", "Lyndon", "Mehta", "Bramley", "Kerr", "Pascoe", "Penrose", "Calloway",
    "Ashdown", "Morrow", "Okonjo", "Varma", "Doyle", "Pritchard", "Haddad", "Fenwick", "Baker",
    "Gifford", "Tozer", "Archer", "Setter",
)  # fmt: skip
VERBS = (
    "Embed", "Review", "Co-produce", "Commission", "Publish", "Reduce waiting times for",
    "Develop", "Audit", "Launch", "Strengthen", "Evaluate", "Train school staff in",
)  # fmt: skip
SUBJECTS = (
    "the graduated response toolkit", "EHCP assessments within 20 weeks",
    "the Local Offer website", "the SALT and OT pathway", "the autism assessment pathway",
    "the joint commissioning strategy", "preparation for adulthood plans",
    "the SEND JSNA", "the parent carer forum's survey", "annual reviews of EHCPs",
    "the inclusion charter", "the DCO's health advice returns",
    "the NEET tracking of CYP with SEND",
    "the SENCo network", "the EP traded offer", "the co-production framework",
)  # fmt: skip
MEASURES = (
    "Percentage of EHCPs issued within 20 weeks rises to {n}%",
    "Parent carer survey: {n}% say they feel listened to",
    "Waiting list over 18 weeks falls below {n}",
    "{n}% of schools audited against the graduated response toolkit",
    "Exclusions of CYP with SEND fall by {n}%",
)
NOTES = (
    "Pilot running in {n} schools; evaluation due next cycle.",
    "{n} EHCP assessments completed this period; timeliness improving.",
    "Recruitment delayed; {n} posts still vacant. Escalated to the board.",
    "Co-production workshop held with the PCF ({n} families attended).",
    "Data pack shared with the SEND Ops group; {n}% within timescale.",
    "Draft reviewed by DfE and NHSE advisers; {n} comments addressed.",
    "Training delivered to {n} SENCos; feedback positive.",
    "Commissioning decision deferred to the next board; {n} options costed.",
)
QUESTIONS = (
    "How many are over 30 week wait?",
    "Have the red-rated areas been escalated at board level?",
    "What evidence shows impact on children and young people and families?",
    "How many schools have adopted the toolkit so far?",
    "What is the timeliness of EHCPs issued in the last quarter?",
)
BOARD_NAMES = (
    "SEND Improvement Board",
    "SEND Operational Leads (6-weekly)",
    "Children's Overview and Scrutiny Board",
    "Health and Wellbeing Board",
    "SEND Strategic Board",
    "SEND Improvement Board",
)

# Who the runner acts as: a programme manager (in WSOA_ADMINS) and a lead of the actions it
# shows, updates and reads the history of. The adviser raises follow-up questions.
ADMIN_USER = "U0BENCHPM"
LEAD_USER = "U0B00001"
ADVISER_USER = "U0BADVISER"
BOARD_CHANNEL = "C0BBOARD"

STALE_DAYS = 42  # the product's default (WSOA_STALE_DAYS): one 6-weekly cycle
# Meetings start this many days ahead and then every 6 weeks, so nothing the scheduler would
# deliver (pre-board digests up to 14 days before, reminders 5 days before) falls due mid-run.
FIRST_BOARD_IN_DAYS = 20
BOARD_EVERY_DAYS = 42
BATCH_ROWS = 5_000
TIMEZONE = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class GeneratedPlan:
    actions: int
    updates: int
    people: int
    followups: int
    answers: int
    boards: int
    measures: int
    figures: int
    lead_user: str
    admin_user: str
    # open actions LEAD_USER leads: what the runner shows, updates and reads the history of
    lead_refs: tuple[str, ...]
    seconds: float


@dataclass
class _Action:
    id: int
    ref: str
    workstream_id: int
    lead_ids: list[int]
    created_at: datetime
    rag: str | None = None
    status: str = Status.NOT_STARTED.value
    last_update_at: datetime | None = None
    last_note: str | None = None


def generate(
    url: str, actions: int, updates: int, seed: int = 1, now: datetime | None = None
) -> GeneratedPlan:
    """Create a plan of `actions` actions and `updates` update rows in the empty database at
    `url` (migrated here). `now` anchors every date (default: the real time), so that overdue,
    due-soon and stale actions exist whenever it runs."""
    if actions < 1 or updates < actions:
        raise ValueError("need at least one action, and one update (its `created` row) for each")
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=url))
    try:
        with runtime.engine.begin() as conn:
            if conn.scalar(select(func.count()).select_from(Plan)):
                where = _without_password(url)
                raise ValueError(f"{where} already holds a plan; give an empty database")
            counts = _load(conn, rng, now, actions, updates)
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
        if runtime.engine.dialect.name == "postgresql":
            # A fresh bulk load has no planner statistics until autovacuum gets to it; a
            # production database would have them, so the benchmark gathers them up front.
            # (SQLite databases are never ANALYZEd in practice, so neither is this one.)
            with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
    finally:
        runtime.close()
    return GeneratedPlan(**counts, seconds=time.perf_counter() - started)


def _without_password(url: str) -> str:
    # The URL goes into an error message, which may end up in a log.
    return url.split("@")[-1]


def _load(
    conn: Connection, rng: random.Random, now: datetime, n_actions: int, n_updates: int
) -> dict[str, Any]:
    today = now.astimezone(TIMEZONE).date()
    plan_started = now - timedelta(days=3 * 365)
    conn.execute(
        insert(Plan),
        [{"id": 1, "slug": "bench", "name": PLAN_NAME, "created_at": plan_started}],
    )
    conn.execute(
        insert(Workstream),
        [
            {"id": i + 1, "plan_id": 1, "name": name, "key": name.lower(), "position": i}
            for i, name in enumerate(WORKSTREAMS)
        ],
    )

    # About 25 actions a lead (a head of service leads a few dozen); the lead user is person 1,
    # the programme manager the last.
    n_people = max(12, n_actions // 25)
    people = [_person(i, rng) for i in range(1, n_people + 1)]
    admin_id = n_people + 1
    people.append(
        {
            "id": admin_id,
            "slack": ADMIN_USER,
            "email": "programme.manager@council.example",
            "name": "Programme Manager",
            "organisation": "Bench Council",
        }
    )
    slack_of = {p["id"]: p.pop("slack") for p in people}
    conn.execute(insert(Person), people)
    conn.execute(
        insert(Identity),
        [
            {"id": pid, "person_id": pid, "platform": "slack", "workspace": "", "external_id": uid}
            for pid, uid in slack_of.items()
        ],
    )

    plan_actions = _actions(rng, n_actions, n_people, plan_started)
    per_action = _update_counts(rng, n_actions, n_updates)
    update_rows = _UpdateRows(conn)
    for action, count in zip(plan_actions, per_action, strict=True):
        _history(rng, action, count, now, admin_id, update_rows)
    lead_refs = tuple(
        a.ref
        for a in plan_actions
        if a.lead_ids[0] == 1 and a.status in (Status.IN_PROGRESS.value, Status.NOT_STARTED.value)
    )

    # Actions first (updates refer to them), then their leads; the update rows were only
    # collected so far, and go in afterwards in batches.
    action_rows = [_action_row(rng, a, today) for a in plan_actions]
    for batch in _batches(action_rows):
        conn.execute(insert(Action), batch)
    lead_rows = [{"action_id": a.id, "person_id": p} for a in plan_actions for p in a.lead_ids]
    for batch in _batches(lead_rows):
        conn.execute(insert(action_leads), batch)
    update_rows.flush_all()

    followups, answers = _followups(rng, plan_actions, now, admin_id)
    if followups:
        conn.execute(insert(FollowUp), followups)
    if answers:
        conn.execute(insert(Answer), answers)
    boards = _boards(today, now)
    conn.execute(insert(BoardMeeting), boards)
    measures, figures = _measures(conn, rng, today, now, plan_actions, n_people)
    return {
        "actions": n_actions,
        "updates": update_rows.count,
        "people": len(people),
        "followups": len(followups),
        "answers": len(answers),
        "boards": len(boards),
        "measures": measures,
        "figures": figures,
        "lead_user": LEAD_USER,
        "admin_user": ADMIN_USER,
        "lead_refs": lead_refs,
    }


def _person(i: int, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    organisation, domain = ORGANISATIONS[i % len(ORGANISATIONS)]
    return {
        "id": i,
        "slack": LEAD_USER if i == 1 else f"U0B{i:05d}",
        "email": f"{first.lower()}.{last.lower()}.{i}@{domain}.example",
        "name": f"{first} {last}",
        "organisation": organisation,
    }


def plan_refs(rng: random.Random, n_actions: int) -> list[list[str]]:
    """Refs per workstream, in plan order: numbered areas with lettered actions, some split into
    sub-actions (2A.1, 2A.2, 2B, 2C, 3A.1 …), each area wholly inside one workstream."""
    out: list[list[str]] = []
    number = 1
    for w in range(len(WORKSTREAMS)):
        target = n_actions * (w + 1) // len(WORKSTREAMS) - n_actions * w // len(WORKSTREAMS)
        refs: list[str] = []
        while len(refs) < target:
            for letter in "ABCDEFGH"[: rng.randint(2, 8)]:
                if rng.random() < 0.45:
                    refs.append(f"{number}{letter}")
                else:
                    refs += [f"{number}{letter}.{k}" for k in range(1, rng.randint(3, 5))]
            number += 1
        out.append(refs[:target])
    return out


def _actions(
    rng: random.Random, n_actions: int, n_people: int, plan_started: datetime
) -> list[_Action]:
    found: list[_Action] = []
    for w, refs in enumerate(plan_refs(rng, n_actions)):
        for ref in refs:
            i = len(found)
            # Round-robin primary leads spread each lead's actions across the pillars; a fifth
            # of actions have a second lead, often in another organisation.
            leads = [i % n_people + 1]
            if rng.random() < 0.2:
                other = rng.randint(2, n_people)
                if other != leads[0]:
                    leads.append(other)
            created = plan_started + timedelta(days=rng.uniform(0, 60))
            found.append(_Action(i + 1, ref, w + 1, leads, created))
    return found


def _update_counts(rng: random.Random, n_actions: int, n_updates: int) -> list[int]:
    """How many update rows each action has: its `created` row, one progress update where the
    total allows, and the rest spread at random (some actions are reported on far more often)."""
    counts = [1] * n_actions
    spare = n_updates - n_actions
    for i in range(min(spare, n_actions)):
        counts[i] += 1
    spare -= min(spare, n_actions)
    for i in rng.choices(range(n_actions), k=spare):
        counts[i] += 1
    return counts


class _UpdateRows:
    """Update rows, numbered as they are made and inserted in batches once the actions exist."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, **row: Any) -> None:
        row.setdefault("plan_id", 1)
        self.count += 1
        self.rows.append({"id": self.count, **row})

    def flush_all(self) -> None:
        for batch in _batches(self.rows):
            self.conn.execute(insert(Update), batch)
        self.rows = []


def _history(
    rng: random.Random,
    action: _Action,
    count: int,
    now: datetime,
    admin_id: int,
    rows: _UpdateRows,
) -> None:
    """The action's `created` row and `count - 1` progress updates, oldest first; the action
    ends in the state of the latest."""
    initial_rag = rng.choice((None, None, "red", "amber"))
    rows.add(
        action_id=action.id,
        at=action.created_at,
        person_id=None,
        source=Surface.IMPORT,
        kind="created",
        rag_from=None,
        rag_to=initial_rag,
        status_from=None,
        status_to=Status.NOT_STARTED.value,
        note="Imported from the Written Statement of Action",
    )
    action.rag = initial_rag
    progress = count - 1
    if not progress:
        return
    final_status = rng.choices([s.value for s in Status], weights=(4, 66, 12, 12, 6), k=1)[0]
    is_open = final_status in (Status.NOT_STARTED.value, Status.IN_PROGRESS.value)
    if final_status in (Status.SIGNED_OFF.value, Status.COMPLETE.value):
        final_rag: str | None = "green"
    elif final_status == Status.NOT_STARTED.value:
        final_rag = rng.choice((None, "red", "amber"))
    else:
        final_rag = rng.choices(("red", "amber", "green"), weights=(22, 38, 40), k=1)[0]
    # About one open action in six has had no update for a full cycle: stale.
    if is_open and rng.random() < 0.17:
        last = now - timedelta(days=rng.uniform(STALE_DAYS + 1, 200))
    elif is_open:
        last = now - timedelta(days=rng.uniform(0.02, STALE_DAYS - 1))
    else:
        last = now - timedelta(days=rng.uniform(1, 400))
    first = action.created_at + timedelta(days=1)
    last = max(last, first + timedelta(minutes=progress))
    span = (last - first).total_seconds()
    moments = sorted(first + timedelta(seconds=rng.uniform(0, span)) for _ in range(progress - 1))
    moments.append(last)
    interim_status = (
        Status.NOT_STARTED.value if final_status == Status.NOT_STARTED.value else "in progress"
    )
    for k, at in enumerate(moments):
        final = k == len(moments) - 1
        if final:
            rag, status = final_rag, final_status
        else:
            status = interim_status
            rag = action.rag
            if final_rag is not None and (rag is None or rng.random() < 0.35):
                rag = rng.choice(("red", "amber", "green"))
        by_admin = rng.random() < 0.15
        person_id = admin_id if by_admin else action.lead_ids[0]
        note = rng.choice(NOTES).format(n=rng.randint(2, 95))
        rows.add(
            action_id=action.id,
            at=at,
            person_id=person_id,
            source=Surface.SLACK,
            kind="signoff" if final and status == Status.SIGNED_OFF.value else "update",
            rag_from=action.rag,
            rag_to=rag,
            status_from=action.status,
            status_to=status,
            note=note,
        )
        action.rag, action.status = rag, status
        action.last_update_at, action.last_note = at, note


def _action_row(rng: random.Random, action: _Action, today: date) -> dict[str, Any]:
    # Due dates from half a year ago to a year and a half ahead: open actions due in the past
    # are overdue, a few fall in the next fortnight; some plans write "Ongoing".
    ongoing = rng.random() < 0.08
    due = None if ongoing else today + timedelta(days=rng.randint(-180, 540))
    return {
        "id": action.id,
        "plan_id": 1,
        "workstream_id": action.workstream_id,
        "ref": action.ref,
        "sort_key": ref_sort_key(action.ref),
        "title": f"{rng.choice(VERBS)} {rng.choice(SUBJECTS)}",
        "measure": rng.choice(MEASURES).format(n=rng.randint(5, 95)),
        "due": due,
        "due_text": "Ongoing" if ongoing else None,
        "rag": action.rag,
        "status": action.status,
        "created_at": action.created_at,
        "last_update_at": action.last_update_at,
        "last_note": action.last_note,
    }


def _followups(
    rng: random.Random, actions: Sequence[_Action], now: datetime, admin_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """About one follow-up per ten actions, mostly about an action, some about a pillar; about
    half answered, and some of those closed."""
    followups: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for i in range(1, max(1, len(actions) // 10) + 1):
        about = rng.choice(actions)
        on_workstream = rng.random() < 0.2
        raised = now - timedelta(days=rng.uniform(2, 150))
        row: dict[str, Any] = {
            "id": i,
            "plan_id": 1,
            "action_id": None if on_workstream else about.id,
            "workstream_id": about.workstream_id if on_workstream else None,
            "question": rng.choice(QUESTIONS),
            "raised_at": raised,
            "source": "slack",
            "closed_at": None,
            "closed_by_person_id": None,
        }
        at = raised
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            at += (now - at) * rng.uniform(0.1, 0.5)
            answers.append(
                {
                    "id": len(answers) + 1,
                    "followup_id": i,
                    "at": at,
                    "person_id": about.lead_ids[0],
                    "source": "slack",
                    "text": rng.choice(NOTES).format(n=rng.randint(2, 95)),
                }
            )
            if rng.random() < 0.3:
                row["closed_at"] = at + (now - at) * rng.uniform(0.1, 0.5)
                row["closed_by_person_id"] = admin_id
                break
        followups.append(row)
    return followups, answers


def _boards(today: date, now: datetime) -> list[dict[str, Any]]:
    boards = []
    for i, name in enumerate(BOARD_NAMES):
        day = today + timedelta(days=FIRST_BOARD_IN_DAYS + BOARD_EVERY_DAYS * i)
        starts = datetime.combine(day, clock_time(14, 0), tzinfo=TIMEZONE).astimezone(UTC)
        boards.append(
            {
                "id": i + 1,
                "plan_id": 1,
                "name": name,
                "starts_at": starts,
                "channel_id": BOARD_CHANNEL,
                "digest_hours_before": 48,
                "source": "slack",
                "created_at": now - timedelta(days=30),
                "removed_at": None,
            }
        )
    return boards


# (name, unit, better, baseline, target): aggregate measures of the kind WSoA plans report
MEASURE_KINDS = (
    ("% of EHCPs issued within 20 weeks, excluding exceptions", "%", "higher", 38.0, 65.0),
    ("Tribunal appeals as a % of appealable decisions", "%", "lower", 4.2, 2.5),
    ("Attendance of pupils with an EHCP", "%", "higher", 86.0, 89.5),
    ("Average weeks waiting for a SALT assessment", "weeks", "lower", 26.0, 18.0),
    ("Suspensions of pupils with an EHCP", "number", "lower", 120.0, 90.0),
    ("Days from request to first EP assessment", "days", "lower", 60.0, 30.0),
)
MEASURE_MONTHS = 10  # figures for the months before the current one
# A partnership's scorecard: a few measures per area of weakness, a large one's some dozens.
# Measures do not grow with the actions as follow-ups do: a 10,000-action plan has sixty.
MAX_MEASURES = 60


def _month(today: date, back: int) -> date:
    index = today.year * 12 + today.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _measures(
    conn: Connection,
    rng: random.Random,
    today: date,
    now: datetime,
    plan_actions: Sequence[_Action],
    n_people: int,
) -> tuple[int, int]:
    """One measure for every 50 actions (at least four, at most MAX_MEASURES), each evidencing
    a workstream and two actions, with a figure a month for the last MEASURE_MONTHS months:
    some on trajectory, some off. A corrected figure now and then, as owners make."""
    n_measures = min(MAX_MEASURES, max(4, len(plan_actions) // 50))
    rows, by_workstream, by_action, actuals = [], [], [], []
    for number in range(1, n_measures + 1):
        name, unit, better, baseline, target = MEASURE_KINDS[(number - 1) % len(MEASURE_KINDS)]
        owner = rng.randint(1, n_people)
        rows.append(
            {
                "id": number,
                "plan_id": 1,
                "short_id": f"K{number}",
                "number": number,
                "name": f"{name} ({number})",
                "key": f"{name} ({number})".lower(),
                "definition": None,
                "unit": unit,
                "better": better,
                "baseline_value": baseline,
                "baseline_date": _month(today, MEASURE_MONTHS + 1) - timedelta(days=1),
                "target_value": target,
                "target_date": _month(today, -12) - timedelta(days=1),
                "trajectory": [],
                "source": "Benchmark data",
                "frequency": "monthly",
                "owner_id": owner,
                "created_at": now - timedelta(days=365),
            }
        )
        by_workstream.append(
            {"measure_id": number, "workstream_id": (number - 1) % len(WORKSTREAMS) + 1}
        )
        for action in rng.sample(list(plan_actions), 2):
            by_action.append({"measure_id": number, "action_id": action.id})
        step = (target - baseline) / (MEASURE_MONTHS + 12)
        for back in range(MEASURE_MONTHS, 0, -1):
            period = _month(today, back)
            expected = baseline + step * (MEASURE_MONTHS + 1 - back)
            value = round(expected + rng.uniform(-2, 2) * abs(step) * 2, 1)
            if unit == "%":
                value = min(100.0, max(0.0, value))
            for attempt in range(2 if rng.random() < 0.05 else 1):
                recorded = now - timedelta(days=30 * back - 10 - attempt)
                actuals.append(
                    {
                        "measure_id": number,
                        "period": period,
                        "value": value + attempt,
                        "recorded_at": recorded,
                        "person_id": owner,
                        "source": "slack",
                        "note": "Corrected after validation" if attempt else None,
                    }
                )
    conn.execute(insert(Measure), rows)
    conn.execute(insert(measure_workstreams), by_workstream)
    conn.execute(insert(measure_actions), by_action)
    for batch in _batches(actuals):
        conn.execute(insert(MeasureActual), batch)
    return n_measures, len(actuals)


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start : start + BATCH_ROWS]


def _reset_sequences(conn: Connection) -> None:
    """Ids were given explicitly; move each PostgreSQL sequence past them, or the bot's first
    insert would collide with a generated row."""
    for model in (
        Plan,
        Workstream,
        Person,
        Identity,
        Action,
        Update,
        FollowUp,
        Answer,
        BoardMeeting,
        Measure,
        MeasureActual,
    ):
        name = model.__tablename__
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )
