"""Small things seen on a bad day: a NUL byte in a note is refused in words, on every backend."""

from __future__ import annotations

from bot.runtime import Runtime
from tests.conftest import ADMIN, LEAD_11F
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401


def test_a_nul_byte_in_a_note_is_refused_in_words_and_changes_nothing(
    demo: Runtime, slack: SlackHarness
) -> None:
    before = slack.updates()
    update = slack.reply("update 11F amber Pilot\x00 live", LEAD_11F)
    question = slack.reply("followup add 11F How many\x00?", ADMIN)

    assert "NUL character" in str(update) and "Remove it" in str(update), update
    assert "NUL character" in str(question), question
    assert "went wrong" not in str(update) + str(question)
    assert slack.updates() == before
