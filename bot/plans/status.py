"""The status column as trackers write it: a word, or a sentence that states one.

"Objective met – signed off by SEND Ops 26/11/19" is a sign-off, by SEND Ops, on 26 November
2019; "Progress halted due to staff changes" is halted. The sentence itself is kept as a note,
so nothing the tracker said is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.domain import Invalid, Status
from bot.plans.dates import parse_due

_SIGNED_OFF = re.compile(
    r"signed[\s\-]*off"
    r"(?:\s+by\s+(?P<who>.+?))?"
    r"(?:\s*(?:on|,|-|–)?\s*(?P<when>\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})))?"
    r"\s*[.!]?\s*$",
    re.IGNORECASE,
)
# Read in this order: a negative ("objective not met", "not complete") before the positive
# word it contains, and a halt before "progress".
_KEYWORDS: tuple[tuple[re.Pattern[str], Status], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), status)
    for pattern, status in (
        (r"\bnot\s+(?:yet\s+)?started\b|\bnot\s+(?:yet\s+)?due\b", Status.NOT_STARTED),
        (r"\b(?:halted|on\s+hold|paused|stopped|suspended|superseded)\b", Status.HALTED),
        (r"\bnot\s+(?:met|complete|completed|achieved)\b", Status.IN_PROGRESS),
        (r"\b(?:partially|partly)\b", Status.IN_PROGRESS),
        (r"\bfollow[\s\-]*up\b", Status.IN_PROGRESS),
        (r"\bpropos\w*\s+(?:to|for)\s+clos|\brecommend\w*\s+for\s+closure", Status.COMPLETE),
        (r"\b(?:complete|completed|objective\s+met|achieved|done|closed)\b", Status.COMPLETE),
        (
            r"\b(?:in\s+progress|on\s+track|underway|ongoing|started|open|delayed|overdue|"
            r"behind\s+schedule|slipped)\b",
            Status.IN_PROGRESS,
        ),
    )
)


# A status cell of this many words or more is a sentence worth keeping as the action's note.
SENTENCE_WORDS = 4


@dataclass(frozen=True)
class StatusReading:
    status: Status | None
    # Set when the cell was a sentence rather than a status word: kept as the action's note.
    sentence: str | None = None
    signed_off_by: str | None = None
    signed_off_on: date | None = None


def read_status(text: str) -> StatusReading:
    """The status a cell states. Raises Invalid when it states none."""
    text = " ".join(text.split())
    if not text:
        return StatusReading(None)
    # Words like "Complete – signed off" use dashes of every length between their parts.
    plain = re.sub(r"\s*[–—:]\s*", " - ", text).rstrip(".!")
    word = Status.lookup(plain)
    if word is not None:
        # "Actions to follow up" says more than its status: it is kept as a note too.
        wordy = len(re.findall(r"\w+", text)) >= SENTENCE_WORDS
        return StatusReading(word, text if wordy else None)
    match = _SIGNED_OFF.search(text)
    if match and not re.search(r"\bnot\s+(?:yet\s+)?signed", text, re.IGNORECASE):
        who = match.group("who")
        who = who.strip(" .,-–") if who else None
        when = _day(match.group("when"))
        return StatusReading(Status.SIGNED_OFF, text, who or None, when)
    for pattern, status in _KEYWORDS:
        if pattern.search(text):
            return StatusReading(status, text)
    words = ", ".join(s.value for s in Status)
    raise Invalid(f"states no status (use {words}, or a sentence such as “Objective met”)")


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return parse_due(text)[0]
    except Invalid:
        return None
