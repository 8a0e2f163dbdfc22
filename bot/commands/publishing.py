"""The partnership's pages, from chat: `publish` / `publish off` (the public progress page),
`yousaid add|list|remove` ("You said, we did") and `partner add|list|remove` (who may sign in).
"""

from __future__ import annotations

import re

from bot.commands.registry import command
from bot.domain import Invalid
from bot.replies import Reply, Table, bold, code, plain, plural
from bot.services import partners, publishing
from bot.services.context import Ctx
from bot.store.models import PartnerRole

_YOU_SAID = re.compile(
    r"^[\"“]?(?P<workstream>.+?)[\"”]?\s+you\s+said\s*[:,\-–]?\s*(?P<said>.+?)"
    r"\s+we\s+did\s*[:,\-–]?\s*(?P<did>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_ENTRY_ID = re.compile(r"^(?:YS-?)?(\d{1,9})$", re.IGNORECASE)


def _page_url(ctx: Ctx) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/progress/{ctx.plan.slug}"


@command(
    "publish",
    ["publish", "publish off"],
    "publishes the plan's public progress page as it stands now (titles, statuses, ratings, "
    "due dates, measures, “You said, we did”; never notes, names or follow-ups), or withdraws it",
    ["publish", "publish off"],
    admin=True,
)
def publish(ctx: Ctx, args: str) -> Reply:
    word = args.strip().lower()
    if word in ("off", "withdraw"):
        if not publishing.withdraw(ctx):
            return Reply(summary="Not published").para("The progress page is not published.")
        return Reply(summary="Progress page withdrawn").para(
            bold("Withdrawn."),
            plain(f" {_page_url(ctx)} now answers “not found”. "),
            code("publish"),
            plain(" puts it back, as the plan stands then."),
        )
    if word:
        raise Invalid("`publish` takes no words, or `off`: `publish`, `publish off`.")
    _, public = publishing.publish(ctx)
    return Reply(summary="Progress page published").para(
        bold("Published "),
        plain(
            f"{plural(public.action_count, 'action')} and "
            f"{plural(len(public.measures), 'measure')} at {_page_url(ctx)}: the page stays as "
            "it is now until the next "
        ),
        code("publish"),
        plain(". "),
        code("wsoa publish -o DIR"),
        plain(" writes the same page as files for the Local Offer website."),
    )


@command(
    "yousaid",
    ["yousaid add WORKSTREAM you said … we did …", "yousaid list", "yousaid remove ID"],
    "“You said, we did” entries for the public progress page",
    [
        "yousaid add Graduated response you said: plans were not shared with us "
        "we did: every plan is now sent to the family first"
    ],
    admin=True,
)
def yousaid(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    sub = sub.lower()
    if sub == "add":
        found = _YOU_SAID.match(rest.strip())
        if found is None:
            raise Invalid(
                "Write the workstream, then “you said …”, then “we did …”: `yousaid add "
                "Graduated response you said: … we did: …`."
            )
        entry = publishing.add_you_said(
            ctx, found["workstream"].strip(), found["said"], found["did"]
        )
        return Reply(summary=f"Added YS-{entry.id}").para(
            bold(f"Added YS-{entry.id}"),
            plain(f" to {entry.workstream.name}. It shows on the public page from the next "),
            code("publish"),
            plain("."),
        )
    if sub == "remove":
        number = _ENTRY_ID.match(rest.strip())
        if number is None:
            raise Invalid("Which entry? `yousaid remove YS-3` (`yousaid list` shows them).")
        entry = publishing.remove_you_said(ctx, int(number[1]))
        return Reply(summary=f"Removed YS-{entry.id}").para(
            bold(f"Removed YS-{entry.id}."),
            plain(" It leaves the public page at the next "),
            code("publish"),
            plain("."),
        )
    if sub in ("list", ""):
        entries = publishing.you_said_entries(ctx.session, ctx.plan.id)
        reply = Reply(summary=f"{plural(len(entries), 'entry')}").heading("You said, we did")
        if not entries:
            return reply.para("None yet: ", code("yousaid add WORKSTREAM you said … we did …"))
        return reply.add(
            Table(
                columns=["Id", "Workstream", "You said", "We did"],
                rows=[[f"YS-{e.id}", e.workstream.name, e.you_said, e.we_did] for e in entries],
            )
        )
    raise Invalid(f"`yousaid {sub[:20]}` is not a command: `yousaid add`, `list` or `remove`.")


@command(
    "partner",
    ["partner add EMAIL [viewer|adviser]", "partner list", "partner remove EMAIL"],
    "who may sign in to the plan's pages: board members, councillors and forum volunteers "
    "(viewers), and advisers, who may also raise follow-up questions there",
    ["partner add jo.adviser@education.gov.uk adviser", "partner add cllr.smith@torbay.gov.uk"],
    admin=True,
)
def partner(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    sub = sub.lower()
    words = rest.split()
    if sub == "add":
        if not words or len(words) > 2:
            raise Invalid("`partner add EMAIL [viewer|adviser]`: one address at a time.")
        role_word = words[1].lower() if len(words) == 2 else PartnerRole.VIEWER.value
        if role_word not in {r.value for r in PartnerRole}:
            raise Invalid(f"“{role_word[:20]}” is not a role: viewer or adviser.")
        row, added = partners.add(ctx, words[0], PartnerRole(role_word))
        if not added:
            return Reply(summary="Already a partner").para(
                f"{row.email} is already on the list as {row.role.value}."
            )
        return Reply(summary=f"Added {row.email}").para(
            bold(f"Added {row.email}"),
            plain(f" as {_role_text(row.role)}. They sign in at "),
            code(f"{ctx.settings.public_url.rstrip('/')}/sign-in"),
            plain(" with that address."),
        )
    if sub == "remove":
        if len(words) != 1:
            raise Invalid("`partner remove EMAIL`.")
        row = partners.remove(ctx, words[0])
        return Reply(summary=f"Removed {row.email}").para(
            bold(f"Removed {row.email}."),
            plain(" Their next page asks them to sign in, and they no longer can."),
        )
    if sub in ("list", ""):
        found = partners.partners(ctx.session, ctx.plan.id)
        reply = Reply(summary=plural(len(found), "partner")).heading("Partners")
        if not found:
            return reply.para(
                "None yet. Leads and admins sign in without being listed. ",
                code("partner add EMAIL [viewer|adviser]"),
            )
        return reply.add(
            Table(columns=["E-mail", "Role"], rows=[[p.email, p.role.value] for p in found])
        ).para("Leads and admins sign in without being listed.")
    raise Invalid(f"`partner {sub[:20]}` is not a command: `partner add`, `list` or `remove`.")


def _role_text(role: PartnerRole) -> str:
    if role == PartnerRole.ADVISER:
        return "an adviser (reads the plan and raises follow-up questions)"
    return "a viewer (reads the plan)"
