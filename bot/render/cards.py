"""Replies as Adaptive Cards 1.5 for Microsoft Teams: the one place that knows Teams' limits and
how its card text must be escaped.

Teams renders Adaptive Cards up to 1.5, and card text only in a markdown subset (bold, italic,
lists, links). This renderer emits no markdown at all: prose is `RichTextBlock` runs, whose text
the card schema defines as not markdown, with styles as run properties. User text is still
neutralised by `escape`, because Teams clients differ (some auto-link URLs and e-mail addresses,
some decode entities) and FactSet and TextBlock text *is* markdown: whatever a client does, user
text cannot become a mention, a link, an entity or markup.

Every posted activity stays within `MESSAGE_BYTES`: long action lists show fewer lines and end
"…and N more: @WSoA list amber", and whole elements that still do not fit are named in a closing
line, never dropped in silence.

Pure functions: no network, no SDK objects (the adapter wraps the dictionaries).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.domain import MAX_NOTE_CHARS, Rag, day_text
from bot.render.layout import Tone, more_text, rag_label, rag_tone, status_word
from bot.render.limits import shorten
from bot.replies import (
    ActionLine,
    ActionList,
    Attachment,
    Button,
    Buttons,
    Divider,
    Element,
    Form,
    Heading,
    Paragraph,
    Reply,
    Span,
    Table,
    plural,
)

Node = dict[str, Any]

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

# Teams refuses a bot message over 100 KB (it was 40 KB until 2025, and Microsoft's forums report
# 413s well under 100 KB, apparently from counting the body as UTF-16). The adapter's envelope
# (ids, serviceUrl, channelData) adds about 1 KB. So a message's activity is kept within 40 KB as
# measured by `activity_size`, which counts every non-ASCII character as six bytes (its JSON
# escape): an upper bound however the service counts.
MESSAGE_BYTES = 40_000
# What a dialog's card may hold; dialogs travel in an invoke response under the same limit.
DIALOG_BYTES = 40_000
# Room kept for the closing "…N more sections not shown" line.
_OVERFLOW_RESERVE = 600

# A Table reads well on a phone up to this many columns and rows; beyond, the rows become
# FactSets (too wide) or one line each (too long), which wrap instead of scrolling sideways.
TABLE_COLUMNS = 6
TABLE_ROWS = 25
# Rows shown by the one-line-a-row fallback; the rest are counted.
FALLBACK_ROWS = 100
# Buttons per ActionSet: Teams shows at most six actions in a row before folding them away.
ACTIONS_PER_SET = 6

# How much of each part of an action line a one-line summary shows; `show` has the rest.
REF_CHARS = 40
TITLE_CHARS = 300
LEAD_CHARS = 60
MAX_LEADS = 5
STATUS_CHARS = 40
NOTE_PREVIEW_CHARS = 200
HINT_CHARS = 100
CELL_CHARS = 200
BUTTON_LABEL = 60
DIALOG_TITLE = 60

# The verb of a form's Save when the form is a card replacing a message (not a dialog).
FORM_SUBMIT_VERB = "wsoa_form_submit"
# A form's initial values ride in its submit action's data under these keys.
INITIAL_PREFIX = "initial:"

# The command people type in Teams, in hints such as "…and 5 more: @WSoA list amber".
TEAMS_INVOCATION = "@WSoA "

# Adaptive Cards' colour for each tone of the one layout (bot/render/layout.py).
TONE_COLOUR = {
    Tone.BAD: "Attention",
    Tone.WARNING: "Warning",
    Tone.GOOD: "Good",
    Tone.NEUTRAL: "Default",
}

# --- escaping ----------------------------------------------------------------------------------

# U+2060 WORD JOINER: invisible and zero-width, so the text reads exactly as typed, but it breaks
# every sequence a markdown renderer, a linkifier or Teams' mention parser looks for.
WJ = "\u2060"
# `<` (tags, `<at>` mentions, `<https://…>` autolinks), `&` (entities: `&lt;` stays `&lt;`),
# `:` (schemes: `https://`, `mailto:`), `](` (inline links and images).
_INLINE = re.compile(r"[<&:](?=\S)|\](?=\()")
# A dot inside a word (`evil.com`, `x@council.gov.uk`): linkifiers only link known top-level
# domains, and `.⁠com` is none.
_DOT = re.compile(r"(?<=\w)\.(?=\w)")
# A line that markdown would read as a heading, quote, list, rule, table or link definition.
_BLOCK_START = re.compile(r"^(?=\s*(?:[#>+\-=|\[!]|\d+[.)]))", re.MULTILINE)
# Emphasis and code markers pair up across a whole text, so no invisible character can
# neutralise them: lookalikes keep the words readable (as the Block Kit renderer does).
_LOOKALIKES = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})


def escape(text: str) -> str:
    """User text made inert for any Teams client: never a mention, link, entity or markup."""
    text = text.translate(_LOOKALIKES)
    text = _INLINE.sub(lambda m: m.group() + WJ, text)
    text = _DOT.sub("." + WJ, text)
    return _BLOCK_START.sub(WJ, text)


def teams_hint(hint: str, invocation: str = TEAMS_INVOCATION) -> str:
    """A command hint as typed in Teams: `/wsoa list amber` → `@WSoA list amber`."""
    bare = hint.strip()
    for prefix in ("/wsoa ", "wsoa "):
        if bare.lower().startswith(prefix):
            bare = bare[len(prefix) :].strip()
            break
    return f"{invocation}{bare}"


def _fit(text: str, limit: int) -> str:
    return escape(shorten(text, limit))


# --- sizes -------------------------------------------------------------------------------------


def size(node: Any) -> int:
    """Bytes of `node` as compact JSON with every non-ASCII character escaped: never fewer than
    the service counts, in UTF-8 or UTF-16."""
    return len(json.dumps(node, separators=(",", ":")))


def activity_size(activity: Mapping[str, Any]) -> int:
    return size(activity)


# --- text nodes --------------------------------------------------------------------------------


def _text_block(text: str, **props: Any) -> Node:
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def _run(text: str, **props: Any) -> Node:
    return {"type": "TextRun", "text": text, **props}


def _rich(inlines: list[Node], **props: Any) -> Node:
    return {"type": "RichTextBlock", "inlines": inlines, **props}


def _span_text(span: Span, invocation: str) -> str:
    # Command hints are written for Slack today (`/wsoa help`); the core will pass the
    # adapter's own, until then they are rewritten here.
    if span.style == "code" and span.text.strip().lower().startswith("/wsoa"):
        return teams_hint(span.text.strip() + " ", invocation).rstrip()
    return span.text


def _span_run(span: Span, invocation: str) -> Node:
    """One span as a run: styles as properties; a mention is only the person's name (a Teams
    mention needs an entity, which this renderer never emits)."""
    text = _span_text(span, invocation)
    if span.style == "code":
        return _run(escape(text), fontType="Monospace")
    if span.style == "bold":
        return _run(escape(text), weight="Bolder")
    if span.style == "italic":
        return _run(escape(text), italic=True)
    return _run(escape(text))


def _paragraph(paragraph: Paragraph, invocation: str) -> list[Node]:
    runs = [_span_run(span, invocation) for span in paragraph.spans if span.text]
    return [_rich(runs)] if runs else []


def _heading(heading: Heading) -> list[Node]:
    text = _fit(heading.text, TITLE_CHARS)
    if not text:
        return []
    return [_text_block(text, style="heading", size="Medium", weight="Bolder")]


# --- tables ------------------------------------------------------------------------------------


def _cell(text: str, *, header: bool = False) -> Node:
    block = _text_block(_fit(text, CELL_CHARS))
    if header:
        block["weight"] = "Bolder"
    return {"type": "TableCell", "items": [block]}


def _table(table: Table) -> list[Node]:
    width = max([len(table.columns), *(len(row) for row in table.rows)])
    if width == 0:
        return []
    columns = table.columns + [""] * (width - len(table.columns))
    rows = [row + [""] * (width - len(row)) for row in table.rows]
    if width <= TABLE_COLUMNS and len(rows) <= TABLE_ROWS:
        return [
            {
                "type": "Table",
                "columns": [{"type": "TableColumnDefinition", "width": 1} for _ in columns],
                "firstRowAsHeader": True,
                "rows": [
                    {"type": "TableRow", "cells": [_cell(c, header=True) for c in columns]},
                    *({"type": "TableRow", "cells": [_cell(c) for c in row]} for row in rows),
                ],
            }
        ]
    shown = rows[:FALLBACK_ROWS]
    nodes: list[Node]
    if width > TABLE_COLUMNS:
        # Too wide for a phone: each row a FactSet of column → value.
        nodes = [
            {
                "type": "FactSet",
                "separator": True,
                "facts": [
                    {"title": _fit(column, CELL_CHARS), "value": _fit(value, CELL_CHARS)}
                    for column, value in zip(columns, row, strict=True)
                    if value.strip()
                ]
                or [{"title": _fit(columns[0], CELL_CHARS), "value": "—"}],
            }
            for row in shown
        ]
    else:
        # Too long: one line a row, the first cell in bold.
        nodes = [
            _rich(
                [
                    _run(_fit(row[0], CELL_CHARS), weight="Bolder"),
                    _run(" · ".join(_fit(cell, CELL_CHARS) for cell in row[1:] if cell.strip())),
                ]
            )
            for row in shown
        ]
        heading = " · ".join(_fit(column, CELL_CHARS) for column in columns if column)
        nodes.insert(0, _text_block(heading, isSubtle=True, size="Small"))
    if len(rows) > len(shown):
        nodes.append(_text_block(f"…and {plural(len(rows) - len(shown), 'more row')}"))
    return nodes


# --- buttons -----------------------------------------------------------------------------------


def _button(button: Button) -> Node:
    action: Node = {
        "type": "Action.Execute",
        "title": _fit(button.label, BUTTON_LABEL) or "Open",
        # The adapter dispatches on the verb, exactly as Slack's listeners do on action_id.
        "verb": button.action_id,
        "data": {"value": button.value},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _buttons(buttons: Buttons) -> list[Node]:
    actions = [_button(button) for button in buttons.buttons]
    return [
        {"type": "ActionSet", "actions": actions[start : start + ACTIONS_PER_SET]}
        for start in range(0, len(actions), ACTIONS_PER_SET)
    ]


# --- action lists ------------------------------------------------------------------------------


def rag_runs(rag: Rag | None) -> list[Node]:
    """RAG as symbol and word (colour only repeats them): readable without colour vision."""
    if rag is None:
        return [_run(rag_label(None), isSubtle=True)]
    colour = TONE_COLOUR[rag_tone(rag)]
    return [_run(rag_label(rag), weight="Bolder", color=colour)]


def _action_line(line: ActionLine) -> Node:
    inlines = [
        *rag_runs(line.rag),
        _run("  "),
        _run(_fit(line.ref, REF_CHARS), weight="Bolder"),
        _run(" " + _fit(line.title, TITLE_CHARS)),
    ]
    facts: list[str] = []
    if line.leads:
        names = [_fit(lead.text, LEAD_CHARS) for lead in line.leads[:MAX_LEADS]]
        extra = len(line.leads) - MAX_LEADS
        facts.append(", ".join(names) + (f" +{extra} more" if extra > 0 else ""))
    if line.due is not None:
        facts.append(f"due {day_text(line.due)}")
    if line.status:
        facts.append(_fit(status_word(line.status), STATUS_CHARS))
    if facts:
        inlines.append(_run(" — " + " · ".join(facts), isSubtle=True))
    items: list[Node] = [_rich(inlines)]
    if line.note:
        items.append(
            _rich([_run("Latest: ", isSubtle=True), _run(_fit(line.note, NOTE_PREVIEW_CHARS))])
        )
    return {"type": "Container", "spacing": "Small", "items": items}


class _ListLayout:
    """An ActionList as nodes, showing its first `shown` lines and a closing line for the rest.
    Line sizes are measured once, so the budget can try any count cheaply."""

    def __init__(self, actions: ActionList, room: int, invocation: str) -> None:
        self.total = len(actions.items)
        self.more = max(actions.more, 0)
        hint = actions.more_hint
        self.hint = _fit(teams_hint(hint, invocation), HINT_CHARS) if hint else ""
        self.empty = _fit(actions.empty, TITLE_CHARS) or "None."
        title = _fit(actions.title or "", TITLE_CHARS)
        self.head = [_text_block(title, weight="Bolder")] if title else []
        # Render lines only while they could still fit: a list of thousands costs what is shown.
        self.lines: list[Node] = []
        self.sizes = [0]
        used = sum(size(node) for node in self.head)
        for item in actions.items:
            if used > room:
                break
            node = _action_line(item)
            self.lines.append(node)
            used += size(node) + 1
            self.sizes.append(self.sizes[-1] + size(node) + 1)
        self.shown = len(self.lines)
        self.head_size = sum(size(node) + 1 for node in self.head)

    def tail(self, shown: int) -> Node | None:
        if self.total == 0 and self.more == 0:
            return _text_block(self.empty, isSubtle=True)
        hidden = self.total - shown + self.more
        if hidden <= 0:
            return None
        text = more_text(hidden, self.hint)
        return _text_block(text, isSubtle=True)

    def bytes(self, shown: int | None = None) -> int:
        shown = self.shown if shown is None else min(shown, len(self.lines))
        tail = self.tail(shown)
        return self.head_size + self.sizes[shown] + (size(tail) + 1 if tail else 0)

    def nodes(self) -> list[Node]:
        tail = self.tail(self.shown)
        return [*self.head, *self.lines[: self.shown], *([tail] if tail else [])]


# --- files -------------------------------------------------------------------------------------


def _file(attachment: Attachment, room: int) -> list[Node]:
    """An image inside the card when its data URL fits the budget; any other file, or an image
    too large to carry, as a line naming it (the adapter offers it another way)."""
    title = _fit(attachment.title, TITLE_CHARS)
    name = _fit(attachment.filename, TITLE_CHARS)
    if attachment.media_type in ("image/png", "image/jpeg", "image/gif"):
        url = f"data:{attachment.media_type};base64," + base64.b64encode(attachment.data).decode()
        image: Node = {
            "type": "Image",
            "url": url,
            "altText": _fit(attachment.alt_text or attachment.title, 1000),
            "size": "Stretch",
        }
        caption = _text_block(title, isSubtle=True, size="Small")
        if size(image) + size(caption) + 2 <= room:
            return [image, caption]
        return [_text_block(f"{title} ({name}) is too large to show here.", isSubtle=True)]
    return [_text_block(f"Attached: {title} ({name}, {len(attachment.data):,} bytes)")]


# --- the budget --------------------------------------------------------------------------------


@dataclass
class _Part:
    nodes: list[Node]
    layout: _ListLayout | None = None


def _part(element: Element, room: int, invocation: str) -> _Part:
    if isinstance(element, ActionList):
        return _Part([], layout=_ListLayout(element, room, invocation))
    if isinstance(element, Heading):
        return _Part(_heading(element))
    if isinstance(element, Paragraph):
        return _Part(_paragraph(element, invocation))
    if isinstance(element, Table):
        return _Part(_table(element))
    if isinstance(element, Buttons):
        return _Part(_buttons(element))
    if isinstance(element, Divider):
        # An empty container with a separator line: the card schema has no divider element.
        return _Part([{"type": "Container", "separator": True, "spacing": "Medium", "items": []}])
    raise TypeError(f"no card rendering for {type(element).__name__}")


def _shrink_lists(parts: list[_Part], room: int) -> None:
    """Spend the budget: the longest lists give way first, to a common number of lines."""
    layouts = [part.layout for part in parts if part.layout]
    if not layouts:
        return
    fixed = sum(size(node) + 1 for part in parts if not part.layout for node in part.nodes)

    def total(cap: int) -> int:
        return fixed + sum(layout.bytes(min(layout.shown, cap)) for layout in layouts)

    if total(max(layout.shown for layout in layouts)) <= room:
        return
    low, high = 0, max(layout.shown for layout in layouts)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if total(middle) <= room else (low, middle - 1)
    for layout in layouts:
        layout.shown = min(layout.shown, low)


def _cut(parts: list[_Part], room: int, hint: str | None, invocation: str) -> list[Node]:
    """Keep whole elements, in order, while they fit; name what could not in one last line."""
    everything = [node for part in parts for node in part.nodes]
    if sum(size(node) + 1 for node in everything) <= room:
        return everything
    left = room - _OVERFLOW_RESERVE
    kept: list[Node] = []
    unseen = 0
    for index, part in enumerate(parts):
        need = sum(size(node) + 1 for node in part.nodes)
        if need <= left:
            kept.extend(part.nodes)
            left -= need
            continue
        unseen = sum(1 for later in parts[index:] if later.nodes)
        break
    # A heading with nothing under it would only mislead.
    while kept and kept[-1].get("style") == "heading":
        kept.pop()
        unseen += 1
    if unseen:
        text = f"…{unseen} more {'section' if unseen == 1 else 'sections'} not shown"
        if hint:
            text += f": use {_fit(teams_hint(hint, invocation), HINT_CHARS)}"
        kept.append(_text_block(text, isSubtle=True))
    return kept


def body(
    reply: Reply,
    *,
    room: int = MESSAGE_BYTES,
    more_hint: str | None = None,
    invocation: str = TEAMS_INVOCATION,
) -> list[Node]:
    """The reply's card body within `room` bytes."""
    hint = more_hint or next(
        (e.more_hint for e in reply.elements if isinstance(e, ActionList) and e.more_hint), None
    )
    parts = [_part(element, room, invocation) for element in reply.elements]
    files_room = room - sum(size(n) + 1 for p in parts for n in p.nodes) - _OVERFLOW_RESERVE
    for attachment in reply.files:
        nodes = _file(attachment, max(files_room, 0))
        files_room -= sum(size(node) + 1 for node in nodes)
        parts.append(_Part(nodes))
    _shrink_lists(parts, room)
    for part in parts:
        if part.layout:
            part.nodes = part.layout.nodes()
    return _cut(parts, room, hint, invocation)


