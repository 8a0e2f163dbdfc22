"""The digest: what a board or a channel needs to see, built from a handful of aggregate queries.

The same Reply is posted to Slack (the Block Kit renderer keeps it within Slack's limits) and
printed by `digest preview` in the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.presenters import action_list, day, shorten, when
from bot.replies import ActionLine, ActionList, Paragraph, Reply, Table, bold, plain
from bot.services.followups import about, label
from bot.services.plans import current_plan
from bot.store import queries
from bot.store.models import Action, BoardMeeting, Delivery, Update

# How many actions one list in a digest names before it points to the full list.
LIST_LIMIT = 25
FOLLOWUP_LIMIT = 15
MOVES_LIMIT = 20
DIGEST_KINDS = ("board-digest", "weekly", "digest-now")


@dataclass(frozen=True)
class DigestFor:
    channel_id: str
    board: BoardMeeting | None = None
    weekly: bool = False


def previous_digest_at(session: Session, channel_id: str) -> datetime | None:
    """When this channel last received a digest: "what changed" starts there."""
    return session.scalar(
        select(func.max(Delivery.sent_at)).where(
            Delivery.target == channel_id,
            Delivery.kind.in_(DIGEST_KINDS),
            Delivery.state == "sent",
        )
    )


def build_digest(session: Session, settings: Settings, now: datetime, target: DigestFor) -> Reply:
    plan = current_plan(session, now)
    tz = settings.tz
    today = now.astimezone(tz).date()
    since = previous_digest_at(session, target.channel_id) or now - timedelta(days=7)

    if target.board is not None:
        title = f"WSoA digest before {target.board.name}"
        summary = f"{title}, {when(target.board.starts_at, tz)}"
    elif target.weekly:
        title = f"Weekly WSoA digest, {day(today)}"
        summary = title
    else:
        title = f"WSoA digest, {day(today)}"
        summary = title
    reply = Reply(visibility="channel", summary=summary).heading(shorten(title, 150))
    if target.board is not None:
        reply.para(bold("Meeting: "), plain(when(target.board.starts_at, tz)))

    counts = queries.rag_counts(session, plan.id)
    reply.add(_counts_table(counts))

    for rag in ("red", "amber"):
        actions, total = queries.find_actions(
            session, plan.id, queries.Filter(rag=rag), limit=LIST_LIMIT
        )
        reply.add(
            action_list(
                f"{rag.capitalize()} actions ({total})",
                actions,
                total,
                f"/wsoa list {rag}",
                note=True,
            )
        )

    reply.add(*_changes(session, plan.id, since, tz))

    overdue, n_overdue = queries.find_actions(
        session, plan.id, queries.Filter(overdue_on=today), limit=LIST_LIMIT
    )
    reply.add(action_list(f"Overdue ({n_overdue})", overdue, n_overdue, "/wsoa list overdue"))
    soon_until = today + timedelta(days=settings.due_soon_days)
    soon, n_soon = queries.find_actions(
        session, plan.id, queries.Filter(due_between=(today, soon_until)), limit=LIST_LIMIT
    )
    reply.add(
        action_list(f"Due in the next {settings.due_soon_days} days ({n_soon})", soon, n_soon, None)
    )

    reply.add(*_followups(session, plan.id, now))

    upcoming = target.board or queries.next_board(session, plan.id, now)
    if upcoming is not None and target.board is None:
        reply.para(
            bold("Next meeting: "), plain(f"{upcoming.name}, {when(upcoming.starts_at, tz)}")
        )
    elif upcoming is None:
        reply.para(bold("Next meeting: "), plain("none scheduled (`/wsoa board add`)."))
    return reply


def _counts_table(counts: list[queries.WorkstreamCounts]) -> Table:
    rows = [
        [c.name, str(c.red), str(c.amber), str(c.green), str(c.unrated), str(c.total)]
        for c in counts
    ]
    totals = [sum(getattr(c, f) for c in counts) for f in ("red", "amber", "green", "unrated")]
    rows.append(["All", *map(str, totals), str(sum(c.total for c in counts))])
    return Table(columns=["Workstream", "Red", "Amber", "Green", "Not rated", "Actions"], rows=rows)


def _changes(
    session: Session, plan_id: int, since: datetime, tz: ZoneInfo
) -> list[Paragraph | ActionList]:
    """Updates since the channel's previous digest: a count, then RAG moves and sign-offs."""
    in_plan = Update.action_id.in_(select(Action.id).where(Action.plan_id == plan_id))
    n_updates = session.scalar(
        select(func.count()).select_from(Update).where(in_plan, Update.at >= since)
    )
    moved = (
        (Update.rag_from != Update.rag_to)
        | (Update.rag_from.is_(None) & Update.rag_to.is_not(None))
        | (Update.kind == "signoff")
    )
    n_moves = session.scalar(
        select(func.count()).select_from(Update).where(in_plan, Update.at >= since, moved)
    )
    moves = session.execute(
        select(Update, Action.ref, Action.title)
        .join(Action, Action.id == Update.action_id)
        .where(in_plan, Update.at >= since, moved)
        .order_by(Update.at.desc(), Update.id.desc())
        .limit(MOVES_LIMIT)
    ).all()
    items = [
        ActionLine(ref=ref, title=f"{_move(update)}: {shorten(title, 120)}")
        for update, ref, title in moves
    ]
    heading = Paragraph(
        spans=[
            bold(f"Since {when(since, tz)}: "),
            plain(f"{n_updates or 0} updates; {n_moves or 0} RAG moves and sign-offs."),
        ]
    )
    return [
        heading,
        ActionList(
            items=items,
            more=(n_moves or 0) - len(items),
            more_hint="/wsoa history REF",
            empty="No RAG moves.",
        ),
    ]


def _move(update: Update) -> str:
    if update.kind == "signoff":
        return "signed off"
    return f"{update.rag_from or 'not rated'} → {update.rag_to}"


def _followups(session: Session, plan_id: int, now: datetime) -> list[Paragraph | Table]:
    open_, total = queries.open_followups(session, plan_id, limit=FOLLOWUP_LIMIT)
    if not total:
        return [Paragraph(spans=[bold("Open follow-ups: "), plain("none.")])]
    rows = [
        [
            label(f),
            about(f),
            f"{(now - f.raised_at).days}d",
            "answered" if f.answers else "no answer",
            shorten(f.question, 90),
        ]
        for f in open_
    ]
    parts: list[Paragraph | Table] = [
        Paragraph(spans=[bold(f"Open follow-ups ({total})")]),
        Table(columns=["Id", "About", "Age", "State", "Question"], rows=rows),
    ]
    if total > len(open_):
        parts.append(
            Paragraph(spans=[plain(f"…and {total - len(open_)} more: /wsoa followup list")])
        )
    return parts


def record_manual_digest(session: Session, channel_id: str, now: datetime, by: str) -> None:
    """`digest now` counts as this channel's previous digest for the next one's "what changed"."""
    session.add(
        Delivery(
            key=f"digest-now:{channel_id}:{now.isoformat()}",
            kind="digest-now",
            target=channel_id,
            due_at=now,
            claimed_at=now,
            claimed_by=by,
            state="sent",
            attempts=1,
            sent_at=now,
        )
    )
