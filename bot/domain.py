"""The words of the domain: RAG ratings, statuses, refs, and the errors a partner can understand.

Pure: no I/O, no database, no Slack.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from enum import StrEnum
from typing import TypeGuard

from bot.privacy import find_personal_data


class UserError(Exception):
    """Something the person asked for cannot be done; the message says why, in their words."""


class NotFound(UserError):
    pass


class Invalid(UserError):
    pass


class Forbidden(UserError):
    pass


class FieldError(Invalid):
    """A value that cannot be saved, and which of a form's fields it came from (`field`), so a
    form can say so beside it; typed, it reads like any other refusal."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    # The five-point delivery-confidence scale many UK public bodies use adds these two; a plan
    # whose tracker uses them keeps them (see bot.plans.read, ParsedPlan.rag_scale).
    RED_AMBER = "red/amber"
    AMBER_GREEN = "amber/green"

    @classmethod
    def parse(cls, word: str) -> Rag:
        found = cls.lookup(word)
        if found is None:
            raise Invalid(f"“{word}” is not a RAG rating. Use one of: red, amber, green.")
        return found

    @classmethod
    def lookup(cls, word: str) -> Rag | None:
        key = word.strip().lower()
        return _RAG_WORDS.get(key)

    @property
    def three_point(self) -> Rag:
        """The nearer three-point rating, on the cautious side: red/amber → red, amber/green →
        amber; the three-point ratings themselves."""
        return {Rag.RED_AMBER: Rag.RED, Rag.AMBER_GREEN: Rag.AMBER}.get(self, self)

    @classmethod
    def scale(cls, points: int = 3) -> tuple[Rag, ...]:
        """The ratings of a three- or five-point plan, worst first."""
        if points == 5:
            return (cls.RED, cls.RED_AMBER, cls.AMBER, cls.AMBER_GREEN, cls.GREEN)
        return (cls.RED, cls.AMBER, cls.GREEN)


_RAG_WORDS = {
    "red": Rag.RED,
    "r": Rag.RED,
    "amber": Rag.AMBER,
    "a": Rag.AMBER,
    "green": Rag.GREEN,
    "g": Rag.GREEN,
    # As trackers write the five-point scale.
    "red/amber": Rag.RED_AMBER,
    "red-amber": Rag.RED_AMBER,
    "red amber": Rag.RED_AMBER,
    "r/a": Rag.RED_AMBER,
    "ra": Rag.RED_AMBER,
    "amber/red": Rag.RED_AMBER,
    "amber/green": Rag.AMBER_GREEN,
    "amber-green": Rag.AMBER_GREEN,
    "amber green": Rag.AMBER_GREEN,
    "a/g": Rag.AMBER_GREEN,
    "ag": Rag.AMBER_GREEN,
    "green/amber": Rag.AMBER_GREEN,
    "g/a": Rag.AMBER_GREEN,
    "a/r": Rag.RED_AMBER,
    # Delivery words trackers put in the RAG column.
    "off track": Rag.RED,
    "at risk": Rag.AMBER,
    "on track": Rag.GREEN,
}
FIVE_POINT_RAGS = frozenset({Rag.RED_AMBER, Rag.AMBER_GREEN})

# BRAG: councils rate finished work Blue. Counts, digests, board packs and charts rate a
# finished action (complete or signed off) Complete, a rating of its own beside the RAG ones.
COMPLETE = "complete"
# A rating as counted: a Rag, COMPLETE, or None for not rated.
Rating = Rag | str | None


def rating_of(rag: Rag | str | None, status: Status | str) -> Rating:
    """How an action is counted: Complete when finished, else its RAG (None: not rated)."""
    finished = Status(status).is_finished if isinstance(status, str) else status.is_finished
    return COMPLETE if finished else (Rag(rag) if rag else None)