# --- the card and the activity -----------------------------------------------------------------


def summary_text(reply: Reply, invocation: str = TEAMS_INVOCATION) -> str:
    """The activity's `summary`: what notifications and the chat list show for a card."""
    text = reply.summary
    for element in reply.elements:
        if text.strip():
            break
        if isinstance(element, Heading):
            text = element.text
        elif isinstance(element, Paragraph):
            text = "".join(_span_text(span, invocation) for span in element.spans)
        elif isinstance(element, ActionList) and element.title:
            text = element.title
    return _fit(text, 300) or "WSoA bot"


def adaptive_card(
    card_body: list[Node], *, fallback: str, actions: list[Node] | None = None
) -> Node:
    card: Node = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": fallback,
        "body": card_body,
        # Teams-only: use the conversation's full width (tables and action lines need it).
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def card_attachment(card: Node) -> Node:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def message(
    reply: Reply, *, more_hint: str | None = None, invocation: str = TEAMS_INVOCATION
) -> Node:
    """A message activity (`type`, `summary`, one Adaptive Card attachment) within
    MESSAGE_BYTES, whatever the reply's size.

    `more_hint` is the command named when whole elements do not fit (by default the first
    list's own hint); `invocation` is how the hints are typed (`@WSoA ` in a channel)."""
    summary = summary_text(reply, invocation)
    envelope = {
        "type": "message",
        "summary": summary,
        "attachments": [card_attachment(adaptive_card([], fallback=summary))],
    }
    room = MESSAGE_BYTES - size(envelope)
    nodes = body(reply, room=room, more_hint=more_hint, invocation=invocation)
    card = adaptive_card(nodes or [_text_block(summary)], fallback=summary)
    return {"type": "message", "summary": summary, "attachments": [card_attachment(card)]}


