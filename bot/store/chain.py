"""The history proves itself: every history row of a plan is a link in a hash chain.

What is chained: an action's update (sign-offs, redactions and edits included), the highlight
report kept beside it, a measure's change or figure, a follow-up's answer and an answer's
redaction. Each row gets a link (`chain_links`), per plan, numbered 1, 2, 3…:

- `commitment` = HMAC-SHA256 of the row's content (its columns, as stored, in a canonical
  JSON form) under a random 32-byte `salt` kept on the link: short texts ("46", "yes") cannot
  be guessed back from the commitment alone.
- `hash` = SHA-256 over the previous link's hash, the link's number, the row's table and id,
  and the commitment.

Links are written when the transaction that wrote the rows commits (a session event, so no
writer can leave one out), under a lock on the plan's row, so two transactions' links never
interleave and never fork. A redaction erases the text and the link's salt but keeps the
commitment, so the chain still verifies; the redacted row's content cannot be checked any more,
which is the point. Merging two people moves their rows to one person: a `person_merges` row
records it, and a row's commitment is checked against its person before the merge too.

`verify` checks a plan's whole chain and names the first link whose row was changed, removed or
whose hash does not follow, and any row that has no link (inserted behind the bot's back). What
it cannot prove: an administrator who rewrites every row and link after the last head the board
saw. The board pack and the digests print the head's first 12 characters, so the board's own
papers witness it: a rewritten chain no longer reaches the head they printed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.domain import UpdateKind
from bot.store.models import (
    Answer,
    AnswerRedaction,
    Base,
    ChainLink,
    FollowUp,
    HighlightReport,
    Measure,
    MeasureActual,
    MeasureEdit,
    PersonMerge,
    Plan,
    Update,
)

GENESIS = "0" * 64
SHORT = 12  # the head as papers print it
_PENDING = "wsoa_chain_pending"

# The chained tables, in the order a transaction's new rows are linked, with the columns whose
# values are committed to (the id and the plan are the link's own).
CONTENT: dict[str, tuple[str, ...]] = {
    "updates": (
        "action_id",
        "at",
        "person_id",
        "source",
        "kind",
        "rag_from",
        "rag_to",
        "status_from",
        "status_to",
        "note",
        "changes",
    ),
    "highlight_reports": (
        "action_id",
        "update_id",
        "board_id",
        "at",
        "person_id",
        "no_change",
        "progress",
        "planned",
        "barriers",
        "escalate",
    ),
    "measure_edits": ("measure_id", "at", "person_id", "source", "field", "old", "new"),
    "measure_actuals": (
        "measure_id",
        "period",
        "value",
        "recorded_at",
        "person_id",
        "source",
        "note",
    ),
    "answers": ("followup_id", "at", "person_id", "source", "text"),
    "answer_redactions": ("answer_id", "label", "at", "person_id", "source", "reason"),
}
_MODELS: dict[str, type[Base]] = {
    "updates": Update,
    "highlight_reports": HighlightReport,
    "measure_edits": MeasureEdit,
    "measure_actuals": MeasureActual,
    "answers": Answer,
    "answer_redactions": AnswerRedaction,
}
_TABLE_OF = {model: name for name, model in _MODELS.items()}


def _table(name: str) -> Table:
    table = _MODELS[name].__table__
    assert isinstance(table, Table)
    return table


# --- the arithmetic -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return repr(value)
    return value


def canonical(table: str, row: Any) -> bytes:
    """The row's committed content: its content columns as stored, in a canonical JSON form."""
    content = {name: _plain(row[name]) for name in CONTENT[table]}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def commitment(salt: str, content: bytes) -> str:
    return hmac.new(bytes.fromhex(salt), content, hashlib.sha256).hexdigest()


def link_hash(previous: str, seq: int, table: str, row_id: int, committed: str) -> str:
    text = f"{previous}|{seq}|{table}|{row_id}|{committed}"
    return hashlib.sha256(text.encode()).hexdigest()


def new_salt() -> str:
    return os.urandom(32).hex()


# --- writing ------------------------------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _note_new_rows(session: Session, _context: Any) -> None:
    """Every chained row this flush inserted, to be linked when the transaction commits (a row
    may still change before then: a redaction row gets its target after it is written)."""
    pending: list[tuple[str, int]] = session.info.setdefault(_PENDING, [])
    for instance in session.new:
        table = _TABLE_OF.get(type(instance))
        if table is not None:
            pending.append((table, instance.id))


