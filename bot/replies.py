"""The platform-neutral reply: what a command or a digest says, before any renderer shapes it.

Text in a reply is always plain: renderers escape it for their platform. Structure (bold,
mentions, RAG) is carried by the model, never by markup inside strings, so a note can never
turn into a mention or a link.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from bot.domain import Rag


class Span(BaseModel):
    """A run of text. With `person_id` it is a mention of that person: each renderer mentions
    them by their user id on its platform (`handles`, platform → user id), or shows `text`
    where they have none."""

    text: str
    style: Literal["plain", "bold", "italic", "code"] = "plain"
    person_id: int | None = None
    handles: dict[str, str] = Field(default_factory=dict)

    @property
    def is_mention(self) -> bool:
        return self.person_id is not None


def plain(text: str) -> Span:
    return Span(text=text)


def bold(text: str) -> Span:
    return Span(text=text, style="bold")


def code(text: str) -> Span:
    return Span(text=text, style="code")


def mention(name: str, person_id: int | None, handles: dict[str, str] | None = None) -> Span:
    return Span(text=name, person_id=person_id, handles=handles or {})


def joined(spans: list[Span], separator: str = ", ") -> list[Span]:
    """The spans with a plain separator between each: names in a list."""
    out: list[Span] = []
    for i, span in enumerate(spans):
        if i:
            out.append(plain(separator))
        out.append(span)
    return out


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class Heading(BaseModel):
    kind: Literal["heading"] = "heading"
    text: str


class Paragraph(BaseModel):
    kind: Literal["paragraph"] = "paragraph"
    spans: list[Span]


class Table(BaseModel):
    kind: Literal["table"] = "table"
    columns: list[str]
    rows: list[list[str]]


class ActionLine(BaseModel):
    ref: str
    title: str
    rag: Rag | None = None
    status: str | None = None
    due: date | None = None
    leads: list[Span] = Field(default_factory=list)
    note: str | None = None


class ActionList(BaseModel):
    """Actions, one line each. `more` counts what the producer left out; `more_hint` says where
    to see it all (a command). Renderers may show fewer, adding to `more` the same way."""

    kind: Literal["actions"] = "actions"
    title: str | None = None
    items: list[ActionLine]
    more: int = 0
    more_hint: str | None = None
    empty: str = "None."


class ButtonId(StrEnum):
    """Every button a reply can carry. Each has one entry in the core's table of interactions
    (bot/commands/interactions.py): what pressing it runs, on every surface."""

    UPDATE = "wsoa_update_open"
    ANSWER = "wsoa_followup_answer"
    UNDO = "wsoa_undo"
    NO_CHANGE = "wsoa_no_change"
    REPORT = "wsoa_report_open"
    RECORD_FIGURE = "wsoa_kpi_record_open"
    CONFIRM_SIGNOFF = "wsoa_signoff_confirm"


class FormPurpose(StrEnum):
    """Every form a reply can open. Each has one entry in the core's table of interactions:
    how it is opened again and what submitting it saves."""

    UPDATE = "update"
    ANSWER = "answer"
    REPORT = "report"
    FIGURE = "kpi_record"


class Button(BaseModel):
    label: str
    action_id: ButtonId
    value: str
    style: Literal["primary", "danger"] | None = None


class Buttons(BaseModel):
    kind: Literal["buttons"] = "buttons"
    buttons: list[Button]


class Divider(BaseModel):
    kind: Literal["divider"] = "divider"


Element = Annotated[
    Heading | Paragraph | Table | ActionList | Buttons | Divider, Field(discriminator="kind")
]


class Choice(BaseModel):
    value: str
    label: str


class FormField(BaseModel):
    """One input of a form: a choice of options, a line of text, or several lines."""

    id: str
    label: str
    kind: Literal["choice", "text", "multiline"]
    options: list[Choice] = Field(default_factory=list)
    initial: str | None = None
    required: bool = False
    hint: str | None = None
    placeholder: str | None = None
    max_length: int | None = None


class Form(BaseModel):
    """Ask the platform to open a form (a modal in Slack, a dialog in Teams). `purpose` says
    what it is for ("update", "answer") and `key` what about (an action ref, a follow-up id):
    the adapter keeps both, with each field's initial value, and hands them back with the
    values as a `FormSubmission` (bot/commands/interactions.py decides what it means)."""

    purpose: FormPurpose
    key: str
    title: str
    submit_label: str = "Save"
    # what the form is about, shown above its fields: a heading line and a note of how things
    # stand now
    about: list[Span] = Field(default_factory=list)
    context: str | None = None
    fields: list[FormField]

    def field(self, field_id: str) -> FormField:
        return next(f for f in self.fields if f.id == field_id)

    def initial_values(self) -> dict[str, str | None]:
        return {f.id: f.initial for f in self.fields}


class FormSubmission(BaseModel):
    """A submitted form: what it was for, the values entered (None for left empty) and the
    values it was opened with (so only what the person changed counts as a change)."""

    purpose: str
    key: str
    values: dict[str, str | None]
    initial: dict[str, str | None] = Field(default_factory=dict)


class Attachment(BaseModel):
    """A file that goes with a reply: a chart (PNG) or a board pack (Word). Slack uploads it;
    Teams shows an image inside the card or links to a download; the console saves it."""

    filename: str
    media_type: str
    data: bytes
    title: str
    # what a screen reader says for an image: required for charts
    alt_text: str | None = None
    # a kept board pack's snapshot, so a platform that links rather than uploads (Teams) can
    # make a download link for exactly this file
    snapshot_id: int | None = None


class Reply(BaseModel):
    elements: list[Element] = Field(default_factory=list)
    files: list[Attachment] = Field(default_factory=list)
    visibility: Literal["private", "channel"] = "private"
    # A one-line summary: Slack's notification text, and the fallback where blocks are not shown.
    summary: str = ""
    form: Form | None = None
    # The caller's own work changed (an update, an answer): views of it, like Slack's Home tab,
    # are out of date.
    changed_own_work: bool = False

    def add(self, *elements: Element) -> Reply:
        self.elements.extend(elements)
        return self

    def heading(self, text: str) -> Reply:
        return self.add(Heading(text=text))

    def para(self, *spans: Span | str) -> Reply:
        return self.add(Paragraph(spans=[plain(s) if isinstance(s, str) else s for s in spans]))


def say(text: str, visibility: Literal["private", "channel"] = "private") -> Reply:
    return Reply(summary=text, visibility=visibility).para(text)
