"""The one layout (bot/render/layout.py) and the one error path, on every renderer and surface:
every rating on both scales and every status renders in words everywhere, and a reply that cannot
be rendered still reaches the person as the apology with its reference."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.console import run_line
from bot.domain import Rag, Status
from bot.render import blockkit, cards, layout
from bot.render.text import render_text
from bot.replies import ActionLine, ActionList, Reply
from bot.runtime import Runtime
from tests.conftest import ADMIN
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.teams_standin import TeamsStandIn
from tests.test_parity import plan, teams  # noqa: F401
from tests.test_teams_wired import PM_AAD, message, post

RATINGS: list[Rag | None] = [*Rag, None]
APOLOGY = re.compile(r"Sorry, something went wrong on our side\. .*reference: [0-9a-f]{8}")


def every_rating_and_status() -> Reply:
    items = [
        ActionLine(ref=f"{i}A", title="Train SENCOs", rag=rag, status=status.value)
        for i, (rag, status) in enumerate(zip(RATINGS * 2, [*Status] * 3, strict=False))
    ]
    return Reply().add(ActionList(title="All", items=items))


def test_every_rating_and_status_has_its_words() -> None:
    for rag in Rag:
        assert layout.rag_word(rag) and layout.rag_symbol(rag) and layout.rag_tone(rag)
        assert layout.rag_word(rag).lower() == rag.value
    for status in Status:
        assert layout.status_word(status) == status.value
    assert layout.status_word("Pilot running in 12 schools") == "Pilot running in 12 schools"


@pytest.mark.parametrize(
    "render",
    [
        render_text,
        lambda reply: json.dumps(blockkit.message(reply), ensure_ascii=False),
        lambda reply: cards.unescape(json.dumps(cards.message(reply), ensure_ascii=False)),
    ],
    ids=["text", "blockkit", "cards"],
)
def test_every_renderer_shows_every_rating_and_status(render: Any) -> None:
    shown = render(every_rating_and_status())
    for rag in RATINGS:
        word = rag.value if render is render_text and rag else layout.rag_word(rag)
        if render is render_text and rag is None:
            continue  # a plain list leaves the column empty
        assert word in shown or layout.rag_symbol(rag) in shown, rag
    for status in Status:
        assert status.value in shown


def test_a_plain_list_keeps_its_columns_apart_on_five_points() -> None:
    reply = Reply().add(
        ActionList(items=[ActionLine(ref="R3.12", title="Train SENCOs", rag=Rag.RED_AMBER)])
    )
    assert re.search(r"R3\.12 +red/amber +Train SENCOs", render_text(reply))


# --- a rendering failure is answered, on every surface -----------------------------------------


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every renderer fails on any reply but the apology."""
    failed: list[str] = []

    def breaking(real: Any, name: str) -> Any:
        def render(reply: Reply, *args: Any, **kwargs: Any) -> Any:
            if not reply.summary.startswith("Sorry, something went wrong"):
                failed.append(name)
                raise RuntimeError("a renderer broke")
            return real(reply, *args, **kwargs)

        return render

    monkeypatch.setattr("bot.console.render_text", breaking(render_text, "text"))
    monkeypatch.setattr("bot.slack.listeners.message", breaking(blockkit.message, "blockkit"))
    monkeypatch.setattr("bot.render.cards.message", breaking(cards.message, "cards"))
    yield failed


def test_a_rendering_failure_at_the_console_gets_the_apology(
    demo: Runtime, failing: list[str]
) -> None:
    answer = run_line(demo, ADMIN, "summary")
    assert APOLOGY.search(answer) and failing == ["text"]


def test_a_rendering_failure_in_slack_gets_the_apology(
    demo: Runtime, slack: SlackHarness, failing: list[str]
) -> None:
    answer = slack.reply("summary", ADMIN)
    assert APOLOGY.search(json.dumps(answer)) and failing == ["blockkit"]


@pytest.mark.parametrize("plan", [3], ids=["three-point"], indirect=True)
def test_a_rendering_failure_in_teams_gets_the_apology(
    teams: tuple[Any, TeamsStandIn],  # noqa: F811
    failing: list[str],
) -> None:
    served, standin = teams
    status, _ = post(served.url, message("summary", standin.service_url, aad=PM_AAD, user="29:pm"))
    assert status == 200 and failing == ["cards"]
    shown = " ".join(cards.unescape(json.dumps(c.json)) for c in standin.calls if c.json)
    assert APOLOGY.search(shown), shown[:300]