@event.listens_for(Session, "before_commit")
def _link_new_rows(session: Session) -> None:
    session.flush()
    pending: list[tuple[str, int]] = session.info.pop(_PENDING, [])
    if pending:
        append(session.connection(), pending)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def append(connection: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Links `rows` (table, id), in order, to the end of their plans' chains, each plan's under
    a lock on its row."""
    by_plan: dict[int, list[tuple[str, int, bytes]]] = {}
    for table, ids in _grouped(rows):
        for plan_id, row in _content_rows(connection, table, ids):
            by_plan.setdefault(plan_id, []).append((table, row["id"], canonical(table, row)))
    order = {key: n for n, key in enumerate(rows)}
    for plan_id in sorted(by_plan):  # plans in one order, so two writers never deadlock
        _lock_plan(connection, plan_id)
        last = connection.execute(
            select(ChainLink.seq, ChainLink.hash)
            .where(ChainLink.plan_id == plan_id)
            .order_by(ChainLink.seq.desc())
            .limit(1)
        ).first()
        seq, previous = (last.seq, last.hash) if last else (0, GENESIS)
        links = []
        for table, row_id, content in sorted(
            by_plan[plan_id], key=lambda item: order[(item[0], item[1])]
        ):
            seq += 1
            salt = new_salt()
            committed = commitment(salt, content)
            previous = link_hash(previous, seq, table, row_id, committed)
            links.append(
                {
                    "plan_id": plan_id,
                    "seq": seq,
                    "source_table": table,
                    "row_id": row_id,
                    "salt": salt,
                    "commitment": committed,
                    "hash": previous,
                }
            )
        connection.execute(insert(ChainLink), links)


def _grouped(rows: Sequence[tuple[str, int]]) -> Iterator[tuple[str, list[int]]]:
    by_table: dict[str, list[int]] = {}
    for table, row_id in rows:
        by_table.setdefault(table, []).append(row_id)
    for table in CONTENT:
        if table in by_table:
            yield table, by_table[table]


def _plan_column(table: str) -> Any:
    """The expression that gives a chained row's plan, and the join it needs."""
    if table in ("measure_edits", "measure_actuals"):
        return Measure.plan_id
    if table == "answers":
        return FollowUp.plan_id
    return _table(table).c.plan_id


def _content_rows(
    connection: Connection, table: str, ids: Sequence[int] | None, plan_id: int | None = None
) -> Iterator[tuple[int, Any]]:
    """(plan id, row) for the rows of `table` with `ids` (or every row of `plan_id`)."""
    source = _table(table)
    plan = _plan_column(table)
    # only the committed columns: the chain's format names them, whatever else the table holds
    columns = [source.c.id, *(source.c[name] for name in CONTENT[table])]
    statement = select(plan.label("chain_plan_id"), *columns).select_from(source)
    if table in ("measure_edits", "measure_actuals"):
        statement = statement.join(Measure, Measure.id == source.c.measure_id)
    elif table == "answers":
        statement = statement.join(FollowUp, FollowUp.id == source.c.followup_id)
    if ids is not None:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in connection.execute(statement.where(source.c.id.in_(chunk))).mappings():
                yield row["chain_plan_id"], row
        return
    for row in connection.execute(statement.where(plan == plan_id)).mappings():
        yield row["chain_plan_id"], row


def _lock_plan(connection: Connection, plan_id: int) -> None:
    if connection.dialect.name == "sqlite":
        # SQLite has one write lock, which a transaction that wrote rows already holds
        return
    # FOR NO KEY UPDATE: it queues writers of this plan's chain behind each other, and not
    # behind the key-share locks their own inserts took on the plan's row (that would deadlock)
    connection.execute(select(Plan.id).where(Plan.id == plan_id).with_for_update(key_share=True))


def erase_salt(session: Session, table: str, row_id: int) -> None:
    """A redaction: the row's content is gone, and so is the salt that could check it; the
    commitment stays, so the chain still verifies."""
    session.flush()
    session.execute(
        update(ChainLink)
        .where(ChainLink.source_table == table, ChainLink.row_id == row_id)
        .values(salt=None)
    )


def record_merge(session: Session, old_id: int, new_id: int, at: datetime) -> None:
    """Two people were found to be one: rows that named `old_id` now name `new_id`."""
    session.add(PersonMerge(old_person_id=old_id, new_person_id=new_id, at=at))


# --- reading ------------------------------------------------------------------------------


def head(session: Session, plan_id: int) -> str | None:
    """The hash of the plan's last link, or None while it has none."""
    return session.scalar(
        select(ChainLink.hash)
        .where(ChainLink.plan_id == plan_id)
        .order_by(ChainLink.seq.desc())
        .limit(1)
    )


def short_head(session: Session, plan_id: int) -> str:
    found = head(session, plan_id)
    return found[:SHORT] if found else "none yet"


@dataclass
class Verdict:
    links: int = 0
    head: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, plan_id: int) -> Verdict:
    """Every link of the plan's chain checked in order against its row; then every chained row
    of the plan checked to have a link. The first broken link is named, and every row without
    one."""
    connection = session.connection()
    verdict = Verdict()
    rows: dict[tuple[str, int], Any] = {}
    try:
        for table in CONTENT:
            for _, row in _content_rows(connection, table, None, plan_id):
                rows[(table, row["id"])] = row
    except (LookupError, ValueError, TypeError) as error:
        # a value the bot never writes (a source or kind no surface has, a broken date)
        verdict.problems.append(
            f"the history holds a value the bot never writes, put there behind its back: {error}"
        )
        return verdict
    merged = _merged_into(connection)
    redacted = _redacted(connection, plan_id)
    previous = GENESIS
    linked: set[tuple[str, int]] = set()
    for link in connection.execute(
        select(ChainLink).where(ChainLink.plan_id == plan_id).order_by(ChainLink.seq)
    ).mappings():
        verdict.links += 1
        where = f"link {link['seq']} ({_named(link['source_table'], link['row_id'])})"
        if link["seq"] != verdict.links:
            verdict.problems.append(
                f"link {verdict.links} is missing: the chain jumps to link {link['seq']}"
            )
            return verdict
        key = (link["source_table"], link["row_id"])
        linked.add(key)
        row = rows.get(key)
        if row is None:
            verdict.problems.append(f"{where}: its row was removed")
            return verdict
        if link["salt"] is None and key not in redacted:
            # only a redaction erases a salt: anything else is a row made uncheckable
            verdict.problems.append(f"{where}: its salt was erased, but no redaction says so")
            return verdict
        if link["salt"] is not None and not _commits(link, row, merged):
            verdict.problems.append(f"{where}: its row was changed after it was written")
            return verdict
        expected = link_hash(
            previous, link["seq"], link["source_table"], link["row_id"], link["commitment"]
        )
        if expected != link["hash"]:
            verdict.problems.append(f"{where}: its hash does not follow from the link before")
            return verdict
        previous = link["hash"]
    verdict.head = previous if verdict.links else None
    unlinked = sorted(set(rows) - linked, key=lambda key: (list(CONTENT).index(key[0]), key[1]))
    verdict.problems += [
        f"{_named(*key)} has no link: it was inserted behind the bot's back"
        for key in unlinked[:20]
    ]
    if len(unlinked) > 20:
        verdict.problems.append(f"…and {len(unlinked) - 20} more rows with no link")
    return verdict