# --- dialogs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One input of a dialog. A small model of its own, so that moving to the core's generic
    form model is a few lines in `dialog_from_*`."""

    id: str
    label: str
    kind: Literal["choice", "text", "multiline"]
    options: tuple[Choice, ...] = ()
    initial: str | None = None
    required: bool = False
    placeholder: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Dialog:
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    # What the submission is for (`update`, `answer`) and about (`11F`, `FU-3`): carried in the
    # submit action's data, so the submission names its form without server-side state.
    purpose: str
    key: str
    intro: tuple[Span, ...] = ()
    context: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def dialog_from_form(form: Form) -> Dialog:
    """The core's generic form (the update form, the answer form) as a dialog: the same fields
    as Slack's modal."""
    return Dialog(
        title=form.title,
        submit_label=form.submit_label,
        purpose=form.purpose,
        key=form.key,
        intro=tuple(form.about),
        context=form.context,
        fields=tuple(
            FormField(
                id=f.id,
                label=f.label,
                kind=f.kind,
                options=tuple(Choice(value=c.value, label=c.label) for c in f.options),
                initial=f.initial,
                required=f.required,
                placeholder=f.placeholder,
                max_length=f.max_length,
            )
            for f in form.fields
        ),
        # The values it opened with travel with the submission, so only what the person
        # changed counts as a change (as Slack's modal keeps them in its metadata).
        extra={INITIAL_PREFIX + f.id: f.initial for f in form.fields if f.initial is not None},
    )


