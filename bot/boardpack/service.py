"""The rules for board packs: which board, who may make one, and when a kept one is given back.

A pack for a meeting that has not started is built from the plan as it stands and kept as a
new snapshot each time (only admins make them). Once a meeting has started its pack is frozen:
`boardpack B-3` gives back the last snapshot made for it, byte for byte, to anyone, and never
rebuilds it from later figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.boardpack import snapshots
from bot.boardpack.data import PackData, PackOptions, gather
from bot.domain import NotFound
from bot.presenters import when
from bot.services.context import Ctx
from bot.services.history import Author
from bot.store.models import BoardMeeting, BoardPackSnapshot, Person


@dataclass(frozen=True)
class Pack:
    board: BoardMeeting
    snapshot: BoardPackSnapshot
    content: bytes
    # built now (True), or a meeting's frozen pack given back (False)
    fresh: bool
    figures: PackData | None = None


def find_board(ctx: Ctx, text: str) -> BoardMeeting:
    """`B-3`, `3` or `#3`; nothing means the next meeting."""
    plan_id = ctx.plan.id
    if not text.strip():
        board = ctx.session.scalars(
            select(BoardMeeting)
            .where(
                BoardMeeting.plan_id == plan_id,
                BoardMeeting.removed_at.is_(None),
                BoardMeeting.starts_at > ctx.now,
            )
            .order_by(BoardMeeting.starts_at)
            .limit(1)
        ).first()
        if board is None:
            raise NotFound(
                "There is no board meeting ahead. Add one (`board add YYYY-MM-DD HH:MM NAME`), "
                "or give a past meeting's id for the pack it was given (`board list`)."
            )
        return board
    digits = text.strip().upper().removeprefix("B-").removeprefix("#")
    board = ctx.session.get(BoardMeeting, int(digits)) if digits.isdigit() else None
    if board is None or board.plan_id != plan_id or board.removed_at is not None:
        raise NotFound(
            f"No board meeting {text.strip()[:20]}. `board list` shows the meetings with "
            "their ids (B-3)."
        )
    return board


def filename_for(ctx: Ctx, board: BoardMeeting) -> str:
    day = board.starts_at.astimezone(ctx.settings.tz).date()
    return f"board-pack-{day.isoformat()}-B{board.id}.docx"


def _options(ctx: Ctx) -> PackOptions:
    """Who prepares the pack (whoever asks for it: an admin) and the plan's flag windows."""
    person = ctx.session.get(Person, ctx.actor_id) if ctx.actor_id is not None else None
    return PackOptions(
        tz=ctx.settings.tz,
        prepared_by=person.name if person is not None else "the programme team",
        contact=person.email if person is not None else None,
        due_soon_days=ctx.settings.due_soon_days,
        stale_days=ctx.settings.stale_days,
    )


def produce(ctx: Ctx, board_text: str = "") -> Pack:
    board = find_board(ctx, board_text)
    if board.starts_at <= ctx.now:
        kept = snapshots.latest(ctx.session, board.id)
        if kept is None:
            raise NotFound(
                f"No pack was kept for B-{board.id} ({board.name}, "
                f"{when(board.starts_at, ctx.settings.tz)}). Packs are made before a meeting; "
                "a past meeting's is never rebuilt from later figures."
            )
        return Pack(board=board, snapshot=kept, content=kept.content, fresh=False)
    ctx.require_admin("make a board pack")
    from bot.boardpack.document import build_docx  # python-docx: only when a pack is made

    figures = gather(ctx.session, ctx.plan, board, ctx.now, ctx.settings.tz, _options(ctx))
    content = build_docx(figures)
    kept = snapshots.keep(
        ctx.session,
        board,
        content,
        filename=filename_for(ctx, board),
        by=Author(source=ctx.caller.source, person_id=ctx.actor_id),
        at=ctx.now,
    )
    return Pack(board=board, snapshot=kept, content=content, fresh=True, figures=figures)
