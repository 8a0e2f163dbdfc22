"""Frozen board packs: the bytes a board was given, with who made them, when, and their SHA-256,
so what a board saw can be produced again exactly. Rows are only ever added; a redacted
update note or follow-up answer is the one thing taken out of them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from bot.domain import Surface
from bot.services.history import Author
from bot.store.models import BoardMeeting, BoardPackSnapshot


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(
    session: Session,
    board: BoardMeeting,
    data: bytes,
    *,
    filename: str,
    by: Author,
    at: datetime,
) -> BoardPackSnapshot:
    snapshot = BoardPackSnapshot(
        plan_id=board.plan_id,
        board_id=board.id,
        created_at=at,
        created_by_person_id=by.person_id,
        source=by.source,
        filename=filename,
        sha256=sha256(data),
        size=len(data),
        content=data,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def scrub_answer(
    session: Session, plan_id: int, followup_label: str, text: str, by: Author, at: datetime
) -> list[int]:
    """Takes a redacted answer's text out of every pack kept for the plan that shows it.
    Returns the changed packs' ids."""
    from bot.boardpack.document import without_answer  # python-docx, only when needed

    def scrubbed(content: bytes) -> bytes | None:
        return without_answer(content, followup_label, text)

    return _scrub(session, plan_id, scrubbed, by, at)


def scrub_note(
    session: Session, plan_id: int, ref: str, texts: Sequence[str], by: Author, at: datetime
) -> list[int]:
    """Takes a redacted update's texts (its note, its highlight report's) out of every pack
    kept for the plan that shows them in a row about `ref`. Returns the changed packs' ids."""
    from bot.boardpack.document import without_note  # python-docx, only when needed

    def scrubbed(content: bytes) -> bytes | None:
        return without_note(content, ref, texts)

    return _scrub(session, plan_id, scrubbed, by, at)


def _scrub(
    session: Session,
    plan_id: int,
    scrubbed: Callable[[bytes], bytes | None],
    by: Author,
    at: datetime,
) -> list[int]:
    """Rewrites every pack kept for the plan that `scrubbed` changes: the one exception to
    "only ever added", as for history. Their SHA-256 and size become those of the bytes now
    kept, and the board's history records both (`board pack #12 rewritten`, SHA-256 before
    and after)."""
    from bot.services.boards import record_event

    changed: list[int] = []
    for snapshot in session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(BoardPackSnapshot.plan_id == plan_id)
        .order_by(BoardPackSnapshot.id)
    ):
        content = scrubbed(snapshot.content)
        if content is not None:
            record_event(
                session,
                session.get_one(BoardMeeting, snapshot.board_id),
                by,
                at,
                f"pack #{snapshot.id} rewritten",
                snapshot.sha256,
                sha256(content),
            )
            snapshot.content = content
            snapshot.sha256 = sha256(content)
            snapshot.size = len(content)
            changed.append(snapshot.id)
    return changed


def latest(session: Session, board_id: int) -> BoardPackSnapshot | None:
    """The last pack made for a board: what it saw."""
    return session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(BoardPackSnapshot.board_id == board_id)
        .order_by(BoardPackSnapshot.created_at.desc(), BoardPackSnapshot.id.desc())
        .limit(1)
    ).first()


def made_by_at(
    session: Session, board_id: int, source: Surface, at: datetime
) -> BoardPackSnapshot | None:
    """The pack `source` made for a board at `at` (the scheduler, for one tick's digests)."""
    return session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(
            BoardPackSnapshot.board_id == board_id,
            BoardPackSnapshot.created_at == at,
            BoardPackSnapshot.source == source,
        )
        .order_by(BoardPackSnapshot.id.desc())
        .limit(1)
    ).first()


def get(session: Session, snapshot_id: int) -> BoardPackSnapshot | None:
    return session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(BoardPackSnapshot.id == snapshot_id)
    ).first()


def kept(session: Session, plan_id: int) -> list[tuple[BoardPackSnapshot, str]]:
    """Every pack kept for the plan's boards, newest first, with its board's name; without
    their contents."""
    return [
        (snapshot, name)
        for snapshot, name in session.execute(
            select(BoardPackSnapshot, BoardMeeting.name)
            .join(BoardMeeting, BoardMeeting.id == BoardPackSnapshot.board_id)
            .where(BoardPackSnapshot.plan_id == plan_id)
            .order_by(BoardPackSnapshot.created_at.desc(), BoardPackSnapshot.id.desc())
        ).all()
    ]