class Status(StrEnum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"
    SIGNED_OFF = "signed off"
    HALTED = "halted"

    @classmethod
    def parse(cls, words: str) -> Status:
        found = cls.lookup(words)
        if found is None:
            valid = ", ".join(s.value for s in cls)
            raise Invalid(f"“{words}” is not a status. Use one of: {valid}.")
        return found

    @classmethod
    def lookup(cls, words: str) -> Status | None:
        key = re.sub(r"[\s_\-]+", " ", words.strip().lower())
        return _STATUS_WORDS.get(key)

    @classmethod
    def canonical(cls, words: str) -> Status | None:
        """Only the five statuses as written (any case, `-` or `_` for the space): what a typed
        update accepts, so a note that starts "Done …" or "Started …" is not read as a status."""
        key = re.sub(r"[\s_\-]+", " ", words.strip().lower())
        return next((s for s in cls if s.value == key), None)

    @property
    def is_closed(self) -> bool:
        return self in (Status.COMPLETE, Status.SIGNED_OFF, Status.HALTED)

    @property
    def is_finished(self) -> bool:
        """Done: rated Complete (BRAG's blue) in every count, whatever its RAG last was."""
        return self in (Status.COMPLETE, Status.SIGNED_OFF)


def is_overdue(due: date | None, status: str, today: date) -> TypeGuard[date]:
    """Past its due date and still open: what every overdue flag, list and reason means (and,
    when it is, `due` is a date)."""
    return due is not None and due < today and not Status(status).is_closed


# Trackers write statuses many ways; these are the ones the seeds' papers use.
_STATUS_WORDS: dict[str, Status] = {s.value: s for s in Status} | {
    "not yet started": Status.NOT_STARTED,
    "to do": Status.NOT_STARTED,
    "todo": Status.NOT_STARTED,
    "started": Status.IN_PROGRESS,
    "underway": Status.IN_PROGRESS,
    "on track": Status.IN_PROGRESS,
    "ongoing": Status.IN_PROGRESS,
    "in progress objective not met": Status.IN_PROGRESS,
    "actions to follow up": Status.IN_PROGRESS,
    "work in progress": Status.IN_PROGRESS,
    "wip": Status.IN_PROGRESS,
    "completed": Status.COMPLETE,
    "done": Status.COMPLETE,
    "finished": Status.COMPLETE,
    "objective met": Status.COMPLETE,
    "signed-off": Status.SIGNED_OFF,
    "signedoff": Status.SIGNED_OFF,
    "objective met and signed off": Status.SIGNED_OFF,
    "complete signed off": Status.SIGNED_OFF,
    "complete and signed off": Status.SIGNED_OFF,
    "objective met signed off": Status.SIGNED_OFF,
    "on hold": Status.HALTED,
    "paused": Status.HALTED,
    "stopped": Status.HALTED,
    "progress halted": Status.HALTED,
    "suspended": Status.HALTED,
}


class UpdateKind(StrEnum):
    """What a row of an action's history records."""

    UPDATE = "update"  # a progress update: note, and RAG or status perhaps
    SIGNOFF = "signoff"
    ASSIGN = "assign"  # the leads changed
    CREATED = "created"
    EDIT = "edit"  # title, measure, due date or workstream changed
    NOTE = "note"  # a tracker's progress commentary, imported: rating and status unchanged
    ESCALATION = "escalation"  # the board considered a red action
    MAP = "map"  # the strategic priorities it serves changed
    UNDO = "undo"  # a progress update taken back by its author: the values before it restored
    REDACTION = "redaction"  # an admin removed an earlier row's note (child data); see redaction

    @property
    def is_progress(self) -> bool:
        """Progress counts for "stale" and is the action's latest note; an edit is not."""
        return self in (UpdateKind.UPDATE, UpdateKind.SIGNOFF, UpdateKind.NOTE)


class Surface(StrEnum):
    """Where a change came from. A person acts through a chat or the console; the bot's own
    tooling (a plan file imported, a command at the terminal, the scheduler) acts for no one,
    and its rows name no person."""

    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"
    # the partnership's signed-in pages
    WEB = "web"
    IMPORT = "import"
    TERMINAL = "terminal"
    SCHEDULER = "scheduler"
    # carried over from before the surface was recorded, and not knowable
    UNKNOWN = "unknown"

    @property
    def has_person(self) -> bool:
        """Whether a person stands behind what comes from here."""
        return self not in (Surface.IMPORT, Surface.TERMINAL, Surface.SCHEDULER)

    @property
    def label(self) -> str:
        """Who acted, when no person did: how history and exports name it."""
        return {
            Surface.IMPORT: "import",
            Surface.TERMINAL: "terminal",
            Surface.SCHEDULER: "the bot",
        }.get(self, "unknown")


MAX_NOTE_CHARS = 3000
MAX_REF_CHARS = 20

_REF_RE = re.compile(r"^[0-9A-Z][0-9A-Z.\-/]*$")


def normalise_ref(text: str) -> str:
    """`12 a.1`, `12A.1 ` and `12a.1` are the same action: `12A.1`."""
    ref = re.sub(r"\s+", "", text).upper().rstrip(".")
    if not ref or len(ref) > MAX_REF_CHARS or not _REF_RE.match(ref):
        raise Invalid(
            f"“{text.strip()[:40]}” is not an action ref (refs look like 2A.3, 11F, 12A.1)."
        )
    return ref


def looks_like_ref(text: str) -> bool:
    try:
        normalise_ref(text)
    except Invalid:
        return False
    return any(c.isdigit() for c in text)


def nearest(word: str, candidates: list[str], n: int = 3) -> list[str]:
    """The candidates closest to `word`, for "did you mean" hints."""
    by_upper = {c.upper(): c for c in candidates}
    hits = difflib.get_close_matches(word.upper(), list(by_upper), n=n, cutoff=0.5)
    if not hits:
        prefix = [c for c in candidates if c.upper().startswith(word.upper()[:2])]
        return sorted(prefix)[:n]
    return [by_upper[h] for h in hits]


def clean_note(text: str, what: str = "note") -> str:
    """A note as stored: trimmed, not empty, within the limit. Escaping is the renderers' job."""
    note = text.strip()
    if not note:
        raise Invalid(f"The {what} is empty.")
    if "\x00" in note:  # PostgreSQL cannot store it; no one types it on purpose
        raise Invalid(f"The {what} contains a NUL character (\\0). Remove it and send it again.")
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(
            f"The {what} is {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}. "
            "Shorten it, or link to the evidence instead."
        )
    # Every free text a person types passes here (notes typed or in a form, questions, answers,
    # meeting and priority names), so this is the one gate for a child's details.
    personal = find_personal_data(note)
    if personal:
        raise Invalid(
            f"The {what} looks like it holds {personal}. The partnership's records hold no "
            "details of an individual child: describe the case without a name, date of birth, "
            "NHS number or UPN (say “a Year 5 pupil”, or give the case's own reference in the "
            "case system). Nothing was recorded."
        )
    return note


def ref_sort_key(ref: str) -> str:
    """A key that sorts refs as people read them: 2A.3 < 2B < 11A.2 < 11F < 12A.1."""
    return re.sub(r"\d+", lambda m: m.group(0).zfill(4), ref)


# Not strftime: `%a` and `%b` follow the process locale, and partners read English names.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(d: date) -> str:
    """`1 Dec 2026`."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def moment_text(local: datetime) -> str:
    """`Tue 1 Dec 2026 14:00`, for a time already in the partnership's timezone."""
    return f"{_DAYS[local.weekday()]} {day_text(local.date())} {local:%H:%M}"
