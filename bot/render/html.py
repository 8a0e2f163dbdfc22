"""Replies and pages as HTML: Jinja2 templates (bot/web/templates) with the GOV.UK Design
System's Jinja port. Every value is escaped (autoescape everywhere); ratings take their words
and tones from bot/render/layout.py, and a tone only picks the tag's colour."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader
from markupsafe import Markup

from bot.domain import day_text
from bot.render import layout
from bot.replies import ActionLine, Button, Reply

# A tone as a GOV.UK tag colour: the tag's text is always the word, so the colour only
# repeats it.
TAG_CLASS: dict[layout.Tone, str] = {
    layout.Tone.BAD: "govuk-tag--red",
    layout.Tone.WARNING: "govuk-tag--yellow",
    layout.Tone.GOOD: "govuk-tag--green",
    layout.Tone.NEUTRAL: "govuk-tag--grey",
}


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("bot.web", "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tag_class"] = _tag_class
    env.globals.update(
        rag_word=layout.rag_word,
        rag_tone=layout.rag_tone,
        more_text=layout.more_text,
        item_facts=_facts,
    )
    return env


def _tag_class(tone: layout.Tone | str) -> str:
    return TAG_CLASS.get(layout.Tone(tone), "govuk-tag--grey")


def _facts(item: ActionLine) -> str:
    facts = []
    if item.leads:
        facts.append(", ".join(span.text for span in item.leads))
    if item.due:
        facts.append(f"due {day_text(item.due)}")
    if item.status:
        facts.append(layout.status_word(item.status))
    return " · ".join(facts)


def render_page(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)


def render_reply(
    reply: Reply,
    *,
    ref_url: Callable[[str], str],
    button_link: Callable[[Button], str | None],
    press_url: str,
    csrf: str,
) -> Markup:
    """A reply's elements as HTML. A button that opens a form is a link to it; any other is a
    small form posted back (with the session's CSRF token) to be pressed as in chat."""
    html = render_page(
        "reply.html",
        reply=reply,
        ref_url=ref_url,
        button_link=button_link,
        press_url=press_url,
        csrf=csrf,
    )
    return Markup(html)
