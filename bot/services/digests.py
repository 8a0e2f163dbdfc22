"""The digest: what a board or a channel needs to see, built from a handful of aggregate queries.

The same Reply is posted to Slack (the Block Kit renderer keeps it within Slack's limits) and
printed by `digest preview` in the console.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from bot.addresses import Address
from bot.config import Settings
from bot.domain import Rag, UpdateKind, day_text
from bot.presenters import action_list, counts_table, shorten, when
from bot.replies import (
    ActionLine,
    ActionList,
    Paragraph,
    Reply,
    Table,
    bold,
    code,
    plain,
    plural,
)
from bot.services.kpis import impact_section
from bot.store import chain, queries
from bot.store.models import (
    BOARD_DIGEST,
    DIGEST_NOW,
    SENT,
    WEEKLY,
    Action,
    BoardMeeting,
    Delivery,
    Person,
    Plan,
    Update,
)

# How many actions one list in a digest names before it points to the full list.
LIST_LIMIT = 25
FOLLOWUP_LIMIT = 8
# A digest is a summary: `show REF` has an action's full title and notes. Brief lines let a
# board see more of its red and amber actions within one Slack message.
TITLE_BRIEF = 90
NOTE_BRIEF = 160
WORKSTREAM_BRIEF = 50
QUESTION_BRIEF = 60
MOVES_LIMIT = 20
DIGEST_KINDS = (BOARD_DIGEST, WEEKLY, DIGEST_NOW)
# "What changed" covers this long for a channel's first digest.
DEFAULT_PERIOD = timedelta(days=7)


@dataclass(frozen=True)
class DigestFor:
    channel_id: str
    plan_id: int
    board: BoardMeeting | None = None
    weekly: bool = False
    # how a command is typed where the digest is read ("/wsoa " in Slack, "" at the console)
    prefix: str = ""


def previous_digest_at(
    session: Session, channel_id: str, before: datetime | None = None
) -> datetime | None:
    """When this channel last received a digest (before `before`): "what changed" starts there."""
    params = {"channel_id": channel_id, "before": before}
    return session.scalar(_previous_digest_at(before is not None), params)


@functools.cache
def _previous_digest_at(before: bool) -> Select[datetime | None]:
    where = [
        Delivery.target == bindparam("channel_id"),
        Delivery.kind.in_(DIGEST_KINDS),
        Delivery.state == SENT,
    ]
    if before:
        where.append(Delivery.sent_at < bindparam("before"))
    return select(func.max(Delivery.sent_at)).where(*where)


def build_digest(session: Session, settings: Settings, now: datetime, target: DigestFor) -> Reply:
    plan = session.get_one(Plan, target.plan_id)
    tz = settings.tz
    today = now.astimezone(tz).date()
    previous = previous_digest_at(session, target.channel_id, before=now)
    since = previous or now - DEFAULT_PERIOD

    if target.board is not None:
        title = f"WSoA digest before {target.board.name}"
        summary = f"{title}, {when(target.board.starts_at, tz)}"
    elif target.weekly:
        title = f"Weekly WSoA digest, {day_text(today)}"
        summary = title
    else:
        title = f"WSoA digest, {day_text(today)}"
        summary = title
    reply = Reply(visibility="channel", summary=summary).heading(title)
    if target.board is not None:
        reply.para(bold("Meeting: "), plain(when(target.board.starts_at, tz)))

    counts = queries.rag_counts(session, plan.id)
    reply.add(counts_table(counts, plan.rag_scale, WORKSTREAM_BRIEF))

    # The four lists' leads are read together once all are found; the red and amber totals
    # are in the counts already.
    flagged = {
        rag: queries.find_actions(
            session,
            plan.id,
            queries.Filter(rag=rag.value),
            limit=LIST_LIMIT,
            total=sum(c.of(rag) for c in counts),
            leads=False,
        )
        for rag in (Rag.RED, Rag.AMBER)
    }
    overdue, n_overdue = queries.find_actions(
        session, plan.id, queries.Filter(overdue_on=today), limit=LIST_LIMIT, leads=False
    )
    soon_until = today + timedelta(days=settings.due_soon_days)
    soon, n_soon = queries.find_actions(
        session,
        plan.id,
        queries.Filter(due_between=(today, soon_until)),
        limit=LIST_LIMIT,
        leads=False,
    )
    listed = [*flagged[Rag.RED][0], *flagged[Rag.AMBER][0], *overdue, *soon]
    leads = queries.leads_of(session, (a.id for a in listed))
    for rag, (actions, total) in flagged.items():
        title = f"{rag.value.capitalize()} actions ({total})"
        hint = f"{target.prefix}list {rag.value}"
        reply.add(_brief(action_list(title, actions, total, hint, note=True, leads=leads)))

    reply.add(*_changes(session, plan.id, since, previous is not None, tz, target.prefix))
    reply.add(*impact_section(session, plan.id, since=since))

    reply.add(
        _brief(
            action_list(
                f"Overdue ({n_overdue})",
                overdue,
                n_overdue,
                f"{target.prefix}list overdue",
                leads=leads,
            )
        )
    )
    reply.add(
        _brief(
            action_list(
                f"Due in the next {settings.due_soon_days} days ({n_soon})",
                soon,
                n_soon,
                None,
                leads=leads,
            )
        )
    )

    reply.add(*_followups(session, plan.id, now, target.prefix))

    upcoming = target.board or queries.next_board(session, plan.id, now)
    if upcoming is not None and target.board is None:
        reply.para(
            bold("Next meeting: "), plain(f"{upcoming.name}, {when(upcoming.starts_at, tz)}")
        )
    elif upcoming is None:
        reply.para(
            bold("Next meeting: "),
            plain("none scheduled ("),
            code(f"{target.prefix}board add"),
            plain(")."),
        )
    # the board's papers witness the history: `wsoa audit verify` checks it against this
    reply.para(bold("Record: "), plain(f"history chain head {chain.short_head(session, plan.id)}."))
    return reply


def _brief(actions: ActionList) -> ActionList:
    for line in actions.items:
        line.title = shorten(line.title, TITLE_BRIEF)
        if line.note:
            line.note = shorten(line.note, NOTE_BRIEF)
    return actions


def _changes(
    session: Session, plan_id: int, since: datetime, previous: bool, tz: ZoneInfo, prefix: str
) -> list[Paragraph | ActionList]:
    """What changed since the channel's previous digest: counts of progress updates, RAG moves
    and sign-offs (one statement), then the moves and sign-offs themselves, newest first."""
    params = {"plan_id": plan_id, "since": since}
    n_updates, n_moves, n_signoffs = session.execute(_CHANGE_COUNTS, params).one()
    n_listed = session.scalar(_MOVED_ACTIONS, params)
    items = [
        ActionLine(
            ref=ref,
            title=f"{_move(kind, rag_from, rag_to)}: {shorten(title, TITLE_BRIEF)}",
            rag=Rag(rag_to) if rag_to in set(Rag) else None,
        )
        for kind, rag_from, rag_to, ref, title in session.execute(_MOVES, params)
    ]
    period = (
        f"Since the last digest here ({when(since, tz)}): "
        if previous
        else f"In the last {DEFAULT_PERIOD.days} days: "
    )
    heading = Paragraph(
        spans=[
            bold(period),
            plain(
                f"{plural(n_updates or 0, 'progress update')}, "
                f"{plural(n_moves or 0, 'RAG change')}, {plural(n_signoffs or 0, 'sign-off')}."
            ),
        ]
    )
    return [
        heading,
        ActionList(
            items=items,
            more=max((n_listed or 0) - len(items), 0),
            more_hint=f"{prefix}history REF",
            empty="No RAG changes or sign-offs.",
        ),
    ]


def _move(kind: str, rag_from: str | None, rag_to: str | None) -> str:
    if kind == "signoff":
        return "signed off"
    return f"{rag_from or 'not rated'} → {rag_to or 'not rated'}"


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# The statements of `_changes`, built once (see bot/store/queries.py) and run with `plan_id`
# and `since`. Updates carry their plan, so the plan's recent rows are read from
# ix_updates_plan_at (an `action_id IN (the plan's actions)` made SQLite probe once per action).
# A creation (an import's new actions, an `add`) sets a first rating: not a change.
_RAG_MOVED = (Update.kind != UpdateKind.CREATED) & (
    (Update.rag_from != Update.rag_to)
    | (Update.rag_from.is_(None) & Update.rag_to.is_not(None))
    | (Update.rag_from.is_not(None) & Update.rag_to.is_(None))
)
_SIGNED_OFF = Update.kind == "signoff"
_RECENT = (Update.plan_id == bindparam("plan_id"), Update.at >= bindparam("since"))
_CHANGE_COUNTS = select(
    _count_where(Update.kind == "update"), _count_where(_RAG_MOVED), _count_where(_SIGNED_OFF)
).where(*_RECENT)
_MOVED_ACTIONS = select(func.count(func.distinct(Update.action_id))).where(
    *_RECENT, _RAG_MOVED | _SIGNED_OFF
)
# Each action once, by its newest move: a window numbers each action's moves newest first.
_RANKED = (
    select(
        Update.id.label("update_id"),
        func.row_number()
        .over(partition_by=Update.action_id, order_by=(Update.at.desc(), Update.id.desc()))
        .label("nth"),
    )
    .where(*_RECENT, _RAG_MOVED | _SIGNED_OFF)
    .subquery()
)
_MOVES = (
    select(Update.kind, Update.rag_from, Update.rag_to, Action.ref, Action.title)
    .join(_RANKED, _RANKED.c.update_id == Update.id)
    .join(Action, Action.id == Update.action_id)
    .where(_RANKED.c.nth == 1)
    .order_by(Update.at.desc(), Update.id.desc())
    .limit(MOVES_LIMIT)
)


def _followups(
    session: Session, plan_id: int, now: datetime, prefix: str
) -> list[Paragraph | Table]:
    open_, total = queries.open_followups(session, plan_id, limit=FOLLOWUP_LIMIT)
    if not total:
        return [Paragraph(spans=[bold("Open follow-ups: "), plain("none.")])]
    rows = [
        [
            f"FU-{f.id}",
            shorten(f.about, WORKSTREAM_BRIEF),
            f"{(now - f.raised_at).days}d",
            "answered" if f.answered else "no answer",
            shorten(f.question, QUESTION_BRIEF),
        ]
        for f in open_
    ]
    parts: list[Paragraph | Table] = [
        Paragraph(spans=[bold(f"Open follow-ups ({total})")]),
        Table(columns=["Id", "About", "Age", "State", "Question"], rows=rows),
    ]
    if total > len(open_):
        parts.append(
            Paragraph(spans=[plain(f"…and {total - len(open_)} more: {prefix}followup list")])
        )
    return parts


def record_manual_digest(session: Session, address: Address, now: datetime, by: str) -> None:
    """`digest now` counts as this channel's previous digest for the next one's "what changed"."""
    session.add(
        Delivery(
            key=f"digest-now:{address.conversation}:{now.isoformat()}",
            kind=DIGEST_NOW,
            target=address.conversation,
            address=address,
            due_at=now,
            claimed_at=now,
            claimed_by=by,
            state=SENT,
            attempts=1,
            sent_at=now,
        )
    )


def build_lead_reminder(
    session: Session,
    settings: Settings,
    now: datetime,
    lead: Person,
    board: BoardMeeting,
    stale_before: datetime,
    prefix: str = "",
) -> Reply | None:
    """A lead's nudge before a meeting: their open actions with no update since `stale_before`.
    None when there are none left (they have updated since the reminder fell due)."""
    actions, total = queries.find_actions(
        session,
        board.plan_id,
        queries.Filter(lead_person_id=lead.id, stale_before=stale_before),
        limit=LIST_LIMIT,
    )
    if not total:
        return None
    tz = settings.tz
    noun, these = (
        ("action", "This action you lead has")
        if total == 1
        else ("actions", "These actions you lead have")
    )
    reply = Reply(
        visibility="private",
        summary=(
            f"{total} of your WSoA {noun} {'needs' if total == 1 else 'need'} an update "
            f"before {board.name}"
        ),
    ).heading(f"Update needed before {board.name}")
    reply.para(
        plain(f"{board.name} meets {when(board.starts_at, tz)}. "),
        plain(
            f"{these} had no progress update for {settings.stale_days} days "
            "or more. A short note before the meeting keeps the board's papers current:"
        ),
    )
    reply.add(action_list(None, actions, total, f"{prefix}mine", note=True))
    reply.para(
        plain("Reply with "),
        code(f"{prefix}update REF [red|amber|green] NOTE"),
        plain(", or "),
        code(f"{prefix}update REF"),
        plain(" for a form."),
    )
    return reply
