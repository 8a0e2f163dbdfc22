"""Replies as Slack Block Kit: the one place that knows Slack's limits and mrkdwn escaping.

Every limit is a budget spent here, so no caller can build a payload Slack rejects: long lists
lose whole trailing lines (and say how many, and where to see them), long text is cut between
words with "…", and whatever cannot fit at all is named in a closing line, never dropped in
silence. User text is escaped (`&`, `<`, `>`) wherever it is shown, so a note cannot ping
@channel or hide a link.

Pure functions: no network, no Slack client.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from bot.domain import day_text
from bot.render.layout import more_text, rag_symbol, status_word
from bot.render.limits import cut_inside, shorten
from bot.replies import (
    ActionLine,
    ActionList,
    Button,
    Buttons,
    Divider,
    Element,
    Form,
    FormField,
    Heading,
    Paragraph,
    Reply,
    Span,
    Table,
    plural,
)

Block = dict[str, Any]

# Slack's documented limits.
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_CHARS = 3000
HEADER_CHARS = 150
BUTTON_LABEL = 75
BUTTON_VALUE = 2000
ACTION_ID_CHARS = 255
ACTIONS_ELEMENTS = 25
MODAL_TITLE = 24
PRIVATE_METADATA_CHARS = 3000
NOTIFICATION_CHARS = 3000

# chat.postMessage also rejects a message whose blocks hold more than about 12,000 characters of
# text in all (`msg_blocks_too_long`; undocumented, reported in slackapi/bolt-js#2509 and #2867,
# where 11,341 already failed). Keep well under it.
MESSAGE_CHARS = 8000
# No aggregate limit is documented for views; this bound keeps a Home tab readable and far from
# any payload ceiling.
VIEW_CHARS = 30000

# How much of each part of an action line a one-line summary shows; `show` has the rest.
# Bounding every part keeps any single line far inside one section.
REF_CHARS = 40
TITLE_CHARS = 300
LEAD_CHARS = 60
MAX_LEADS = 5
STATUS_CHARS = 40
NOTE_PREVIEW_CHARS = 200
HINT_CHARS = 100
CELL_CHARS = 60

# Room kept for the closing "…N more sections not shown" block.
_OVERFLOW_RESERVE_CHARS = 300

UPDATE_CALLBACK = "wsoa_update"
RAG_BLOCK = "wsoa_update_rag"
RAG_ACTION = "rag"
STATUS_BLOCK = "wsoa_update_status"
STATUS_ACTION = "status"
NOTE_BLOCK = "wsoa_update_note"
NOTE_ACTION = "note"
ANSWER_CALLBACK = "wsoa_followup_answer_form"
ANSWER_BLOCK = "wsoa_answer"
ANSWER_ACTION = "answer"


_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_MARKERS = {"bold": "*", "italic": "_", "code": "`"}
# Inside styled text these would close the styling early or open another; lookalikes keep the
# words readable without letting user text break out.
_BREAKOUT = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})


# --- text --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape Slack's control characters; `&` first so the other entities survive."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _size(text: str) -> int:
    """Length as Slack may count it. UTF-16 units are never fewer than code points, so a text
    within budget by this measure is within it however Slack counts (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _escaped_size(text: str) -> int:
    return _size(escape(text))


def _shorten(text: str, limit: int) -> str:
    """Flattened and cut after a whole word so that it stays within `limit` once escaped."""
    return shorten(text, limit, _escaped_size)


def _hard_cut(word: str, limit: int) -> str:
    return cut_inside(word, limit, _escaped_size)


def _fit(text: str, limit: int) -> str:
    """Escaped, flattened, and within `limit`."""
    return escape(_shorten(text, limit))


def _styled(text: str, style: str) -> str:
    """Escaped mrkdwn for one run of user text in a style. Slack does not style across lines,
    nor when the markers touch spaces, so styled text is flattened and its outer spaces moved
    outside the markers."""
    marker = _MARKERS.get(style)
    core = " ".join(text.split())
    if marker is None or not core:
        return escape(text)
    core = core.replace("`", "ˋ") if style == "code" else core.translate(_BREAKOUT)
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{marker}{escape(core)}{marker}{trail}"


def _span(span: Span) -> str:
    user_id = span.handles.get("slack")
    if user_id is not None and _USER_ID.match(user_id):
        mention = f"<@{user_id}>"
        marker = _MARKERS.get(span.style, "")
        return f"{marker}{mention}{marker}" if span.style != "code" else mention
    return _styled(span.text, span.style)


def spans_to_mrkdwn(spans: list[Span]) -> str:
    """Spans as mrkdwn: styles as markers, valid mentions as `<@U…>`, everything else escaped."""
    return "".join(_span(span) for span in spans)


def _plain_words(spans: Iterable[Span]) -> str:
    return "".join(span.text for span in spans)


def _plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _text_size(node: Any) -> int:
    """Characters of text a block carries (what Slack's aggregate limit counts)."""
    if isinstance(node, dict):
        return sum(
            _size(value) if key == "text" and isinstance(value, str) else _text_size(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return sum(_text_size(item) for item in node)
    return 0


# --- elements ----------------------------------------------------------------------------------


def _header(heading: Heading) -> list[Block]:
    text = _fit(heading.text, HEADER_CHARS)
    return [{"type": "header", "text": _plain_text(text)}] if text else []


def _paragraph(paragraph: Paragraph) -> list[Block]:
    pieces = [piece for span in paragraph.spans for piece in _span_pieces(span)]
    return [_section(text) for text in _pack(pieces, SECTION_CHARS, joiner="") if text.strip()]


def _span_pieces(span: Span) -> list[str]:
    """A span as one or more mrkdwn pieces, each small enough for a section. Only a span longer
    than a section is split, between words, each piece styled on its own."""
    rendered = _span(span)
    if _size(rendered) <= SECTION_CHARS:
        return [rendered]
    # Room for the markers and the spaces moved outside them.
    room = SECTION_CHARS - 4
    pieces: list[str] = []
    chunk: list[str] = []
    used = 0
    for token in re.findall(r"\S+\s*|\s+", span.text):
        for part in _hard_split(token, room):
            need = _escaped_size(part)
            if chunk and used + need > room:
                pieces.append(_styled("".join(chunk), span.style))
                chunk, used = [], 0
            chunk.append(part)
            used += need
    if chunk:
        pieces.append(_styled("".join(chunk), span.style))
    return pieces


def _hard_split(token: str, limit: int) -> list[str]:
    if _escaped_size(token) <= limit:
        return [token]
    parts = []
    while token:
        part = _hard_cut(token, limit)
        parts.append(part)
        token = token[len(part) :]
    return parts


def _pack(pieces: Iterable[str], limit: int, joiner: str = "\n") -> list[str]:
    """Greedy: as many whole pieces in each text as fit; a piece is never split."""
    texts: list[str] = []
    current: list[str] = []
    used = 0
    for piece in pieces:
        need = _size(piece) + (_size(joiner) if current else 0)
        if current and used + need > limit:
            texts.append(joiner.join(current))
            current, used = [], 0
            need = _size(piece)
        current.append(piece)
        used += need
    if current:
        texts.append(joiner.join(current))
    return texts


def _table(table: Table) -> list[Block]:
    width = max([len(table.columns), *(len(row) for row in table.rows)])
    if width == 0:
        return []
    headers = _table_row(table.columns, width)
    # Every row takes at least a line, so no more rows than this could ever fit in a section.
    rows = [_table_row(row, width) for row in table.rows[:SECTION_CHARS]]
    total = len(table.rows)

    def render(count: int) -> str:
        body = tabulate(rows[:count], headers=headers, tablefmt="simple", disable_numparse=True)
        text = f"```\n{escape(body)}\n```"
        if count < total:
            text += f"\n…and {plural(total - count, 'more row')}"
        return text

    def fits(count: int) -> bool:
        return _size(render(count)) <= SECTION_CHARS

    if fits(len(rows)) and len(rows) == total:
        return [_section(render(total))]
    if not fits(0):
        return [_section(f"_A table too wide to show here ({plural(total, 'row')})._")]
    # A table only grows as rows are added, so the fitting row counts form a prefix.
    low, high = 0, len(rows)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return [_section(render(low))]


def _table_row(cells: list[str], width: int) -> list[str]:
    # Shortened before escaping: tabulate measures widths on the text people will see, and
    # backticks are replaced so a cell cannot close the code block.
    shown = [_shorten(cell, CELL_CHARS).replace("`", "ˋ") for cell in cells]
    return shown + [""] * (width - len(shown))


def _buttons(buttons: Buttons) -> list[Block]:
    elements = [_button(button) for button in buttons.buttons]
    blocks = []
    for start in range(0, len(elements), ACTIONS_ELEMENTS):
        group = elements[start : start + ACTIONS_ELEMENTS]
        _unique_action_ids(group)
        blocks.append({"type": "actions", "elements": group})
    return blocks


def _button(button: Button) -> Block:
    element: Block = {
        "type": "button",
        "text": _plain_text(_fit(button.label, BUTTON_LABEL) or "Open"),
        # Ids and values are the producer's, not words: cut to the limit rather than shortened.
        "action_id": button.action_id[:ACTION_ID_CHARS],
    }
    if button.value:
        element["value"] = button.value[:BUTTON_VALUE]
    if button.style is not None:
        element["style"] = button.style
    return element


def _unique_action_ids(elements: list[Block]) -> None:
    """Slack rejects two elements with one action_id in a block; later ones get `:2`, `:3`…"""
    seen: dict[str, int] = {}
    for element in elements:
        base = element["action_id"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            suffix = f":{seen[base]}"
            element["action_id"] = base[: ACTION_ID_CHARS - len(suffix)] + suffix


# --- action lists ------------------------------------------------------------------------------


def _action_line(line: ActionLine) -> str:
    emoji = rag_symbol(line.rag)
    text = (
        f"{emoji} {_styled(_shorten(line.ref, REF_CHARS), 'bold')} {_fit(line.title, TITLE_CHARS)}"
    )
    if line.leads:
        text += " — " + _leads(line.leads)
    if line.due is not None:
        text += f" · due {day_text(line.due)}"
    if line.status:
        text += f" · {_fit(status_word(line.status), STATUS_CHARS)}"
    if line.note:
        text += f"\n> {_fit(line.note, NOTE_PREVIEW_CHARS)}"
    return text


def _leads(leads: list[Span]) -> str:
    shown = [
        _span(lead.model_copy(update={"text": _shorten(lead.text, LEAD_CHARS)}))
        for lead in leads[:MAX_LEADS]
    ]
    extra = len(leads) - MAX_LEADS
    return ", ".join(shown) + (f" +{extra} more" if extra > 0 else "")


class _ListLayout:
    """An ActionList as sections, showing its first `shown` lines and a closing line for the
    rest. The budget lowers `shown`; sizes are precomputed so each step costs O(1)."""

    def __init__(self, actions: ActionList, max_chars: int) -> None:
        self.total = len(actions.items)
        self.more = max(actions.more, 0)
        self.hint = (
            _styled(_shorten(actions.more_hint, HINT_CHARS), "code") if actions.more_hint else ""
        )
        self.empty = _styled(_shorten(actions.empty, TITLE_CHARS), "italic") or "None."
        title = _shorten(actions.title or "", TITLE_CHARS)
        self.head = [_styled(title, "bold")] if title else []
        # Render lines only while they could still fit: a list of thousands costs what is shown.
        self.lines: list[str] = []
        used = sum(_size(text) + 1 for text in self.head)
        for item in actions.items:
            if used > max_chars:
                break
            line = _action_line(item)
            self.lines.append(line)
            used += _size(line) + 1
        self.shown = len(self.lines)
        self._measure()

    def _measure(self) -> None:
        # Greedy packing of head + lines: the packing of any prefix is a prefix of this one.
        self.section_of: list[int] = []
        self.fill: list[int] = []
        self.chars_before = [0]
        section, used = -1, SECTION_CHARS
        for text in self.head + self.lines:
            size = _size(text)
            if used + 1 + size > SECTION_CHARS:
                section, used = section + 1, size
            else:
                used += 1 + size
            self.section_of.append(section)
            self.fill.append(used)
            self.chars_before.append(self.chars_before[-1] + size + 1)

    def tail(self, shown: int) -> str | None:
        if self.total == 0 and self.more == 0:
            return self.empty
        hidden = self.total - shown + self.more
        if hidden <= 0:
            return None
        return more_text(hidden, self.hint)

    def sections(self, shown: int | None = None) -> int:
        shown = self.shown if shown is None else shown
        last = len(self.head) + shown - 1
        tail = self.tail(shown)
        if last < 0:
            return 1 if tail else 0
        count = self.section_of[last] + 1
        if tail and self.fill[last] + 1 + _size(tail) > SECTION_CHARS:
            count += 1
        return count

    def chars(self, shown: int | None = None) -> int:
        """An upper bound on the text this list puts in sections."""
        shown = self.shown if shown is None else shown
        tail = self.tail(shown)
        return self.chars_before[len(self.head) + shown] + (_size(tail) if tail else 0)

    def drop_section(self) -> None:
        """Drop trailing lines until the list needs one section fewer (or shows none)."""
        target = self.sections() - 1
        while self.shown > 0 and self.sections() > target:
            self.shown -= 1

    def blocks(self) -> list[Block]:
        texts = self.head + self.lines[: self.shown]
        tail = self.tail(self.shown)
        if tail:
            texts.append(tail)
        return [_section(text) for text in _pack(texts, SECTION_CHARS)]


# --- the budget --------------------------------------------------------------------------------


@dataclass
class _Part:
    """One element's blocks; lists stay flexible until the budget has been spent."""

    blocks: list[Block]
    layout: _ListLayout | None = None
    splittable: bool = False


def _part(element: Element, max_chars: int) -> _Part:
    if isinstance(element, ActionList):
        return _Part([], layout=_ListLayout(element, max_chars))
    if isinstance(element, Heading):
        return _Part(_header(element))
    if isinstance(element, Paragraph):
        return _Part(_paragraph(element), splittable=True)
    if isinstance(element, Table):
        return _Part(_table(element))
    if isinstance(element, Buttons):
        return _Part(_buttons(element))
    if isinstance(element, Divider):
        return _Part([{"type": "divider"}])
    raise TypeError(f"no Block Kit rendering for {type(element).__name__}")


def _blocks(reply: Reply, max_blocks: int, max_chars: int, more_hint: str | None) -> list[Block]:
    parts = [_part(element, max_chars) for element in reply.elements]
    _shrink_lists(parts, max_blocks, max_chars)
    for part in parts:
        if part.layout:
            part.blocks = part.layout.blocks()
    hint = more_hint or next(
        (e.more_hint for e in reply.elements if isinstance(e, ActionList) and e.more_hint), None
    )
    return _cut(parts, max_blocks, max_chars, hint)


def _shrink_lists(parts: list[_Part], max_blocks: int, max_chars: int) -> None:
    """Spend the budget: take whole trailing lines from the longest lists first."""
    layouts = [part.layout for part in parts if part.layout]
    if not layouts:
        return
    fixed = [block for part in parts if not part.layout for block in part.blocks]
    room_blocks = max_blocks - len(fixed)
    room_chars = max_chars - _text_size(fixed)
    _level(layouts, room_chars)
    while True:
        over_blocks = sum(layout.sections() for layout in layouts) > room_blocks
        over_chars = sum(layout.chars() for layout in layouts) > room_chars
        # A list keeps at least one section: cutting whole elements is the last resort.
        taller = [layout for layout in layouts if layout.sections() > 1 and layout.shown > 0]
        showing = [layout for layout in layouts if layout.shown > 0]
        if over_blocks and taller:
            max(taller, key=lambda layout: (layout.sections(), layout.chars())).drop_section()
        elif (over_blocks or over_chars) and showing:
            max(showing, key=lambda layout: layout.chars()).shown -= 1
        else:
            return


def _level(layouts: list[_ListLayout], room: int) -> None:
    """Trim the longest lists down to a common length so that together they fit `room`; the
    same outcome as taking one line at a time from the longest, without the thousands of steps."""
    if sum(layout.chars() for layout in layouts) <= room:
        return
    low, high = 0, max(layout.chars() for layout in layouts)
    while low < high:
        middle = (low + high + 1) // 2
        fits = sum(min(layout.chars(), middle) for layout in layouts) <= room
        low, high = (middle, high) if fits else (low, middle - 1)
    for layout in layouts:
        while layout.shown > 0 and layout.chars() > low:
            layout.shown -= 1


def _cut(parts: list[_Part], max_blocks: int, max_chars: int, hint: str | None) -> list[Block]:
    """Keep whole elements, in order, while they fit; name what could not in one last block."""
    everything = [block for part in parts for block in part.blocks]
    if len(everything) <= max_blocks and _text_size(everything) <= max_chars:
        return everything
    room_blocks = max_blocks - 1
    room_chars = max_chars - _OVERFLOW_RESERVE_CHARS
    kept: list[Block] = []
    dropped: list[Block] = []
    for index, part in enumerate(parts):
        fitting = _fitting_prefix(part.blocks, room_blocks - len(kept), room_chars)
        if len(fitting) == len(part.blocks):
            kept.extend(fitting)
            room_chars -= _text_size(fitting)
            continue
        # Prose may stop between its sections; a list or a table is shown whole or not at all.
        shown = fitting if part.splittable else []
        kept.extend(shown)
        dropped = part.blocks[len(shown) :] + [
            b for later in parts[index + 1 :] for b in later.blocks
        ]
        break
    # A heading or divider with nothing under it would only mislead.
    while kept and kept[-1]["type"] in ("header", "divider"):
        dropped.insert(0, kept.pop())
    unseen = sum(1 for block in dropped if block["type"] != "divider")
    if unseen:
        kept.append(_context(_overflow_line(unseen, hint)))
    return kept


def _fitting_prefix(blocks: list[Block], room_blocks: int, room_chars: int) -> list[Block]:
    sizes = [_text_size(block) for block in blocks]
    running = [0]
    for size in sizes:
        running.append(running[-1] + size)
    by_chars = bisect.bisect_right(running, room_chars) - 1
    return blocks[: max(0, min(room_blocks, by_chars))]


def _overflow_line(count: int, hint: str | None) -> str:
    text = f"…{count} more {'section' if count == 1 else 'sections'} not shown"
    if hint:
        text += f" — use {_styled(_shorten(hint, HINT_CHARS), 'code')}"
    return text


def _notification(reply: Reply) -> str:
    """The message's `text`: what notifications and screen readers show instead of blocks."""
    text = reply.summary
    for element in reply.elements:
        if text.strip():
            break
        if isinstance(element, Heading):
            text = element.text
        elif isinstance(element, Paragraph):
            text = _plain_words(element.spans)
        elif isinstance(element, ActionList) and element.title:
            text = element.title
    return _fit(text, NOTIFICATION_CHARS) or "WSoA bot"


def message(reply: Reply, *, more_hint: str | None = None) -> dict[str, Any]:
    """A message payload (`text` and `blocks`) within every limit, whatever the reply's size.

    `more_hint` is the command named when whole elements do not fit; by default the first
    list's own hint."""
    text = _notification(reply)
    blocks = _blocks(reply, MESSAGE_BLOCKS, MESSAGE_CHARS, more_hint)
    # An empty reply still says something where blocks are shown.
    return {"text": text, "blocks": blocks or [_section(text)]}


def home_view(reply: Reply, *, more_hint: str | None = None) -> dict[str, Any]:
    """An App Home view for `views.publish`, within every limit, whatever the reply's size."""
    blocks = _blocks(reply, VIEW_BLOCKS, VIEW_CHARS, more_hint)
    # A view needs at least one block.
    return {"type": "home", "blocks": blocks or [_section(_notification(reply))]}


# --- the update form ---------------------------------------------------------------------------


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain_text(label), "value": value}


def _select(action_id: str, placeholder: str, options: list[dict[str, Any]], initial: Any) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": _plain_text(placeholder),
        "options": options,
    }
    if initial is not None:
        # Slack requires initial_option to equal one of the options exactly.
        element["initial_option"] = initial
    return element


def _modal_title(*choices: str) -> str:
    """The first of the titles that fits Slack's limit, or the last one cut to fit."""
    for title in choices:
        if _escaped_size(title) <= MODAL_TITLE:
            return escape(title)
    return _fit(choices[-1], MODAL_TITLE)


# Block ids of the forms' fields, as Slack hands them back (and as errors name them).
FIELD_BLOCKS = {
    ("update", "rag"): RAG_BLOCK,
    ("update", "status"): STATUS_BLOCK,
    ("update", "note"): NOTE_BLOCK,
    ("answer", "answer"): ANSWER_BLOCK,
}
FORM_CALLBACKS = {"update": UPDATE_CALLBACK, "answer": ANSWER_CALLBACK}


def field_block(purpose: str, field_id: str) -> str:
    return FIELD_BLOCKS.get((purpose, field_id), f"wsoa_{purpose}_{field_id}")


def form_callback(purpose: str) -> str:
    return FORM_CALLBACKS.get(purpose, f"wsoa_form_{purpose}")


def form_modal(form: Form, *, private_metadata: str) -> dict[str, Any]:
    """Any `Form` as a modal view for `views.open`: what it is about, then an input block per
    field (block id from `field_block`, action id the field's id). Read its submission with
    `read_form_values`; report problems by block id in a `response_action: errors` answer."""
    if len(private_metadata) > PRIVATE_METADATA_CHARS:
        # Cutting it would corrupt what the submission handler reads back.
        raise ValueError(f"private_metadata is over {PRIVATE_METADATA_CHARS} characters")
    blocks: list[Block] = []
    if form.about:
        blocks += message(Reply().para(*form.about))["blocks"]
    if form.context:
        blocks.append(_context(_fit(form.context, SECTION_CHARS)))
    blocks += [_input(form.purpose, field) for field in form.fields]
    return {
        "type": "modal",
        "callback_id": form_callback(form.purpose),
        "private_metadata": private_metadata,
        "title": _plain_text(_modal_title(form.title, form.key)),
        "submit": _plain_text(_modal_title(form.submit_label, "Save")),
        "close": _plain_text("Cancel"),
        "blocks": blocks,
    }


def _input(purpose: str, field: FormField) -> Block:
    if field.kind == "choice":
        options = [_option(c.label, c.value) for c in field.options]
        initial = next((o for o in options if o["value"] == field.initial), None)
        element = _select(field.id, field.placeholder or "Choose one", options, initial)
    else:
        element = {"type": "plain_text_input", "action_id": field.id}
        if field.kind == "multiline":
            element["multiline"] = True
        if field.max_length:
            element["max_length"] = field.max_length
        if field.placeholder:
            element["placeholder"] = _plain_text(field.placeholder)
        if field.initial:
            element["initial_value"] = field.initial
    block: Block = {
        "type": "input",
        "block_id": field_block(purpose, field.id),
        "label": _plain_text(field.label),
        "element": element,
    }
    if not field.required:
        block["optional"] = True
    if field.hint:
        block["hint"] = _plain_text(field.hint)
    return block


def read_form_values(state_values: Mapping[str, Any]) -> dict[str, str | None]:
    """Field id → value from a submitted modal's `view.state.values`: a select's chosen value,
    a text input's text; None for what was left empty."""
    values: dict[str, str | None] = {}
    for actions in state_values.values():
        if not isinstance(actions, Mapping):
            continue
        for action_id, state in actions.items():
            if not isinstance(state, Mapping):
                continue
            option = state.get("selected_option")
            value = option.get("value") if isinstance(option, Mapping) else state.get("value")
            values[str(action_id)] = value if isinstance(value, str) else None
    return values


def read_answer_submission(state_values: Mapping[str, Any]) -> str:
    value = _action_state(state_values, ANSWER_BLOCK, ANSWER_ACTION).get("value")
    return value if isinstance(value, str) else ""


def notice_modal(reply: Reply) -> dict[str, Any]:
    """What replaces a form when its submission could not be saved."""
    return {
        "type": "modal",
        "title": _plain_text("WSoA bot"),
        "close": _plain_text("Close"),
        "blocks": message(reply)["blocks"],
    }


def read_update_submission(
    state_values: Mapping[str, Any],
) -> tuple[str | None, str | None, str]:
    """(rag, status, note) from a submitted update form's `view.state.values`. A select left
    empty arrives as `selected_option: null`, an empty note as `value: null`."""
    rag = _selected_value(state_values, RAG_BLOCK, RAG_ACTION)
    status = _selected_value(state_values, STATUS_BLOCK, STATUS_ACTION)
    note = _action_state(state_values, NOTE_BLOCK, NOTE_ACTION).get("value")
    return rag, status, note if isinstance(note, str) else ""


def _action_state(
    state_values: Mapping[str, Any], block_id: str, action_id: str
) -> Mapping[str, Any]:
    state = (state_values.get(block_id) or {}).get(action_id)
    return state if isinstance(state, Mapping) else {}


def _selected_value(state_values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    option = _action_state(state_values, block_id, action_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None