def _input(form_field: FormField) -> Node:
    node: Node
    if form_field.kind == "choice":
        node = {
            "type": "Input.ChoiceSet",
            "id": form_field.id,
            "style": "compact",
            "choices": [
                {"title": _fit(c.label, TITLE_CHARS), "value": c.value} for c in form_field.options
            ],
        }
    else:
        node = {"type": "Input.Text", "id": form_field.id}
        if form_field.kind == "multiline":
            node["isMultiline"] = True
        if form_field.max_length:
            node["maxLength"] = form_field.max_length
    node["label"] = _fit(form_field.label, TITLE_CHARS)
    if form_field.initial is not None:
        # Input values are not rendered as markdown: the value is the user's text as typed.
        node["value"] = form_field.initial
    if form_field.placeholder:
        node["placeholder"] = _fit(form_field.placeholder, TITLE_CHARS)
    if form_field.required:
        node["isRequired"] = True
        node["errorMessage"] = f"{_fit(form_field.label, TITLE_CHARS)} is needed."
    return node


def dialog_card(
    dialog: Dialog,
    errors: Mapping[str, str] | None = None,
    *,
    submit: Literal["dialog", "card"] = "dialog",
) -> Node:
    """The dialog as a card with inputs and one submit action. `errors` (by field id, or `""`
    for the form as a whole) are shown in red above the field they concern.

    `submit="dialog"`: the card of a dialog (`task/fetch`), submitted by `Action.Submit` as
    `task/submit`. `submit="card"`: a card with inputs that replaces a message (the answer to
    an `Action.Execute` button), submitted by `Action.Execute` with verb FORM_SUBMIT_VERB.
    Either way the submission's data carries `purpose` and `key` beside the inputs."""
    errors = errors or {}
    nodes: list[Node] = []
    if dialog.intro:
        nodes.append(_paragraph(Paragraph(spans=list(dialog.intro)), TEAMS_INVOCATION)[0])
    if dialog.context:
        nodes.append(_text_block(_fit(dialog.context, TITLE_CHARS), isSubtle=True))
    if errors.get(""):
        nodes.append(_text_block(_fit(errors[""], MAX_NOTE_CHARS), color="Attention"))
    for form_field in dialog.fields:
        if errors.get(form_field.id):
            nodes.append(
                _text_block(_fit(errors[form_field.id], MAX_NOTE_CHARS), color="Attention")
            )
        nodes.append(_input(form_field))
    action: Node = {
        "type": "Action.Submit",
        "title": _fit(dialog.submit_label, BUTTON_LABEL) or "Save",
        "style": "positive",
        "data": {"purpose": dialog.purpose, "key": dialog.key, **dialog.extra},
    }
    if submit == "card":
        action["type"] = "Action.Execute"
        action["verb"] = FORM_SUBMIT_VERB
    card = adaptive_card(nodes, fallback=_fit(dialog.title, DIALOG_TITLE), actions=[action])
    if size(card) > DIALOG_BYTES:
        # Only the intro is unbounded user text; the inputs must survive.
        card["body"] = [n for n in nodes if n["type"].startswith("Input.")]
    return card


