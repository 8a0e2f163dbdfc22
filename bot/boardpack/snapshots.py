"""Frozen board packs: the bytes a board was given, with who made them, when, and their SHA-256,
so what a board saw can be produced again exactly. Rows are only ever added; a redacted
follow-up answer is the one thing taken out of them."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from bot.store.models import BoardMeeting, BoardPackSnapshot


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(
    session: Session,
    board: BoardMeeting,
    data: bytes,
    *,
    filename: str,
    by: str,
    at: datetime,
) -> BoardPackSnapshot:
    snapshot = BoardPackSnapshot(
        plan_id=board.plan_id,
        board_id=board.id,
        created_at=at,
        created_by=by,
        filename=filename,
        sha256=sha256(data),
        size=len(data),
        content=data,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def scrub_answer(session: Session, plan_id: int, followup_label: str, text: str) -> list[int]:
    """Takes a redacted answer's text out of every pack kept for the plan that shows it: the
    one exception to "only ever added", as for history. Returns the changed packs' ids; their
    SHA-256 and size are those of the bytes now kept."""
    from bot.boardpack.document import without_answer  # python-docx, only when needed

    changed: list[int] = []
    for snapshot in session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(BoardPackSnapshot.plan_id == plan_id)
        .order_by(BoardPackSnapshot.id)
    ):
        content = without_answer(snapshot.content, followup_label, text)
        if content is not None:
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


def get(session: Session, snapshot_id: int) -> BoardPackSnapshot | None:
    return session.scalars(
        select(BoardPackSnapshot)
        .options(undefer(BoardPackSnapshot.content))
        .where(BoardPackSnapshot.id == snapshot_id)
    ).first()
