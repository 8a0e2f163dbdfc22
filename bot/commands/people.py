"""`person`: what the bot knows of a lead that a tracker may not say (their organisation)."""

from __future__ import annotations

import re

from bot.commands.registry import command
from bot.domain import Invalid
from bot.replies import Reply, bold, plain
from bot.services import people
from bot.services.context import Ctx

_ORG = re.compile(r"^(?P<who>.+?)\s+(?:org|organisation|organization)\s+(?P<org>.+)$", re.I | re.S)


@command(
    "person",
    "person WHO org ORGANISATION",
    "a lead's organisation (council, ICB, school…): `reports` groups leads by it",
    ["person helen.marlow@demo.example org Demo Council", "person @Helen Marlow org Demo ICB"],
    admin=True,
)
def person(ctx: Ctx, args: str) -> Reply:
    found = _ORG.match(args.strip())
    if found is None:
        raise Invalid(
            "Say who and their organisation: `person sam@council.example org Demo Council` "
            "(an e-mail, a mention or a lead's name)."
        )
    who, was = people.set_organisation(ctx, found["who"], found["org"])
    organisation = who.organisation or ""
    return Reply(summary=f"{who.label}: {organisation}").para(
        bold(f"{who.label}: {organisation}"),
        plain(f" (was: {was})." if was else " (none was given before)."),
    )
