"""Lead cells as trackers write them, and the same person named two ways in one file.

A cell may name several leads separated by `;`, `,`, `/`, `&`, "and" or line breaks. A comma
always separates: "Smith, Jo" (surname first) is rare in trackers, and reading it as two people
is reported as two names that match nobody, where the opposite choice would silently merge
"Jo Smith, Sam Lead" into one person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.platforms import handle_of

_SEPARATORS = re.compile(r"\s*(?:[;,/&\r\n]|\band\b)\s*", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# "Alison Whitfield <alison.whitfield@council.gov.uk>": a name and an e-mail, as exports write
# a lead and as mail programs write an address.
_NAMED_EMAIL = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<email>[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>$")


# "Access and Inclusion Team" is one lead: "and" joins the words of a team's or a service's
# name, so a part of a cell naming one is never split at "and".
_TEAM_WORDS = re.compile(
    r"\b(team(?:s)?|services?|department|directorate|board|group|unit|partnership|"
    r"forum|panel|hub|office|commissioning|network|programme|trust|council|icb|nhs|alliance|"
    r"collaborative|school|college|academy|head of|director|manager|coordinator|"
    r"co-ordinator)\b",
    re.IGNORECASE,
)
_OTHER_SEPARATORS = re.compile(r"\s*[;,/&\r\n]\s*")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
# Cells that name no one yet: no lead, and said so (`placeholder_leads`).
_PLACEHOLDER = re.compile(
    r"^(?:tbc|tbd|tba|n/?a|none|vacant|vacancy|unknown|to be (?:confirmed|identified|appointed|"
    r"agreed)|(?:new |a )?(?:lead|owner|officer|post)s? (?:to be|tbc|tbd)\b.*|"
    r"(?:new |interim )?(?:lead|post) vacant|awaiting (?:appointment|recruitment).*)$",
    re.IGNORECASE,
)


def split_leads(text: str) -> list[str]:
    """`Sam Lead & Raj Patel / jo@x.gov.uk` → three leads, trimmed, empty parts dropped; a
    team's name with "and" in it (`Access and Inclusion Team`) stays one lead, and a cell that
    names no one yet (`TBC`, `New lead to be identified`, `Vacant`) gives none."""
    leads: list[str] = []
    for part in _OTHER_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = [part] if _TEAM_WORDS.search(part) else _AND.split(part)
        leads += [p.strip() for p in pieces if p.strip() and not is_placeholder(p.strip())]
    return leads


def is_placeholder(text: str) -> bool:
    """A lead cell's way of saying no one is named yet."""
    return bool(_PLACEHOLDER.match(" ".join(text.split()).rstrip(".")))


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def named_email(text: str) -> tuple[str | None, str] | None:
    """The name and e-mail of `Name <e-mail>`; None for any other form."""
    match = _NAMED_EMAIL.match(" ".join(text.split()))
    if match is None:
        return None
    return match.group("name").strip(" \"'") or None, match.group("email").lower()


def is_named_only(text: str) -> bool:
    """A lead given by name alone: no e-mail, no chat platform's user id, so nothing links it
    to anyone."""
    return not is_email(text) and named_email(text) is None and handle_of(text) is None


def _name_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[^a-z]+", text.lower()) if w)


@dataclass
class LeadLinks:
    """Names taken to be an e-mail found elsewhere in the file, and names matching nobody."""

    linked: dict[str, str] = field(default_factory=dict)  # name as written -> e-mail
    unmatched: list[str] = field(default_factory=list)


def link_names_to_emails(leads: Iterable[str]) -> LeadLinks:
    """Pairs each bare name with the one e-mail in the file that spells it.

    "Sam Lead" is sam.lead@council.gov.uk, samlead@… or slead@…; a name two e-mails could
    spell is left alone (and reported as matching nobody) rather than guessed.
    """
    everything = list(dict.fromkeys(leads))
    emails = [lead.lower() for lead in everything if is_email(lead)]
    emails += [found[1] for lead in everything if (found := named_email(lead))]
    by_spelling: dict[tuple[str, ...], set[str]] = {}
    for email in emails:
        local = email.split("@", 1)[0]
        words = _name_words(local)
        spellings = {words, ("".join(words),)}
        for spelling in spellings:
            by_spelling.setdefault(spelling, set()).add(email)
    links = LeadLinks()
    for lead in everything:
        if not is_named_only(lead):
            continue
        words = _name_words(lead)
        candidates: set[str] = set()
        if words:
            candidates |= by_spelling.get(words, set())
            candidates |= by_spelling.get(("".join(words),), set())
            if len(words) >= 2:
                candidates |= by_spelling.get((words[0][0] + words[-1],), set())
        if len(candidates) == 1:
            links.linked[lead] = candidates.pop()
        else:
            links.unmatched.append(lead)
    return links