def dialog_task(dialog: Dialog, errors: Mapping[str, str] | None = None) -> Node:
    """The invoke response to `task/fetch` (or to a `task/submit` with errors): a dialog."""
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": shorten(dialog.title, DIALOG_TITLE),
                "width": "medium",
                "height": "medium",
                "card": card_attachment(dialog_card(dialog, errors)),
            },
        }
    }


def open_dialog_action(title: str, purpose: str, key: str) -> Node:
    """A button that opens a dialog (`task/fetch` carrying `purpose` and `key`): Teams opens
    dialogs only from `Action.Submit` buttons marked this way."""
    return {
        "type": "Action.Submit",
        "title": _fit(title, BUTTON_LABEL) or "Open",
        "data": {"msteams": {"type": "task/fetch"}, "purpose": purpose, "key": key},
    }


def form_message(form: Form) -> Node:
    """A typed `update REF` in a chat: a message can hold no dialog, so it holds the button
    that opens one (the same dialog the card buttons open)."""
    title = _fit(form.title, DIALOG_TITLE)
    nodes = [_text_block(title, weight="Bolder")]
    if form.context:
        nodes.append(_text_block(_fit(form.context, TITLE_CHARS), isSubtle=True))
    card = adaptive_card(
        nodes, fallback=title, actions=[open_dialog_action(form.title, form.purpose, form.key)]
    )
    return {"type": "message", "summary": title, "attachments": [card_attachment(card)]}


