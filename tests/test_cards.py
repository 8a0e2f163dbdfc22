"""The Adaptive Card renderer: every command's reply as a valid 1.5 card within the size budget, on
the demo plan and on a 1,000-action plan, and user text that cannot become markup."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest

from bot.commands import updating
from bot.commands.registry import execute
from bot.domain import Rag, Status, Surface
from bot.render import cards
from bot.replies import (
    ActionLine,
    ActionList,
    Attachment,
    Button,
    ButtonId,
    Buttons,
    Divider,
    Form,
    Reply,
    Table,
    bold,
    code,
    mention,
    plain,
)
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.store.models import Action
from tests.conftest import ADMIN, LEAD_11F, READER
from tests.teams_specs import card_errors
from tests.test_digest_large import load_plan

INJECTIONS = [
    "<at>Sam</at>",
    "[click](https://evil.example/x)",
    "**bold**",
    "<script>alert(1)</script>",
    "&lt;b&gt;",
    "https://evil.example/login",
    "www.evil.com",
    "sam.lead@council.gov.uk",
    "# Heading",
    "> quoted",
    "- listed",
    "1. numbered",
    "![img](https://evil.example/i.png)",
    "_italic_ ~~struck~~ `code`",
]
EVIL = " ".join(INJECTIONS)


# --- helpers -----------------------------------------------------------------------------------


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    return card


def assert_activity_ok(activity: dict[str, Any], what: str = "reply") -> None:
    assert activity["type"] == "message"
    assert activity["summary"].strip()
    assert cards.activity_size(activity) <= cards.MESSAGE_BYTES, what
    # The budget measure is never below the real UTF-8 or UTF-16 sizes.
    compact = json.dumps(activity, separators=(",", ":"), ensure_ascii=False)
    assert len(compact.encode("utf-8")) <= cards.activity_size(activity)
    assert len(compact.encode("utf-16-le")) <= 2 * cards.activity_size(activity)
    card = card_of(activity)
    assert card_errors(card) == [], what
    assert card["body"], what


def shown(activity: dict[str, Any]) -> str:
    """What a person reads, word joiners removed."""
    return cards.unescape(" ".join(cards.texts(activity)))


def assert_inert(payload: Any) -> None:
    dumped = json.dumps(payload, ensure_ascii=False)
    for live in (
        "<at>",
        "](",
        "**",
        "<script",
        "&lt;",
        "https://",
        "www.evil",
        "evil.com",
        "@council.gov",
        "~~",
        "`",
    ):
        assert live not in dumped, live
    assert '"entities"' not in dumped and '"mention"' not in dumped.lower()
    for text in cards.texts(payload):
        for line in text.split("\n"):
            assert not line.lstrip().startswith(("#", ">", "- ", "1.", "!")), line


def line(i: int, **changes: Any) -> ActionLine:
    values: dict[str, Any] = {
        "ref": f"{i}A.1",
        "title": f"Action {i} improve timeliness of EHC plans with families and schools",
        "rag": (Rag.RED, Rag.AMBER, Rag.GREEN, None)[i % 4],
        "status": "in progress",
        "due": date(2026, 12, 1),
        "leads": [mention("Sam Lead", 1, {"slack": "U0SAM"}), plain("Jo Other")],
        "note": "Progress " * 40,
    }
    values.update(changes)
    return ActionLine(**values)


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", INJECTIONS)
def test_each_injection_is_inert_and_reads_as_typed(text: str) -> None:
    escaped = cards.escape(text)
    assert_inert({"text": escaped})
    # Lookalikes stand in for the emphasis markers; every other character is as typed.
    assert cards.unescape(escaped) == text.translate(cards._LOOKALIKES)


def test_user_text_is_inert_everywhere_it_is_shown() -> None:
    reply = Reply(summary=EVIL).heading(EVIL)
    reply.para(plain(EVIL), bold(EVIL), code(EVIL), mention(EVIL, 2, {"slack": "U0EVIL"}))
    reply.add(
        Table(columns=[EVIL, "b"], rows=[[EVIL, EVIL]]),
        Table(columns=[EVIL] * 8, rows=[[EVIL] * 8]),
        Table(columns=[EVIL, "b"], rows=[[EVIL, EVIL]] * 40),
        ActionList(
            title=EVIL,
            items=[line(1, ref=EVIL, title=EVIL, status=EVIL, note=EVIL, leads=[plain(EVIL)])],
            more=3,
            more_hint=EVIL,
        ),
        ActionList(items=[], empty=EVIL),
        Buttons(buttons=[Button(label=EVIL, action_id=ButtonId.UPDATE, value="11F")]),
    )
    activity = cards.message(reply, more_hint=EVIL)
    assert_activity_ok(activity)
    assert_inert(activity)
    assert "alert(1)" in shown(activity)  # shown as text, not dropped


def test_a_mention_is_the_name_as_plain_text() -> None:
    activity = cards.message(
        Reply().para(plain("Lead: "), mention("Sam Lead", 1, {"slack": "U0SAM"}))
    )
    dumped = json.dumps(activity)
    assert "Sam Lead" in dumped and "U0SAM" not in dumped and "<at>" not in dumped


def test_styles_are_run_properties_not_markdown() -> None:
    activity = cards.message(Reply().para(plain("a "), bold("b"), plain(" "), code("c")))
    [block] = card_of(activity)["body"]
    assert block["type"] == "RichTextBlock"
    runs = {run["text"]: run for run in block["inlines"]}
    assert runs["b"]["weight"] == "Bolder"
    assert runs["c"]["fontType"] == "Monospace"


def test_slack_command_hints_read_as_teams_ones() -> None:
    activity = cards.message(Reply().para(plain("Type "), code("/wsoa help")))
    assert "@WSoA help" in shown(activity) and "/wsoa" not in shown(activity)
    assert cards.teams_hint("/wsoa list amber") == "@WSoA list amber"
    assert cards.teams_hint("list amber", invocation="") == "list amber"


# --- elements ----------------------------------------------------------------------------------


def test_rag_is_a_word_and_a_symbol_not_colour_alone() -> None:
    activity = cards.message(Reply().add(ActionList(items=[line(i) for i in range(4)])))
    text = shown(activity)
    assert "🔴 Red" in text and "🟠 Amber" in text and "🟢 Green" in text
    assert "⚪ Not rated" in text


def test_an_action_line_shows_ref_title_leads_due_status_and_note() -> None:
    text = shown(cards.message(Reply().add(ActionList(items=[line(1)]))))
    for part in ("1A.1", "Action 1", "Sam Lead, Jo Other", "due ", "in progress", "Latest:"):
        assert part in text


def test_a_small_table_is_a_table() -> None:
    card = card_of(cards.message(Reply().add(Table(columns=["a", "b"], rows=[["1", "2"]]))))
    [table] = card["body"]
    assert table["type"] == "Table" and table["firstRowAsHeader"] is True
    assert len(table["rows"]) == 2 and len(table["columns"]) == 2


def test_a_wide_table_falls_back_to_facts() -> None:
    wide = Table(columns=[f"c{i}" for i in range(9)], rows=[[str(i) for i in range(9)]] * 3)
    nodes = card_of(cards.message(Reply().add(wide)))["body"]
    assert [n["type"] for n in nodes] == ["FactSet"] * 3
    assert nodes[0]["facts"][8] == {"title": "c8", "value": "8"}


def test_a_long_table_falls_back_to_lines_and_counts_the_rest() -> None:
    long = Table(columns=["Id", "Question"], rows=[[f"FU-{i}", "why"] for i in range(500)])
    activity = cards.message(Reply().add(long))
    assert_activity_ok(activity)
    assert "Table" not in {n["type"] for n in card_of(activity)["body"]}
    assert "…and 400 more rows" in shown(activity)


def test_buttons_are_execute_actions_with_the_value() -> None:
    reply = Reply().add(
        Buttons(
            buttons=[
                Button(label="Update 11F", action_id=ButtonId.UPDATE, value="11F", style="primary"),
                *(
                    Button(label=f"Answer FU-{i}", action_id=ButtonId.ANSWER, value=f"FU-{i}")
                    for i in range(8)
                ),
            ]
        )
    )
    card = card_of(cards.message(reply))
    sets = [n for n in card["body"] if n["type"] == "ActionSet"]
    assert [len(s["actions"]) for s in sets] == [6, 3]
    first = sets[0]["actions"][0]
    assert first == {
        "type": "Action.Execute",
        "title": "Update 11F",
        "verb": "wsoa_update_open",
        "data": {"value": "11F"},
        "style": "positive",
    }


def test_a_divider_and_an_empty_reply() -> None:
    assert_activity_ok(cards.message(Reply().add(Divider())))
    empty = cards.message(Reply(summary="Nothing"))
    assert_activity_ok(empty)
    assert "Nothing" in shown(empty)


def test_a_small_image_is_in_the_card_with_its_alt_text() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 2000
    reply = Reply(
        files=[
            Attachment(
                filename="k3.png",
                media_type="image/png",
                data=png,
                title="K3 trajectory",
                alt_text="EHC plans within 20 weeks: 48% in April rising to 61% in October",
            ),
            Attachment(
                filename="board.docx",
                media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                data=b"x" * 100,
                title="Board pack",
            ),
        ]
    )
    activity = cards.message(reply)
    assert_activity_ok(activity)
    [image] = [n for n in card_of(activity)["body"] if n["type"] == "Image"]
    assert image["url"].startswith("data:image/png;base64,iVBOR")
    assert image["altText"].startswith("EHC plans within 20")
    assert "Board pack (board.docx" in shown(activity)


def test_an_image_too_large_for_a_message_is_named_not_carried() -> None:
    big = Attachment(
        filename="big.png", media_type="image/png", data=b"\0" * 60_000, title="Big chart"
    )
    activity = cards.message(Reply(files=[big]))
    assert_activity_ok(activity)
    assert "Image" not in {n["type"] for n in card_of(activity)["body"]}
    assert "Big chart (big.png) is too large" in shown(activity)


# --- the budget --------------------------------------------------------------------------------


def test_five_thousand_actions_fit_one_message_with_a_pointer() -> None:
    reply = Reply().add(
        ActionList(
            title="Amber actions (5000)",
            items=[line(i) for i in range(5000)],
            more_hint="/wsoa list amber",
        )
    )
    activity = cards.message(reply)
    assert_activity_ok(activity)
    text = shown(activity)
    assert "Amber actions (5000)" in text
    assert "more: @WSoA list amber" in text
    shown_lines = sum(1 for n in card_of(activity)["body"] if n["type"] == "Container")
    assert f"…and {5000 - shown_lines} more" in text
    assert shown_lines > 20  # the budget is spent on lines, not wasted


def test_what_the_producer_left_out_is_added_to_the_count() -> None:
    reply = Reply().add(ActionList(items=[line(1)], more=7, more_hint="/wsoa mine"))
    assert "…and 7 more: @WSoA mine" in shown(cards.message(reply))


def test_the_longest_list_gives_way_first() -> None:
    short = ActionList(title="Short", items=[line(i) for i in range(3)])
    long = ActionList(
        title="Long", items=[line(i) for i in range(3000)], more_hint="/wsoa list all"
    )
    activity = cards.message(Reply().add(long, short))
    assert_activity_ok(activity)
    text = shown(activity)
    assert "…and" in text and "more: @WSoA list all" in text
    assert text.count("Action 2 improve") == 2  # the short list is whole


def test_elements_that_cannot_fit_are_counted_not_dropped() -> None:
    reply = Reply()
    for i in range(60):
        reply.heading(f"Part {i}").para("word " * 600)
    activity = cards.message(reply, more_hint="/wsoa digest preview")
    assert_activity_ok(activity)
    assert "sections not shown: use @WSoA digest preview" in shown(activity)


def test_shorten_cuts_between_words() -> None:
    assert cards.shorten("alpha beta gamma", 12) == "alpha beta…"
    assert cards.shorten("x" * 50, 10) == "x" * 9 + "…"
    assert cards.shorten("  a \n b  ", 10) == "a b"


@pytest.mark.parametrize("seed", range(30))
def test_any_reply_fits(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "abc <>&*_[]():/.@#`~\n" + "é🔴"

    def text(most: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))

    reply = Reply(summary=text(50))
    for _ in range(rng.randint(0, 40)):
        kind = rng.randrange(6)
        if kind == 0:
            reply.heading(text(300))
        elif kind == 1:
            reply.para(plain(text(3000)), bold(text(200)), code(text(50)))
        elif kind == 2:
            columns = rng.randint(1, 9)
            reply.add(
                Table(
                    columns=[text(20) for _ in range(columns)],
                    rows=[[text(80) for _ in range(columns)] for _ in range(rng.randint(0, 60))],
                )
            )
        elif kind == 3:
            reply.add(
                ActionList(
                    title=text(80),
                    items=[
                        line(i, title=text(400), note=text(3000) or None)
                        for i in range(rng.randint(0, 400))
                    ],
                    more=rng.randint(0, 5),
                    more_hint=text(30) or None,
                )
            )
        elif kind == 4:
            reply.add(
                Buttons(
                    buttons=[Button(label=text(90), action_id=ButtonId.UPDATE, value=text(200))]
                )
            )
        else:
            reply.add(Divider())
    activity = cards.message(reply)
    assert_activity_ok(activity, f"seed {seed}")


# --- every command's reply ---------------------------------------------------------------------


def replies_of(runtime: Runtime, commands: list[tuple[str, str]]) -> dict[str, Reply]:
    out = {}
    for user, text in commands:
        caller = Caller(user_id=user, channel_id="19:abc@thread.tacv2", source=Surface.TEAMS)
        out[text] = execute(runtime, caller, text)
    return out


DEMO_COMMANDS = [
    (READER, "help"),
    (ADMIN, "help"),
    (READER, "summary"),
    (READER, "summary Graduated Response"),
    (LEAD_11F, "show 11F"),
    (READER, "show 11G"),
    *((READER, f"list {what}") for what in ("red", "amber", "green", "overdue", "stale", "all")),
    (LEAD_11F, "mine"),
    (LEAD_11F, "update 11F amber in progress Toolkit pilot <at>Sam</at> **live**"),
    (READER, "update 11F green Not mine"),
    (LEAD_11F, "update 11F"),
    (READER, "history 11F"),
    (ADMIN, "signoff 13A Objective met [click](https://evil.example)"),
    (ADMIN, "assign 12B U0DEMO05"),
    (ADMIN, "followup add 12B How many &lt; 20 weeks? <script>x</script>"),
    (LEAD_11F, "followup answer FU-3 46 of 60"),
    (READER, "followup list all"),
    (ADMIN, "followup close FU-3"),
    (ADMIN, "board add 2026-12-10 14:00 SEND Board"),
    (READER, "board list"),
    (READER, "digest preview"),
    (ADMIN, "digest now"),
    (ADMIN, "digest weekly monday 09:00"),
    (READER, "frobnicate"),
]


def test_every_command_on_the_demo_plan_renders_a_valid_card(demo: Runtime) -> None:
    replies = replies_of(demo, DEMO_COMMANDS)
    for text, reply in replies.items():
        activity = cards.message(reply)
        assert_activity_ok(activity, text)
        assert_inert(activity)
    assert "Toolkit pilot" in shown(cards.message(replies["history 11F"]))
    shown_11f = card_of(cards.message(replies["show 11F"]))
    verbs = [a["verb"] for n in shown_11f["body"] if n["type"] == "ActionSet" for a in n["actions"]]
    assert verbs  # the lead's Update button
    form = replies["update 11F"].form
    assert form is not None
    assert card_errors(cards.dialog_card(cards.dialog_from_form(form))) == []


def test_every_command_on_a_thousand_action_plan_stays_within_budget(runtime: Runtime) -> None:
    load_plan(runtime, 1000)
    commands = [
        (READER, "help"),
        (READER, "summary"),
        *((READER, f"list {what}") for what in ("red", "amber", "overdue", "stale", "all")),
        ("U0000000", "mine"),
        (ADMIN, "show 1A.1"),
        (READER, "history 1A.1"),
        (READER, "followup list all"),
        (READER, "board list"),
        (READER, "digest preview"),
        (ADMIN, "update 1A.1"),
    ]
    replies = replies_of(runtime, commands)
    for text, reply in replies.items():
        activity = cards.message(reply)
        assert_activity_ok(activity, text)
    digest = shown(cards.message(replies["digest preview"]))
    assert "Red actions (400)" in digest
    assert "more: @WSoA list red" in digest and "more: @WSoA list amber" in digest
    assert "more: @WSoA list all" in shown(cards.message(replies["list all"]))


# --- dialogs -----------------------------------------------------------------------------------


def update_form(**changes: Any) -> Form:
    """The update form the `update REF` command opens, for an action not stored anywhere."""
    values: dict[str, Any] = {
        "ref": "11F",
        "title": "Reduce exclusions " + EVIL,
        "rag": Rag.RED,
        "status": Status.IN_PROGRESS,
    }
    values.update(changes)
    return updating.update_form(Action(**values))


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in card["body"] if n["type"].startswith("Input.")}


def test_the_update_dialog() -> None:
    dialog = cards.dialog_from_form(update_form())
    card = cards.dialog_card(dialog)
    assert card_errors(card) == []
    assert_inert(card)
    fields = inputs(card)
    assert list(fields) == ["rag", "status", "note"]
    assert fields["rag"]["value"] == "red"
    assert [c["value"] for c in fields["rag"]["choices"]] == ["red", "amber", "green"]
    assert "🔴 Red" in [c["title"] for c in fields["rag"]["choices"]]
    assert fields["status"]["value"] == "in progress" and fields["status"]["isRequired"]
    assert fields["note"]["isMultiline"] and fields["note"]["maxLength"] == 3000
    [submit] = card["actions"]
    assert submit["type"] == "Action.Submit"
    # The values it opened with ride along: only what the person changes is a change.
    assert submit["data"] == {
        "purpose": "update",
        "key": "11F",
        "initial:rag": "red",
        "initial:status": "in progress",
    }
    task = cards.dialog_task(dialog)["task"]
    assert task["type"] == "continue" and task["value"]["title"] == "Update 11F"
    assert task["value"]["card"]["content"] == card


def test_a_dialog_without_rating_or_known_status() -> None:
    fields = inputs(cards.dialog_card(cards.dialog_from_form(update_form(rag=None, status=None))))
    assert "value" not in fields["rag"] and "value" not in fields["status"]


def test_dialog_errors_are_shown_by_their_field() -> None:
    dialog = cards.dialog_from_form(update_form())
    card = cards.dialog_card(dialog, {"note": "A note is needed <at>x</at>", "": "Not saved."})
    assert card_errors(card) == []
    assert_inert(card)
    body = card["body"]
    note_at = next(i for i, n in enumerate(body) if n.get("id") == "note")
    assert body[note_at - 1]["color"] == "Attention"
    assert "A note is needed" in cards.unescape(body[note_at - 1]["text"])
    assert any(n.get("text") == "Not saved." for n in body)


def test_reading_a_submission() -> None:
    dialog = cards.dialog_from_form(update_form())
    data = {"purpose": "update", "key": "11F", "rag": "amber", "status": "complete", "note": "Done"}
    assert cards.submission_target(data) == ("update", "11F")
    assert cards.read_submission(dialog, data) == {
        "rag": "amber",
        "status": "complete",
        "note": "Done",
    }
    # Teams leaves out inputs left empty; a forged choice reads as empty.
    assert cards.read_submission(dialog, {"rag": "purple"}) == {"rag": "", "status": "", "note": ""}
    assert cards.submission_target({"verb": "x"}) is None


def test_a_huge_title_keeps_the_inputs_within_budget() -> None:
    card = cards.dialog_card(cards.dialog_from_form(update_form(title="word " * 20000)))
    assert cards.size(card) <= cards.DIALOG_BYTES
    assert list(inputs(card)) == ["rag", "status", "note"]


def test_the_form_as_a_card_submits_by_execute() -> None:
    card = cards.dialog_card(cards.dialog_from_form(update_form()), submit="card")
    assert card_errors(card) == []
    [save] = card["actions"]
    assert save["type"] == "Action.Execute" and save["verb"] == cards.FORM_SUBMIT_VERB
    assert {k: save["data"][k] for k in ("purpose", "key")} == {"purpose": "update", "key": "11F"}
    answer = cards.invoke_card(card)
    assert answer["statusCode"] == 200 and answer["type"] == cards.CARD_CONTENT_TYPE


def test_a_button_that_opens_the_dialog() -> None:
    action = cards.open_dialog_action("Update 11F", "update", "11F")
    card = cards.adaptive_card([{"type": "TextBlock", "text": "x"}], fallback="x", actions=[action])
    assert card_errors(card) == []
    assert action["data"]["msteams"] == {"type": "task/fetch"}
    assert cards.submission_target(action["data"]) == ("update", "11F")
    assert cards.invoke_message("Saved " + "x" * 400)["value"].endswith("…")
