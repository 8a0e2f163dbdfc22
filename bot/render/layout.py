"""The one layout every renderer uses: the words, symbols and tones of every rating and status,
how a cut list says what it left out, and the widths of a plain-text list.

Block Kit, Adaptive Cards, plain text (and the HTML and e-mail renderers after them) map these to
their own format; none keeps a table of its own keyed by `Rag` or `Status`. Each table here is
checked against its enum when the module loads, so a member added to `Rag` or `Status` without a
word fails every test at once, never one person's request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum, StrEnum
from typing import Any

from bot.domain import Rag, Status


class Tone(StrEnum):
    """What a rating means for the reader, for renderers that can colour it. Colour only ever
    repeats the symbol and the word, so nothing rests on colour vision."""

    BAD = "bad"
    WARNING = "warning"
    GOOD = "good"
    NEUTRAL = "neutral"


RAG_WORD: Mapping[Rag, str] = {
    Rag.RED: "Red",
    Rag.RED_AMBER: "Red/Amber",
    Rag.AMBER: "Amber",
    Rag.AMBER_GREEN: "Amber/Green",
    Rag.GREEN: "Green",
}
RAG_SYMBOL: Mapping[Rag, str] = {
    Rag.RED: "🔴",
    Rag.RED_AMBER: "🔴🟠",
    Rag.AMBER: "🟠",
    Rag.AMBER_GREEN: "🟠🟢",
    Rag.GREEN: "🟢",
}
RAG_TONE: Mapping[Rag, Tone] = {
    Rag.RED: Tone.BAD,
    Rag.RED_AMBER: Tone.BAD,
    Rag.AMBER: Tone.WARNING,
    Rag.AMBER_GREEN: Tone.WARNING,
    Rag.GREEN: Tone.GOOD,
}
NOT_RATED_WORD = "Not rated"
NOT_RATED_SYMBOL = "⚪"
# BRAG's blue: a finished action, counted as Complete (bot/domain.py COMPLETE)
COMPLETE_WORD = "Complete"
COMPLETE_SYMBOL = "🔵"

STATUS_WORD: Mapping[Status, str] = {
    Status.NOT_STARTED: "not started",
    Status.IN_PROGRESS: "in progress",
    Status.COMPLETE: "complete",
    Status.SIGNED_OFF: "signed off",
    Status.HALTED: "halted",
}


def rag_word(rag: Rag | None) -> str:
    """`Amber/Green`, or `Not rated`."""
    return RAG_WORD[rag] if rag is not None else NOT_RATED_WORD


def rag_symbol(rag: Rag | None) -> str:
    return RAG_SYMBOL[rag] if rag is not None else NOT_RATED_SYMBOL


def rag_label(rag: Rag | None) -> str:
    """Symbol and word, as every chat surface shows a rating: `🟠🟢 Amber/Green`."""
    return f"{rag_symbol(rag)} {rag_word(rag)}"


def rag_tone(rag: Rag | None) -> Tone:
    return RAG_TONE[rag] if rag is not None else Tone.NEUTRAL


def status_word(status: Status | str | None) -> str:
    """A status as partners read it; text that is no status (an imported sentence) as it is."""
    if status is None:
        return ""
    found = Status.lookup(status) if isinstance(status, str) else status
    return STATUS_WORD[found] if found is not None else str(status)


def more_text(hidden: int, hint: str = "", joiner: str = ": ") -> str:
    """The closing line of a cut list: `…and 12 more: list amber`. `hint` is already in the
    renderer's format (code in Slack, `@WSoA …` in Teams)."""
    return f"…and {hidden} more" + (f"{joiner}{hint}" if hint else "")


def _complete(table: Mapping[Any, object], members: Iterable[Enum], name: str) -> None:
    missing = [m for m in members if m not in table]
    if missing:
        raise RuntimeError(f"{name} has no entry for {', '.join(map(str, missing))}")


_complete(RAG_WORD, Rag, "RAG_WORD")
_complete(RAG_SYMBOL, Rag, "RAG_SYMBOL")
_complete(RAG_TONE, Rag, "RAG_TONE")
_complete(STATUS_WORD, Status, "STATUS_WORD")
