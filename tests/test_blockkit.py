"""The Block Kit renderer: escaping, and Slack's limits held whatever the reply's size."""

from __future__ import annotations

import json
import random
import re
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import Block as SdkBlock
from slack_sdk.models.views import View

from bot.commands.updating import update_form
from bot.domain import MAX_NOTE_CHARS, Rag
from bot.render import blockkit as bk
from bot.replies import (
    ActionLine,
    ActionList,
    Button,
    ButtonId,
    Buttons,
    Divider,
    Form,
    Heading,
    Paragraph,
    Reply,
    Span,
    Table,
    bold,
    code,
    mention,
    plain,
)
from bot.store.models import Action

EVIL = [
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<https://evil.example|click>",
]
EVIL_TEXT = "Ping " + " and ".join(EVIL) + " & co"


def slack_mention(name: str, user_id: str | None) -> Span:
    """A mention of someone whose Slack user id is `user_id` (None: no Slack account)."""
    return mention(name, 1 if user_id else None, {"slack": user_id} if user_id else {})


# --- helpers -----------------------------------------------------------------------------------


def texts(payload: dict[str, Any]) -> list[str]:
    """Every mrkdwn or plain_text string in a payload."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


def assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int, max_chars: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    assert sum(len(t) for t in texts({"blocks": blocks})) <= max_chars
    for block in blocks:
        # slack_sdk's own models hold Slack's documented limits: a second opinion on ours.
        parsed = SdkBlock.parse(block)
        assert parsed is not None
        parsed.validate_json()
        kind = block["type"]
        if kind == "section":
            assert 0 < len(block["text"]["text"]) <= bk.SECTION_CHARS
            assert block["text"]["text"].strip()
        elif kind == "header":
            assert 0 < len(block["text"]["text"]) <= bk.HEADER_CHARS
            assert block["text"]["type"] == "plain_text"
        elif kind == "context":
            assert len(block["elements"]) <= 10
        elif kind == "actions":
            assert len(block["elements"]) <= 25
            ids = [element["action_id"] for element in block["elements"]]
            assert len(ids) == len(set(ids))
            for element in block["elements"]:
                assert 0 < len(element["text"]["text"]) <= bk.BUTTON_LABEL
                assert len(element.get("value", "")) <= 2000
                assert len(element["action_id"]) <= 255


def assert_message_ok(payload: dict[str, Any]) -> None:
    assert set(payload) == {"text", "blocks"}
    assert 0 < len(payload["text"]) <= 3000
    assert_within_limits(payload["blocks"], bk.MESSAGE_BLOCKS, bk.MESSAGE_CHARS)


def assert_home_ok(payload: dict[str, Any]) -> None:
    assert payload["type"] == "home"
    View(**payload).validate_json()
    assert_within_limits(payload["blocks"], bk.VIEW_BLOCKS, bk.VIEW_CHARS)


def flat(text: str) -> str:
    return bk.escape(" ".join(text.split()))


def assert_cut_at_word(shown: str, original: str) -> None:
    """`shown` is `original` cut after a whole word, with "…"."""
    assert shown.endswith("…")
    kept = shown[: -len("…")]
    full = flat(original)
    assert kept and not kept.endswith(" ")
    assert full.startswith(kept)
    assert full[len(kept)] == " ", f"cut inside a word: …{kept[-20:]!r}"


def dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


def words(count: int, word: str = "progress") -> str:
    return " ".join(f"{word}{i}" for i in range(count))


def line(i: int, **changes: Any) -> ActionLine:
    fields: dict[str, Any] = {
        "ref": f"{i}A.1",
        "title": "Toolkit pilot",
        "rag": Rag.AMBER,
        "status": "in progress",
        "due": date(2027, 3, 31),
        "leads": [slack_mention("Ann", "U1")],
    }
    return ActionLine(**(fields | changes))


# --- escaping ----------------------------------------------------------------------------------


def test_escape_only_slacks_control_characters() -> None:
    assert bk.escape("a & b < c > d 'e' \"f\"") == "a &amp; b &lt; c &gt; d 'e' \"f\""
    assert bk.escape("&lt;") == "&amp;lt;"


def test_user_text_is_escaped_everywhere_it_is_shown() -> None:
    reply = Reply(summary=EVIL_TEXT)
    reply.heading(EVIL_TEXT)
    reply.para(EVIL_TEXT, bold(EVIL_TEXT), code(EVIL_TEXT))
    reply.add(
        ActionList(
            title=EVIL_TEXT,
            items=[
                line(
                    1,
                    title=EVIL_TEXT,
                    note=EVIL_TEXT,
                    status=EVIL_TEXT,
                    leads=[slack_mention(EVIL_TEXT, None), slack_mention(EVIL_TEXT, "<!channel>")],
                )
            ],
            more=3,
            more_hint=EVIL_TEXT,
        ),
        ActionList(items=[], empty=EVIL_TEXT),
        Table(columns=[EVIL_TEXT], rows=[[EVIL_TEXT], ["plain"]]),
        Buttons(buttons=[Button(label=EVIL_TEXT, action_id=ButtonId.UPDATE, value="1")]),
    )
    for payload in (bk.message(reply), bk.home_view(reply)):
        text = dump(payload)
        for raw in EVIL:
            assert raw not in text
        assert "&lt;!channel&gt;" in text
        assert "&lt;https://evil.example|click&gt;" in text
        assert "&amp; co" in text
    assert_message_ok(bk.message(reply))
    assert_home_ok(bk.home_view(reply))


def test_the_summary_is_escaped_text() -> None:
    payload = bk.message(Reply(summary=EVIL_TEXT).para("hello"))
    assert payload["text"] == flat(EVIL_TEXT)


def test_the_update_form_escapes_the_title() -> None:
    evil = update_form(Action(ref="2A.3", title=EVIL_TEXT, rag=None, status="in progress"))
    text = dump(bk.form_modal(evil, private_metadata="{}"))
    for raw in EVIL:
        assert raw not in text
    assert "&lt;!channel&gt;" in text


# --- spans -------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["U123", "W0ABC9", "U0123456789"])
def test_a_mention_with_a_real_user_id_pings(user_id: str) -> None:
    assert bk.spans_to_mrkdwn([slack_mention("Ann", user_id)]) == f"<@{user_id}>"


@pytest.mark.parametrize(
    "user_id", ["", "u123", "C123", "U123>", "<!channel>", "U12 3", "U123|x", "!here", "@U1"]
)
def test_a_mention_with_a_bad_user_id_is_just_the_name(user_id: str) -> None:
    out = bk.spans_to_mrkdwn([slack_mention("Ann <!here>", user_id)])
    assert out == "Ann &lt;!here&gt;"
    assert "<@" not in out


def test_styles_and_plain_text() -> None:
    spans = [plain("Due "), bold("2A.3"), plain(" see "), code("/wsoa show 2A.3")]
    assert bk.spans_to_mrkdwn(spans) == "Due *2A.3* see `/wsoa show 2A.3`"
    assert bk.spans_to_mrkdwn([bold(" spaced ")]) == " *spaced* "
    assert bk.spans_to_mrkdwn([bold("   ")]) == "   "


def test_styled_user_text_cannot_break_out_of_its_style() -> None:
    out = bk.spans_to_mrkdwn([bold("a* <!channel> _b_ ~c~ `d` *e")])
    assert out.startswith("*") and out.endswith("*")
    assert not re.search(r"[*_~`]", out[1:-1])
    assert "&lt;!channel&gt;" in out
    code_out = bk.spans_to_mrkdwn([code("x` *y* `z")])
    assert code_out.startswith("`") and code_out.endswith("`")
    assert "`" not in code_out[1:-1]
    # Slack does not style across lines, so styled text stays on one.
    assert bk.spans_to_mrkdwn([bold("two\nlines")]) == "*two lines*"


# --- action lines ------------------------------------------------------------------------------


def test_an_action_line_reads_as_one_line() -> None:
    item = line(
        0,
        ref="11F",
        rag=Rag.RED,
        leads=[slack_mention("Ann", "U1"), slack_mention("Bob", "U2")],
    )
    blocks = bk.message(Reply().add(ActionList(items=[item])))["blocks"]
    assert section_texts(blocks) == [
        "🔴 *11F* Toolkit pilot — <@U1>, <@U2> · due 31 Mar 2027 · in progress"
    ]


def test_a_line_without_rag_leads_due_or_status() -> None:
    item = ActionLine(ref="2A.3", title="Graduated response toolkit")
    blocks = bk.message(Reply().add(ActionList(items=[item])))["blocks"]
    assert section_texts(blocks) == ["⚪ *2A.3* Graduated response toolkit"]


def test_a_long_note_is_previewed_and_cut_between_words() -> None:
    note = words(600, "evidence&")
    blocks = bk.message(Reply().add(ActionList(items=[line(1, note=note)])))["blocks"]
    quote = section_texts(blocks)[0].split("\n")[1]
    assert quote.startswith("> ")
    assert len(quote) <= 2 + bk.NOTE_PREVIEW_CHARS
    assert_cut_at_word(quote[2:], note)


def test_a_note_on_several_lines_stays_in_its_quote() -> None:
    note = "First line\n\n<!channel> second line"
    blocks = bk.message(Reply().add(ActionList(items=[line(1, note=note)])))["blocks"]
    assert section_texts(blocks)[0].endswith("\n> First line &lt;!channel&gt; second line")


def test_a_long_title_is_cut_between_words() -> None:
    title = words(100, "title")
    blocks = bk.message(Reply().add(ActionList(items=[line(1, title=title)])))["blocks"]
    shown = section_texts(blocks)[0].removeprefix("🟠 *1A.1* ").split(" — ")[0]
    assert_cut_at_word(shown, title)


def test_many_leads_are_counted_not_listed() -> None:
    leads = [slack_mention(f"Lead {i}", f"U{i}") for i in range(12)]
    text = section_texts(
        bk.message(Reply().add(ActionList(items=[line(1, leads=leads)])))["blocks"]
    )
    assert "<@U4>" in text[0] and "<@U5>" not in text[0] and "+7 more" in text[0]


def test_a_list_with_more_always_says_so() -> None:
    actions = ActionList(title="Red", items=[line(1)], more=4, more_hint="/wsoa list red")
    blocks = bk.message(Reply().add(actions))["blocks"]
    assert section_texts(blocks)[-1].endswith("\n…and 4 more: `/wsoa list red`")


def test_an_empty_list_says_so() -> None:
    blocks = bk.message(
        Reply().add(ActionList(title="Overdue", items=[], empty="Nothing overdue."))
    )
    assert section_texts(blocks["blocks"]) == ["*Overdue*\n_Nothing overdue._"]


# --- the budget --------------------------------------------------------------------------------


def huge_list(count: int, more: int = 0) -> ActionList:
    title = words(30, "title") + " <!channel>"
    note = ("Waiting & waiting <!here> " * 200)[: MAX_NOTE_CHARS - 1]
    items = [line(i, title=title, note=note) for i in range(count)]
    return ActionList(title="Amber actions", items=items, more=more, more_hint="/wsoa list amber")


def count_more(blocks: list[dict[str, Any]]) -> tuple[int, int]:
    """(lines shown, N in "…and N more: `/wsoa list amber`")."""
    text = "\n".join(section_texts(blocks))
    shown = len(re.findall(r"^🟠 \*\d+A\.1\*", text, flags=re.MULTILINE))
    found = re.findall(r"^…and (\d+) more: `/wsoa list amber`$", text, flags=re.MULTILINE)
    assert len(found) == 1
    return shown, int(found[0])


def test_five_thousand_actions_fit_one_message() -> None:
    payload = bk.message(Reply(summary="Amber actions").heading("Amber").add(huge_list(5000)))
    assert_message_ok(payload)
    shown, hidden = count_more(payload["blocks"])
    assert shown > 0
    assert shown + hidden == 5000
    assert "<!channel>" not in dump(payload)


def test_what_the_producer_left_out_is_added_to_the_count() -> None:
    payload = bk.message(Reply().add(huge_list(300, more=41)))
    shown, hidden = count_more(payload["blocks"])
    assert shown + hidden == 341


def test_the_longest_list_gives_way_first() -> None:
    short = ActionList(title="Red", items=[line(i, rag=Rag.RED) for i in range(3)])
    reply = Reply().add(short, huge_list(2000))
    blocks = bk.message(reply)["blocks"]
    assert_message_ok({"text": "x", "blocks": blocks})
    assert section_texts(blocks)[0].count("🔴") == 3
    shown, hidden = count_more(blocks)
    assert shown + hidden == 2000


def test_home_with_forty_lists_names_what_it_could_not_show() -> None:
    reply = Reply()
    for n in range(40):
        reply.heading(f"Workstream {n}: {words(8)}")
        reply.add(
            ActionList(
                title=f"Pillar {n}",
                items=[line(i, note=words(60)) for i in range(25)],
                more_hint="/wsoa list red",
            ),
            Divider(),
        )
    payload = bk.home_view(reply)
    assert_home_ok(payload)
    last = payload["blocks"][-1]
    assert last["type"] == "context"
    overflow = last["elements"][0]["text"]
    found = re.fullmatch(r"…(\d+) more sections not shown — use `/wsoa list red`", overflow)
    assert found and int(found[1]) > 0
    # Every list that is shown still accounts for its hidden lines.
    assert all(
        "…and" in text for text in section_texts(payload["blocks"]) if text.startswith("*Pillar")
    )


def test_elements_that_cannot_fit_are_counted_not_dropped() -> None:
    reply = Reply()
    for n in range(200):
        reply.para(f"Paragraph {n}")
    payload = bk.message(reply)
    assert_message_ok(payload)
    blocks = payload["blocks"]
    assert len(blocks) == bk.MESSAGE_BLOCKS
    assert blocks[-1]["elements"][0]["text"] == "…151 more sections not shown"
    assert bk.message(reply, more_hint="/wsoa summary")["blocks"][-1]["elements"][0]["text"] == (
        "…151 more sections not shown — use `/wsoa summary`"
    )


def test_a_heading_is_not_left_without_what_it_heads() -> None:
    reply = Reply()
    for n in range(30):
        reply.heading(f"Part {n}").para(f"Text {n}")
    blocks = bk.message(reply)["blocks"]
    assert blocks[-2]["type"] == "section"
    assert blocks[-1]["type"] == "context"


def test_a_long_paragraph_is_split_into_sections() -> None:
    text = words(500, "note&")  # about 5,500 characters once escaped
    blocks = bk.message(Reply().para(text))["blocks"]
    sections = section_texts(blocks)
    assert len(sections) >= 2
    assert "".join(sections) == bk.escape(text)


def test_a_paragraph_too_long_for_a_message_is_cut_between_sections() -> None:
    payload = bk.message(Reply().para(words(5000)))
    assert_message_ok(payload)
    assert payload["blocks"][-1]["type"] == "context"


def test_a_long_bold_span_stays_bold_in_every_section() -> None:
    blocks = bk.message(Reply().para(bold(words(600))))["blocks"]
    for text in section_texts(blocks):
        assert re.fullmatch(r" ?\*[^*]+\* ?", text)


def test_one_enormous_word_still_fits() -> None:
    payload = bk.message(
        Reply()
        .heading("x" * 500)
        .para("y" * 7000)
        .add(ActionList(items=[line(1, title="z" * 5000, note="w" * 3000)]))
    )
    assert_message_ok(payload)


def test_buttons() -> None:
    label = words(40, "Approve")
    buttons = [
        Button(label=label, action_id=ButtonId.UPDATE, value="v" * 3000, style="primary"),
        *(Button(label=f"Show {i}", action_id=ButtonId.UPDATE, value=str(i)) for i in range(29)),
    ]
    payload = bk.message(Reply().add(Buttons(buttons=buttons)))
    assert_message_ok(payload)
    first, second = payload["blocks"]
    assert [len(first["elements"]), len(second["elements"])] == [25, 5]
    shown = first["elements"][0]["text"]["text"]
    assert len(shown) <= bk.BUTTON_LABEL
    assert_cut_at_word(shown, label)
    assert first["elements"][0]["style"] == "primary"
    assert len(first["elements"][0]["value"]) == 2000
    assert [e["action_id"] for e in first["elements"][:3]] == [
        "wsoa_update_open",
        "wsoa_update_open:2",
        "wsoa_update_open:3",
    ]


def test_a_long_heading_is_cut_between_words() -> None:
    heading = words(80, "Heading")  # about 800 characters
    block = bk.message(Reply().heading(heading))["blocks"][0]
    assert block == {
        "type": "header",
        "text": {"type": "plain_text", "text": block["text"]["text"], "emoji": True},
    }
    assert len(block["text"]["text"]) <= bk.HEADER_CHARS
    assert_cut_at_word(block["text"]["text"], heading)


def test_a_heading_of_500_characters() -> None:
    heading = ("Partnership update on SEND & the Written Statement of Action " * 10)[:500]
    block = bk.message(Reply().heading(heading))["blocks"][0]
    assert len(block["text"]["text"]) <= bk.HEADER_CHARS
    assert_cut_at_word(block["text"]["text"], heading)


# --- tables ------------------------------------------------------------------------------------


def test_a_table_is_a_code_block_of_escaped_cells() -> None:
    table = Table(columns=["Ref", "Lead"], rows=[["2A.3", "Ann & <!here>"], ["007", "two\nlines"]])
    (text,) = section_texts(bk.message(Reply().add(table))["blocks"])
    assert text.startswith("```\n") and text.endswith("\n```")
    assert "Ann &amp; &lt;!here&gt;" in text
    assert "two lines" in text and "007" in text


def test_a_table_of_a_thousand_rows_keeps_whole_rows() -> None:
    rows = [[f"{i}A.1", f"Action number {i} & more", "amber"] for i in range(1000)]
    payload = bk.message(Reply().add(Table(columns=["Ref", "Title", "RAG"], rows=rows)))
    assert_message_ok(payload)
    (text,) = section_texts(payload["blocks"])
    body, more = text.rsplit("\n```\n", 1)
    shown = len(body.split("\n")) - 3  # the opening fence, the headings and their rule
    found = re.fullmatch(r"…and (\d+) more rows", more)
    assert found and shown > 0
    assert shown + int(found[1]) == 1000
    assert body.split("\n")[-1].startswith(f"{shown - 1}A.1 ")


def test_a_table_cell_cannot_close_the_code_block() -> None:
    (text,) = section_texts(
        bk.message(Reply().add(Table(columns=["a"], rows=[["```x```"]])))["blocks"]
    )
    assert text.count("```") == 2


# --- the notification text ---------------------------------------------------------------------


def test_the_text_comes_from_the_first_heading_when_there_is_no_summary() -> None:
    assert bk.message(Reply().heading("Board digest").para("x"))["text"] == "Board digest"
    assert bk.message(Reply().para("Saved & done", bold("!")))["text"] == "Saved &amp; done!"
    assert bk.message(Reply())["text"]


def test_a_long_summary_is_cut_between_words() -> None:
    summary = words(600)
    text = bk.message(Reply(summary=summary).para("x"))["text"]
    assert len(text) <= 3000
    assert_cut_at_word(text, summary)


# --- the update form ---------------------------------------------------------------------------


def form(**changes: Any) -> Form:
    """The update form of an action with these fields."""
    fields: dict[str, Any] = {
        "ref": "2A.3",
        "title": "Graduated response toolkit",
        "rag": Rag.AMBER,
        "status": "in progress",
    }
    return update_form(Action(**(fields | changes)))


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def test_the_update_modal() -> None:
    view = bk.form_modal(form(), private_metadata='{"channel": "C1"}')
    View(**view).validate_json()
    assert view["type"] == "modal"
    assert view["callback_id"] == bk.UPDATE_CALLBACK == "wsoa_update"
    assert view["title"]["text"] == "Update 2A.3"
    assert view["submit"]["text"] == "Save" and view["close"]["text"] == "Cancel"
    assert view["private_metadata"] == '{"channel": "C1"}'
    assert "🟠 amber · in progress" in dump(view)
    by_id = inputs(view)
    rag = by_id[bk.RAG_BLOCK]
    assert rag["optional"] is True
    assert rag["element"]["action_id"] == bk.RAG_ACTION
    assert [o["value"] for o in rag["element"]["options"]] == ["red", "amber", "green"]
    assert rag["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "🟠 Amber", "emoji": True},
        "value": "amber",
    }
    assert rag["element"]["initial_option"] in rag["element"]["options"]
    status = by_id[bk.STATUS_BLOCK]["element"]
    assert status["action_id"] == bk.STATUS_ACTION
    assert [o["value"] for o in status["options"]] == [
        "not started",
        "in progress",
        "complete",
        "signed off",
        "halted",
    ]
    assert status["initial_option"]["value"] == "in progress"
    assert status["initial_option"] in status["options"]
    note = by_id[bk.NOTE_BLOCK]
    assert not note.get("optional", False)
    assert note["element"] | {"placeholder": None} == {
        "type": "plain_text_input",
        "action_id": bk.NOTE_ACTION,
        "multiline": True,
        "max_length": 3000,
        "placeholder": None,
    }


def test_the_update_modal_without_a_rating_or_known_status() -> None:
    view = bk.form_modal(form(rag=None, status="whatever"), private_metadata="")
    View(**view).validate_json()
    by_id = inputs(view)
    assert "initial_option" not in by_id[bk.RAG_BLOCK]["element"]
    assert "initial_option" not in by_id[bk.STATUS_BLOCK]["element"]


@pytest.mark.parametrize("ref", ["12A.1", "12A.1.2.3.4.5.6.7", "ABCDEFGHIJKLMNOPQRST", "X" * 40])
def test_the_modal_title_fits_for_any_ref(ref: str) -> None:
    view = bk.form_modal(form(ref=ref, title="t " * 3000), private_metadata="")
    View(**view).validate_json()
    assert 0 < len(view["title"]["text"]) <= bk.MODAL_TITLE
    assert len(view["blocks"][0]["text"]["text"]) <= bk.SECTION_CHARS


def test_the_modal_refuses_metadata_it_would_have_to_cut() -> None:
    with pytest.raises(ValueError):
        bk.form_modal(form(), private_metadata="x" * 3001)


def test_each_modal_gets_its_own_options() -> None:
    first = bk.form_modal(form(), private_metadata="")
    inputs(first)[bk.RAG_BLOCK]["element"]["options"][0]["value"] = "changed"
    second = bk.form_modal(form(), private_metadata="")
    assert inputs(second)[bk.RAG_BLOCK]["element"]["options"][0]["value"] == "red"


def select_state(value: str | None) -> dict[str, Any]:
    option = None
    if value is not None:
        option = {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def test_reading_a_submission() -> None:
    state = {
        bk.RAG_BLOCK: {bk.RAG_ACTION: select_state("red")},
        bk.STATUS_BLOCK: {bk.STATUS_ACTION: select_state("complete")},
        bk.NOTE_BLOCK: {
            bk.NOTE_ACTION: {"type": "plain_text_input", "value": "Pilot ran in 12 schools"}
        },
    }
    assert bk.read_form_values(state) == {
        "rag": "red",
        "status": "complete",
        "note": "Pilot ran in 12 schools",
    }


def test_reading_a_submission_with_empty_fields() -> None:
    state = {
        bk.RAG_BLOCK: {bk.RAG_ACTION: select_state(None)},
        bk.STATUS_BLOCK: {bk.STATUS_ACTION: select_state(None)},
        bk.NOTE_BLOCK: {bk.NOTE_ACTION: {"type": "plain_text_input", "value": None}},
    }
    assert bk.read_form_values(state) == {"rag": None, "status": None, "note": None}
    assert bk.read_form_values({}) == {}


def test_a_submission_round_trips_the_modal_ids() -> None:
    view = bk.form_modal(form(), private_metadata="")
    state: dict[str, Any] = {}
    for block_id, block in inputs(view).items():
        element = block["element"]
        value: dict[str, Any] = {"type": element["type"]}
        if element["type"] == "static_select":
            value["selected_option"] = element.get("initial_option")
        else:
            value["value"] = "note"
        state[block_id] = {element["action_id"]: value}
    assert bk.read_form_values(state) == {"rag": "amber", "status": "in progress", "note": "note"}


# --- whatever the input ------------------------------------------------------------------------


def random_text(rng: random.Random, most: int) -> str:
    pieces = ["SEND", "&", "<!channel>", "*x*", "_y_", "`", "\n", "EHCP", "🔴", "a" * 50, "  "]
    return " ".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))


def random_reply(rng: random.Random) -> Reply:
    reply = Reply(summary=random_text(rng, 50))
    for _ in range(rng.randint(0, 60)):
        kind = rng.randrange(6)
        if kind == 0:
            reply.add(Heading(text=random_text(rng, 80)))
        elif kind == 1:
            reply.add(Paragraph(spans=[bold(random_text(rng, 400)), plain(random_text(rng, 900))]))
        elif kind == 2:
            rows = [[random_text(rng, 5) for _ in range(3)] for _ in range(rng.randint(0, 300))]
            reply.add(Table(columns=["a", "b", "c"], rows=rows))
        elif kind == 3:
            items = [
                line(i, title=random_text(rng, 60), note=random_text(rng, 600) or None)
                for i in range(rng.randint(0, 400))
            ]
            reply.add(
                ActionList(title=random_text(rng, 5) or None, items=items, more=rng.randint(0, 9))
            )
        elif kind == 4:
            labels = [random_text(rng, 30) for _ in range(rng.randint(1, 40))]
            reply.add(
                Buttons(
                    buttons=[Button(label=x, action_id=ButtonId.UPDATE, value="v") for x in labels]
                )
            )
        else:
            reply.add(Divider())
    return reply


@pytest.mark.parametrize("seed", range(25))
def test_any_reply_fits(seed: int) -> None:
    reply = random_reply(random.Random(seed))
    assert_message_ok(bk.message(reply))
    assert_home_ok(bk.home_view(reply))
