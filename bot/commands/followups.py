"""`followup add|answer|list|close`: advisers' follow-up questions and the partnership's answers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.commands.registry import command
from bot.domain import MAX_NOTE_CHARS, Invalid, looks_like_ref
from bot.presenters import actor_label, author_span, shorten, when
from bot.replies import Form, FormField, Reply, bold, plain
from bot.runtime import Runtime
from bot.services import followups as followup_service
from bot.services.context import Caller, Ctx
from bot.services.forms import ANSWER as ANSWER_FORM
from bot.services.people import people_by_id
from bot.services.plans import match_workstream, workstreams
from bot.services.redaction import answer_redactions
from bot.store.models import Answer, FollowUp

USAGE = [
    "followup add REF|WORKSTREAM QUESTION",
    "followup answer ID ANSWER",
    "followup list [open|answered|all|REF]",
    "followup close ID",
]


@command(
    "followup",
    USAGE,
    "advisers' follow-up questions: log (admins), answer (leads), list, close (admins)",
    ["followup add 12B How many are over 30 week wait?", "followup answer FU-3 46 over 30 weeks"],
)
def followup(ctx: Ctx, args: str) -> Reply:
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    rest = rest.strip()
    if sub == "add":
        target, question = split_target(ctx, rest)
        added = followup_service.add(ctx, target, question)
        return Reply(summary=f"Logged {followup_service.label(added)}").para(
            bold(f"Logged {followup_service.label(added)}"),
            plain(f" on {followup_service.about(added)}: {shorten(added.question, 200)}"),
        )
    if sub == "answer":
        text_id, _, text = rest.partition(" ")
        if not text_id or not text.strip():
            raise Invalid(
                "Answer needs the id and the answer: `followup answer FU-3 46 over 30 weeks`."
            )
        return answer_reply(ctx, followup_service.answer(ctx, text_id, text))
    if sub == "close":
        closed = followup_service.close(ctx, rest)
        return Reply(summary=f"Closed {followup_service.label(closed)}").para(
            bold(f"Closed {followup_service.label(closed)}.")
        )
    if sub in ("list", ""):
        return _listing(ctx, rest)
    raise Invalid(f"`followup {sub[:20]}` is not a follow-up command. Use: " + "; ".join(USAGE))


def open_answer_form(runtime: Runtime, caller: Caller, followup_id: str) -> Form:
    """The answer form for a follow-up, if the caller may still answer it (else a UserError)."""
    with runtime.work(caller) as ctx:
        followup = followup_service.get(ctx, followup_id)
        followup_service.require_answerable(ctx, followup)
        return answer_form(followup)


def answer_form(followup: FollowUp) -> Form:
    label = followup_service.label(followup)
    return Form(
        purpose=ANSWER_FORM,
        key=label,
        title=f"Answer {label}",
        about=[
            bold(f"{label} · {followup_service.about(followup)}"),
            plain(f"\n{followup.question}"),
        ],
        fields=[
            FormField(
                id="answer",
                label="Your answer",
                kind="multiline",
                required=True,
                hint="Figures and evidence only: never details of a child.",
                max_length=MAX_NOTE_CHARS,
            )
        ],
    )


def answer_reply(ctx: Ctx, answer: Answer) -> Reply:
    label = f"FU-{answer.followup_id}"
    number = followup_service.answer_number(ctx, answer)
    return Reply(summary=f"Answer recorded on {label}", changed_own_work=True).para(
        bold(f"Answer recorded on {label} "),
        plain(
            f"(answer {followup_service.answer_label(answer.followup_id, number)}). "
            "It stays open until a programme manager closes it."
        ),
    )


def split_target(ctx: Ctx, text: str) -> tuple[str, str]:
    """The ref or workstream a question is about, and the question. A workstream name may be
    several words ("Graduated Response How many …") or quoted."""
    quoted = re.match(r'^["“]([^"”]+)["”]\s*(.*)$', text, re.DOTALL)
    if quoted:
        return quoted.group(1), quoted.group(2)
    words = text.split()
    if len(words) < 2:
        raise Invalid(
            "Follow-up needs what it is about and the question: `followup add 12B How many …?`"
        )
    candidates = workstreams(ctx.session, ctx.plan)
    for n in range(min(6, len(words) - 1), 0, -1):
        name = " ".join(words[:n])
        found = match_workstream(candidates, name)
        if found is not None and (n > 1 or not looks_like_ref(name)):
            return found.name, text.split(None, n)[-1]
    return words[0], text.split(None, 1)[-1]


def _listing(ctx: Ctx, which: str) -> Reply:
    title, found = followup_service.listing(ctx, which)
    return listing_reply(ctx, title, found, len(found))


def listing_reply(ctx: Ctx, title: str, found: Sequence[FollowUp], total: int) -> Reply:
    """Follow-ups with their answers (redacted ones as such), who raised each and who answered:
    `total` is how many the listing holds, of which `found` are shown."""
    redactions = answer_redactions(ctx.session, [a.id for f in found for a in f.answers])
    people = people_by_id(
        ctx.session,
        {a.person_id for f in found for a in f.answers if a.person_id}
        | {r.person_id for r in redactions.values() if r.person_id}
        | {f.raised_by_person_id for f in found if f.raised_by_person_id},
    )
    reply = Reply(summary=f"{title}: {total}").heading(f"{title} ({total})")
    if not found:
        reply.para(plain("None."))
    tz = ctx.settings.tz
    for f in found:
        state = "closed" if f.closed_at else ("answered" if f.answers else "no answer yet")
        age = (ctx.now - f.raised_at).days
        reply.para(
            bold(
                f"{followup_service.label(f)} · {followup_service.about(f)} · {state} · {age} days"
            ),
            plain(" · raised by "),
            author_span(f.raised_by_person_id, f.source, people),
            plain(f"\n{f.question}"),
        )
        for number, a in enumerate(f.answers, start=1):
            label = followup_service.answer_label(f.id, number)
            redacted = redactions.get(a.id)
            if redacted is not None:
                name = actor_label(people.get(redacted.person_id or 0), redacted.source)
                text = f"[redacted by {name} on {when(redacted.at, tz)}]"
            else:
                text = a.text
            reply.para(
                plain(f"↳ {label} · {when(a.at, tz)} "),
                author_span(a.person_id, a.source, people),
                plain(f": {text}"),
            )
    return reply
