"""Who gets what by e-mail: a board's recipients (`board email ID add|remove|list`), the kinds
of e-mail one can unsubscribe from, and who has.

Each e-mail is a scheduled delivery like a chat post (scheduler/), so it is claimed and sent
once, retried on a temporary failure, and given up on (the admins told) on a permanent one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import NotFound
from bot.services.context import Ctx
from bot.services.partners import normal_email
from bot.store.models import (
    ADMIN_NOTICE,
    BOARD_DIGEST,
    CHECKIN,
    KPI_COMMENTARY,
    NUDGE,
    PARTICIPATION,
    REMINDER,
    WEEKLY,
    BoardMeeting,
    BoardRecipient,
    MailUnsubscribe,
)

# the kinds of e-mail an address can stop, by the kind of delivery each message is
BOARD_PAPERS = "board-papers"
REMINDERS = "reminders"
NOTICES = "notices"
MAIL_KIND: dict[str, str] = {
    BOARD_DIGEST: BOARD_PAPERS,
    WEEKLY: BOARD_PAPERS,
    REMINDER: REMINDERS,
    CHECKIN: REMINDERS,
    NUDGE: REMINDERS,
    KPI_COMMENTARY: REMINDERS,
    PARTICIPATION: NOTICES,
    ADMIN_NOTICE: NOTICES,
}
KIND_WORDS = {
    BOARD_PAPERS: "board papers (pre-board digests and board packs)",
    REMINDERS: "reminders and requests for highlight reports",
    NOTICES: "notices to programme managers",
}


def mail_kind(delivery_key: str) -> str:
    """The kind of e-mail a delivery is, from its key (whose first part is its kind)."""
    return MAIL_KIND.get(delivery_key.split(":", 1)[0], NOTICES)


def recipients(session: Session, board_id: int) -> list[str]:
    return list(
        session.scalars(
            select(BoardRecipient.email)
            .where(BoardRecipient.board_id == board_id, BoardRecipient.removed_at.is_(None))
            .order_by(BoardRecipient.email)
        )
    )


def add_recipients(
    ctx: Ctx, board: BoardMeeting, addresses: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(added, already there). Every address is checked before any is added: one typo refuses
    the lot, and nothing changes."""
    ctx.require_admin("choose who gets a board's papers by e-mail")
    wanted = list(dict.fromkeys(normal_email(a) for a in addresses))
    current = set(recipients(ctx.session, board.id))
    added = [a for a in wanted if a not in current]
    for address in added:
        ctx.session.add(
            BoardRecipient(
                plan_id=board.plan_id,
                board_id=board.id,
                email=address,
                added_at=ctx.now,
                added_by_person_id=ctx.actor_id,
                source=ctx.caller.source,
            )
        )
    ctx.session.flush()
    return added, [a for a in wanted if a in current]


def remove_recipient(ctx: Ctx, board: BoardMeeting, address: str) -> str:
    ctx.require_admin("choose who gets a board's papers by e-mail")
    email = normal_email(address)
    row = ctx.session.scalars(
        select(BoardRecipient).where(
            BoardRecipient.board_id == board.id,
            BoardRecipient.email == email,
            BoardRecipient.removed_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound(
            f"{email} does not get B-{board.id}'s papers: `board email B-{board.id} list`."
        )
    row.removed_at = ctx.now
    row.removed_by_person_id = ctx.actor_id
    return email


def unsubscribed(session: Session, email: str, kind: str) -> datetime | None:
    """When `email` asked for no more of `kind`, if it did."""
    return session.scalars(
        select(MailUnsubscribe.at).where(
            MailUnsubscribe.email == email.lower(), MailUnsubscribe.kind == kind
        )
    ).first()


def unsubscribed_addresses(session: Session, kind: str) -> set[str]:
    return set(session.scalars(select(MailUnsubscribe.email).where(MailUnsubscribe.kind == kind)))


def unsubscribe(session: Session, email: str, kind: str, at: datetime) -> bool:
    """Records that `email` wants no more of `kind`; False when it had asked already."""
    if unsubscribed(session, email, kind) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(MailUnsubscribe(email=email.lower(), kind=kind, at=at))
    except IntegrityError:
        return False  # the same link pressed twice at once: the first one counts
    return True