def invoke_card(card: Node) -> Node:
    """The answer to an `adaptiveCard/action` invoke that replaces the card it came from."""
    return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}


def invoke_message(text: str) -> Node:
    """The answer to an `adaptiveCard/action` invoke that shows a short message instead."""
    return {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": shorten(text, 300),
    }


def dialog_closed(message_text: str | None = None) -> Node:
    """The invoke response to a `task/submit` that succeeded: closes the dialog (with a short
    message when given)."""
    if message_text:
        return {"task": {"type": "message", "value": shorten(message_text, 300)}}
    return {}


def read_submission(dialog: Dialog, data: Mapping[str, Any]) -> dict[str, str]:
    """The submitted values by field id: strings, `""` for a field left empty (Teams leaves
    out empty inputs), and a choice that is not one of the options reads as empty."""
    values: dict[str, str] = {}
    for form_field in dialog.fields:
        raw = data.get(form_field.id)
        value = raw if isinstance(raw, str) else ""
        if form_field.kind == "choice" and value not in {c.value for c in form_field.options}:
            value = ""
        values[form_field.id] = value
    return values


def submission_target(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """(purpose, key) of a dialog submission, or None when the data is not one of ours."""
    purpose, key = data.get("purpose"), data.get("key")
    if isinstance(purpose, str) and isinstance(key, str):
        return purpose, key
    return None


def texts(node: Any) -> Iterable[str]:
    """Every string a person may read in a card: for tests and for the size of what is shown."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in (
                "text",
                "title",
                "value",
                "label",
                "altText",
                "fallbackText",
                "summary",
            ) and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def unescape(text: str) -> str:
    """What a person sees: the word joiners removed (tests compare with what was typed)."""
    return text.replace(WJ, "")
