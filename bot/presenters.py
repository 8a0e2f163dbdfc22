"""Store rows to reply pieces: shared by the commands and the digests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import COMPLETE, Rag, Rating, Surface, UpdateKind, day_text, moment_text
from bot.render import layout
from bot.render.layout import rag_word
from bot.replies import ActionLine, ActionList, Span, Table, mention, plain
from bot.services.history import field_changes
from bot.store.models import Action, Person, Update
from bot.store.queries import Lead, WorkstreamCounts


def person_span(person: Person | Lead) -> Span:
    return mention(person.label, person.id, person.handles)


def actor_label(person: Person | None, source: Surface) -> str:
    """Who did something, in words: the person, or what acted for no one (an import)."""
    return person.label if person is not None else source.label


def author_span(person_id: int | None, source: Surface, people: dict[int, Person]) -> Span:
    """Who did something: the person (mentioned where the surface can), or what acted for no
    one."""
    person = people.get(person_id) if person_id is not None else None
    return person_span(person) if person is not None else plain(source.label)


def rag_of(action: Action) -> Rag | None:
    return Rag(action.rag) if action.rag else None


def action_line(
    action: Action, *, note: bool = False, leads: Sequence[Lead] | None = None
) -> ActionLine:
    """`leads`: the action's leads when they were read apart from it (`queries.leads_of`)."""
    return ActionLine(
        ref=action.ref,
        title=action.title,
        rag=rag_of(action),
        status=action.status,
        due=action.due,
        leads=[person_span(p) for p in (action.leads if leads is None else leads)],
        note=action.last_note if note else None,
    )


def action_list(
    title: str | None,
    actions: Iterable[Action],
    total: int,
    hint: str | None,
    *,
    note: bool = False,
    empty: str = "None.",
    leads: dict[int, list[Lead]] | None = None,
) -> ActionList:
    items = [
        action_line(a, note=note, leads=None if leads is None else leads[a.id]) for a in actions
    ]
    return ActionList(
        title=title,
        items=items,
        more=max(total - len(items), 0),
        more_hint=hint,
        empty=empty,
    )


def rag_columns(scale: int) -> list[tuple[str, Rating]]:
    """The rating columns of a count table for a three- or five-point plan, worst first, then
    Complete (finished actions, BRAG's blue) and not rated: together they partition the
    actions."""
    return [(rag_word(r), r) for r in Rag.scale(scale)] + [
        (layout.COMPLETE_WORD, COMPLETE),
        (rag_word(None), None),
    ]


def counts_table(counts: Sequence[WorkstreamCounts], scale: int, name_limit: int = 200) -> Table:
    """RAG counts per workstream and an "All" row. The rating columns add up to Total; Closed
    (complete, signed off or halted, whatever their rating) is a part of Total, and says so."""
    columns = rag_columns(scale)
    rows = [
        [
            shorten(c.name, name_limit),
            *(str(c.of(rag)) for _, rag in columns),
            str(c.total),
            str(c.closed),
        ]
        for c in counts
    ]
    rows.append(
        [
            "All",
            *(str(sum(c.of(rag) for c in counts)) for _, rag in columns),
            str(sum(c.total for c in counts)),
            str(sum(c.closed for c in counts)),
        ]
    )
    return Table(
        columns=["Workstream", *(label for label, _ in columns), "Total", "of which closed"],
        rows=rows,
    )


def describe_change(update: Update) -> list[str]:
    """What an update changed, in words: `RAG red → amber`, `status new → in progress`, and for
    an edit each field with its old value: `due 2027-01-31 → 2027-03-31`."""
    changes = []
    if update.kind == UpdateKind.CREATED:
        # A new action has no "before": its first values, not a move from a status "new".
        if update.status_to:
            changes.append(f"status {update.status_to}")
        if update.rag_to:
            changes.append(f"RAG {update.rag_to}")
        return changes
    if update.rag_from != update.rag_to:
        changes.append(f"RAG {update.rag_from or 'not rated'} → {update.rag_to or 'not rated'}")
    if update.status_from != update.status_to:
        changes.append(f"status {update.status_from or 'none'} → {update.status_to}")
    if update.kind == UpdateKind.EDIT:
        changes += [
            f"{c.field} {shorten(c.old or 'none', 60)} → {shorten(c.new or 'none', 60)}"
            for c in field_changes(update)
            if c.field not in ("rag", "status")
        ]
    return changes


def when(at: datetime, tz: ZoneInfo) -> str:
    """`Tue 1 Dec 2026 14:00` in the partnership's timezone."""
    return moment_text(at.astimezone(tz))


def due_text(action: Action) -> str:
    if action.due is not None:
        return day_text(action.due)
    return action.due_text or "no date"


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(",.;:") + "…"
