"""The one shortening both chat renderers use, with each platform's measure."""

from __future__ import annotations

from bot.render import blockkit, cards
from bot.render.limits import cut_inside, shorten


def test_shorten_cuts_after_a_whole_word_within_the_limit() -> None:
    assert shorten("alpha beta gamma", 12) == "alpha beta…"
    assert shorten("  alpha \n beta ", 10) == "alpha beta"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"
    assert shorten("", 0) == ""


def test_a_measure_counts_what_the_platform_counts() -> None:
    # Slack counts escaped text: "&" is "&amp;", five
    assert shorten("a & b", 5, blockkit._escaped_size) == "a…"
    assert blockkit._shorten("a & b", 9) == "a & b"
    assert cut_inside("&&&", 10, blockkit._escaped_size) == "&&"


def test_a_first_word_exactly_the_limit_is_cut_not_the_word_after_it() -> None:
    # Both renderers begin with the text's beginning (Slack's used to show "down…").
    text = "Exclusions down by a third"
    assert cards.shorten(text, 10) == "Exclusion…"
    assert blockkit._shorten(text, 10) == "Exclusion…"
