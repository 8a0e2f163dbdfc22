"""Fitting user text into a platform's character limits: one way of shortening for every
renderer, each measuring with its own count (Teams: characters; Slack: UTF-16 units once
escaped)."""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"

Measure = Callable[[str], int]


def shorten(text: str, limit: int, size: Measure = len) -> str:
    """`text` with whitespace flattened to single spaces, cut after a whole word with "…" so
    that it measures at most `limit` by `size`. Only a first word too long for the limit is cut
    inside it (there is no word boundary to cut at)."""
    words = text.split()
    if sum(size(word) for word in words) + max(len(words) - 1, 0) <= limit:
        return " ".join(words)
    room = limit - size(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for word in words:
        need = size(word) + (1 if kept else 0)
        if used + need > room:
            break
        kept.append(word)
        used += need
    if kept:
        return " ".join(kept) + ELLIPSIS
    return cut_inside(words[0], room, size) + ELLIPSIS


def cut_inside(word: str, limit: int, size: Measure = len) -> str:
    """The longest start of `word` that measures at most `limit` by `size`."""
    kept: list[str] = []
    used = 0
    for char in word:
        used += size(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept)