def _redacted(connection: Connection, plan_id: int) -> set[tuple[str, int]]:
    """The rows a redaction emptied (bot/services/redaction.py): updates named by a redaction
    row, the highlight reports kept beside them, and answers with a redaction record."""
    updates: set[int] = set()
    for (changes,) in connection.execute(
        select(Update.changes).where(Update.plan_id == plan_id, Update.kind == UpdateKind.REDACTION)
    ):
        for change in changes or []:
            target = str(change.get("new") or "")
            if change.get("field") == "redacted" and target.isdigit():
                updates.add(int(target))
    found = {("updates", row_id) for row_id in updates}
    if updates:
        found |= {
            ("highlight_reports", report_id)
            for (report_id,) in connection.execute(
                select(HighlightReport.id).where(HighlightReport.update_id.in_(updates))
            )
        }
    found |= {
        ("answers", answer_id)
        for (answer_id,) in connection.execute(
            select(AnswerRedaction.answer_id).where(AnswerRedaction.plan_id == plan_id)
        )
    }
    return found


def _commits(link: Any, row: Any, merged: dict[int, set[int]]) -> bool:
    """The row's content matches the link's commitment, its person taken as now or as any
    person merged into them since."""
    table = link["source_table"]
    if commitment(link["salt"], canonical(table, row)) == link["commitment"]:
        return True
    person = row.get("person_id")
    for earlier in merged.get(person, set()) if person is not None else set():
        as_written = dict(row) | {"person_id": earlier}
        if commitment(link["salt"], canonical(table, as_written)) == link["commitment"]:
            return True
    return False


def _merged_into(connection: Connection) -> dict[int, set[int]]:
    """Each person, and everyone merged into them (directly or through a chain of merges)."""
    into: dict[int, int] = {
        old: new
        for old, new in connection.execute(
            select(PersonMerge.old_person_id, PersonMerge.new_person_id).order_by(PersonMerge.id)
        )
    }
    found: dict[int, set[int]] = {}
    for old in into:
        target = old
        seen = set()
        while target in into and target not in seen:
            seen.add(target)
            target = into[target]
        found.setdefault(target, set()).add(old)
    return found


def _named(table: str, row_id: int) -> str:
    what = {
        "updates": "update",
        "highlight_reports": "highlight report",
        "measure_edits": "measure change",
        "measure_actuals": "figure",
        "answers": "follow-up answer",
        "answer_redactions": "answer redaction",
    }[table]
    return f"{what} #{row_id}"
