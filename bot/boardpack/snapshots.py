"""Frozen board packs: the bytes a board was given, with who made them, when, and their SHA-256,
so what a board saw can be produced again exactly. Rows are only ever added."""

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
