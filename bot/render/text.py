"""Replies as plain text: the console, logs, e-mail. No markup, nothing to escape."""

from __future__ import annotations

from tabulate import tabulate

from bot.domain import day_text
from bot.render import layout
from bot.replies import (
    ActionLine,
    ActionList,
    Buttons,
    Divider,
    Heading,
    Paragraph,
    Reply,
    Span,
    Table,
    joined,
)

# Refs are short (2A.3, 12A.1): longer ones push the title along rather than run into it.
REF_WIDTH = 7


def render_text(reply: Reply) -> str:
    parts = [_element(e) for e in reply.elements]
    parts += [f"[{f.title}: {f.filename}, {len(f.data):,} bytes]" for f in reply.files]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def _element(element: object) -> str:
    match element:
        case Heading(text=text):
            return f"{text}\n{'=' * min(len(text), 72)}"
        case Paragraph(spans=spans):
            return spans_text(spans)
        case Table(columns=columns, rows=rows):
            return tabulate(rows, headers=columns, tablefmt="simple")
        case ActionList():
            return _action_list(element)
        case Buttons() | Divider():
            return ""
    raise TypeError(f"no text rendering for {type(element).__name__}")


def spans_text(spans: list[Span]) -> str:
    return "".join(f"@{s.text}" if s.is_mention else s.text for s in spans)


def _action_list(actions: ActionList) -> str:
    lines = [actions.title] if actions.title else []
    if not actions.items and not actions.more:
        lines.append(f"  {actions.empty}")
    # the rating column as wide as the widest rating in the list, so a title never runs into it
    width = max((len(item.rag.value) for item in actions.items if item.rag), default=0)
    lines += [_action_line(item, width) for item in actions.items]
    if actions.more:
        lines.append("  " + layout.more_text(actions.more, actions.more_hint or ""))
    return "\n".join(lines)


def _action_line(item: ActionLine, rag_width: int) -> str:
    facts = []
    if item.leads:
        facts.append(spans_text(joined(item.leads)))
    if item.due:
        facts.append(f"due {day_text(item.due)}")
    if item.status:
        facts.append(layout.status_word(item.status))
    rag = item.rag.value if item.rag else ""
    line = f"  {item.ref:<{REF_WIDTH}} {rag:<{rag_width}} {item.title}"
    if facts:
        line += f"  ({' · '.join(facts)})"
    if item.note:
        note = " ".join(item.note.split())
        line += f"\n  {'':<{REF_WIDTH}} {'':<{rag_width}} latest: {note}"
    return line
