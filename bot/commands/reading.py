"""Commands that read: help, summary, show, list, mine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot.commands.registry import COMMANDS, command
from bot.commands.updating import STATUS_RULE
from bot.domain import Invalid, Rag
from bot.presenters import (
    action_list,
    actor_label,
    author_span,
    counts_table,
    describe_change,
    due_text,
    person_span,
    shorten,
    when,
)
from bot.replies import (
    Button,
    ButtonId,
    Buttons,
    Paragraph,
    Reply,
    Span,
    bold,
    code,
    joined,
    plain,
    plural,
)
from bot.services import actions as action_service
from bot.services import followups as followup_service
from bot.services.context import Ctx
from bot.services.kpis import impact_section
from bot.services.people import people_by_id, unresolved_people
from bot.services.plans import impacts, require_workstream
from bot.services.redaction import redacted_by
from bot.store import queries
from bot.store.models import Action, FollowUp, Person, Update, Workstream

LIST_LIMIT = 60
REFS_LIMIT = 20


@command("help", "help", "the commands, with examples", ["help"])
def help_(ctx: Ctx, args: str) -> Reply:
    after = f" after {ctx.prefix.strip()}" if ctx.prefix.strip() else ""
    reply = Reply(summary="WSoA bot commands").heading(f"WSoA bot: what you can type{after}")
    # One line per command, its usage forms together and its summary once. Lines rather than a
    # table: a fixed-width table in Slack cuts long cells, and the usage is what people need.
    for admin_only in (False, True):
        if admin_only:
            reply.para(bold("For programme managers (admins)"))
        for c in COMMANDS.values():
            if c.admin == admin_only:
                usage: list[Span] = joined([code(line) for line in c.usage], " · ")
                reply.para(*usage, plain(f" — {c.summary}"))
    examples = [e for c in COMMANDS.values() for e in c.examples]
    reply.para(bold("Examples: "), plain(" · ".join(examples)))
    # help answers where no plan does yet (a new workspace, an empty database)
    plan = ctx.scope.plan
    reply.para(
        plain(
            "Refs and words are not case-sensitive (2a.3 = 2A.3). RAG: "
            + ", ".join(r.value for r in Rag.scale(plan.rag_scale if plan else 3))
            + ", optionally after `RAG` (`RAG amber`, `Green:`). "
            "Statuses: not started, in progress, complete, signed off, halted. " + STATUS_RULE
        )
    )
    if ctx.is_admin and plan is not None:
        missing = unresolved_people(ctx.session, plan.id)
        if missing:
            names = ", ".join(p.email or p.name for p in missing[:30])
            more = f" and {len(missing) - 30} more" if len(missing) > 30 else ""
            reply.para(
                bold(f"Leads not yet linked to a chat account ({len(missing)}): "),
                plain(
                    names
                    + more
                    + ". Use `assign REF @user`, or give their e-mail as the one they sign in with."
                ),
            )
    return reply


def _refs_text(found: list[str], total: int) -> str:
    text = ", ".join(found) if found else "none"
    return text + (f" and {total - len(found)} more" if total > len(found) else "")


@command(
    "summary",
    ["summary [WORKSTREAM]", "summary by priority"],
    "RAG counts, red and amber actions per workstream, overdue, due soon, follow-ups, next board",
    ["summary", "summary graduated response"],
)
def summary(ctx: Ctx, args: str) -> Reply:
    if " ".join(args.lower().split()) == "by priority":
        from bot.commands.priorities import summary_by_priority

        return summary_by_priority(ctx)
    plan = ctx.plan
    only: Workstream | None = require_workstream(ctx.session, plan, args) if args else None
    counts = [
        c
        for c in queries.rag_counts(ctx.session, plan.id)
        if only is None or c.workstream_id == only.id
    ]
    title = f"{plan.name}: summary" + (f" of {only.name}" if only else "")
    reply = Reply(visibility="channel", summary=title).heading(title)
    reply.add(counts_table(counts, plan.rag_scale))
    flagged: dict[int, dict[str, list[str]]] = {}
    for workstream_id, rag, ref in queries.flagged_refs(ctx.session, plan.id, counts, REFS_LIMIT):
        flagged.setdefault(workstream_id, {"red": [], "amber": []})[rag].append(ref)
    for c in counts:
        by_rag = flagged.get(c.workstream_id)
        if not by_rag:
            continue
        totals = {"red": c.red, "amber": c.amber}
        parts = [f"{rag} {_refs_text(refs, totals[rag])}" for rag, refs in by_rag.items() if refs]
        reply.para(bold(f"{c.name}: "), plain("; ".join(parts)))
    if not flagged:
        reply.para(plain("No red or amber actions."))

    if only is not None and (changed := impacts(ctx.session, plan.id).get(only.id)):
        # the tracker's "The difference it made" for this area
        reply.para(bold("What the work has changed: "), plain(changed))
    reply.add(*impact_section(ctx.session, plan.id, workstream_id=only.id if only else None))
    in_scope = queries.Filter(workstream_id=only.id if only else None)
    overdue, n_overdue = queries.refs(
        ctx.session, plan.id, replace(in_scope, overdue_on=ctx.today), REFS_LIMIT
    )
    reply.para(bold(f"Overdue ({n_overdue}): "), plain(_refs_text(overdue, n_overdue)))
    soon_until = ctx.today + timedelta(days=ctx.settings.due_soon_days)
    soon, n_soon = queries.refs(
        ctx.session, plan.id, replace(in_scope, due_between=(ctx.today, soon_until)), REFS_LIMIT
    )
    reply.para(
        bold(f"Due in the next {ctx.settings.due_soon_days} days ({n_soon}): "),
        plain(_refs_text(soon, n_soon)),
    )
    n_followups = queries.count_open_followups(ctx.session, plan.id, only.id if only else None)
    reply.para(bold("Open follow-ups: "), plain(f"{n_followups} (`{ctx.prefix}followup list`)"))
    board = queries.next_board(ctx.session, plan.id, ctx.now)
    reply.para(
        bold("Next board meeting: "),
        plain(f"{board.name}, {when(board.starts_at, ctx.settings.tz)}" if board else "none set"),
    )
    return reply


@command(
    "show",
    "show REF",
    "one action: leads, due, status, RAG, measure, latest updates, open follow-ups",
    ["show 11F"],
)
def show(ctx: Ctx, args: str) -> Reply:
    action = _named_action(ctx, args, "show")
    rag = Rag(action.rag).value if action.rag else "not rated"
    reply = Reply(summary=f"{action.ref}: {shorten(action.title, 100)}")
    reply.heading(f"{action.ref} {action.title}")
    leads = joined([person_span(p) for p in action.leads]) or [plain("none yet")]
    reply.para(bold("Workstream: "), plain(action.workstream.name))
    reply.para(bold("Leads: "), *leads)
    reply.para(
        bold("RAG: "),
        plain(rag),
        bold("   Status: "),
        plain(action.status),
        bold("   Due: "),
        plain(due_text(action) + (" (overdue)" if _overdue(ctx, action) else "")),
    )
    followups = followup_service.for_action(ctx, action)
    # The buttons come before the long parts, so the renderer's budget never cuts them.
    buttons = _show_buttons(ctx, action, followups)
    if buttons:
        reply.add(Buttons(buttons=buttons))
    if action.measure:
        reply.para(bold("Success measure: "), plain(action.measure))
    updates = action_service.history(ctx.session, action, limit=3)
    people = people_by_id(ctx.session, {u.person_id for u in updates if u.person_id})
    reply.para(bold("Latest updates" if updates else "No updates yet."))
    for u in updates:
        reply.add(_update_paragraph(ctx, u, people))
    if followups:
        reply.para(bold(f"Open follow-ups ({len(followups)})"))
        for f in followups:
            answered = f" ({plural(len(f.answers), 'answer')})" if f.answers else " (no answer yet)"
            reply.para(bold(followup_service.label(f) + ": "), plain(f.question + answered))
    return reply


def _named_action(ctx: Ctx, args: str, verb: str) -> Action:
    if not args:
        raise Invalid(f"Which action? `{verb} 11F`.")
    plan = ctx.plan
    return action_service.find_action(ctx.session, plan.id, args.split()[0])


def _show_buttons(ctx: Ctx, action: Action, followups: Sequence[FollowUp]) -> list[Button]:
    """For the action's leads and admins: Update, and Answer on its open follow-ups."""
    if not action_service.can_update(ctx, action):
        return []
    update = Button(
        label=f"Update {action.ref}", action_id=ButtonId.UPDATE, value=action.ref, style="primary"
    )
    answers = [
        Button(
            label=f"Answer {followup_service.label(f)}",
            action_id=ButtonId.ANSWER,
            value=followup_service.label(f),
        )
        for f in followups[:5]
    ]
    return [update, *answers]


def _overdue(ctx: Ctx, action: Action) -> bool:
    return action.due is not None and action.due < ctx.today and action.status not in queries.CLOSED


def _update_paragraph(
    ctx: Ctx,
    u: Update,
    people: dict[int, Person],
    numbered: bool = False,
    redacted: Update | None = None,
) -> Paragraph:
    changes = describe_change(u)
    kind = {
        "signoff": "signed off",
        "assign": "leads changed",
        "created": "created",
        "undo": "undone (the update before taken back)",
        "map": "strategic priorities changed",
        "escalation": "considered by the board (escalation)",
        "redaction": "redacted "
        + ", ".join(f"#{c.get('new')}" for c in u.changes or [] if c.get("field") == "redacted"),
    }.get(u.kind)
    if kind:
        changes.insert(0, kind)
    spans: list[Span] = [
        *([plain(f"#{u.id} ")] if numbered else []),
        bold(when(u.at, ctx.settings.tz)),
        plain(" "),
        author_span(u.person_id, u.source, people),
    ]
    if changes:
        spans.append(plain(" · " + "; ".join(changes)))
    if u.note:
        spans.append(plain(f" · {u.note}"))
    if redacted is not None:
        name = actor_label(people.get(redacted.person_id or 0), redacted.source)
        spans.append(plain(f" · [redacted by {name} on {when(redacted.at, ctx.settings.tz)}]"))
    return Paragraph(spans=spans)


LIST_WORDS = "RAG|complete|overdue|stale|all|WORKSTREAM"


@command(
    "list",
    f"list {LIST_WORDS}",
    "matching actions, one line each",
    ["list amber", "list complete", "list overdue", "list graduated response"],
)
def list_(ctx: Ctx, args: str) -> Reply:
    word = args.strip().lower()
    if not word:
        raise Invalid(f"List what? `list {LIST_WORDS}`.")
    plan = ctx.plan
    ratings = {r.value: r for r in Rag.scale(plan.rag_scale)}
    rag = ratings.get(word.replace(" ", ""))
    if rag is not None:
        f, title = queries.Filter(rag=rag.value), f"{rag.value.capitalize()} actions"
    elif word in ("complete", "blue", "finished", "done"):
        f, title = queries.Filter(complete=True), "Complete actions (complete or signed off)"
    elif word == "overdue":
        f, title = queries.Filter(overdue_on=ctx.today), "Overdue actions"
    elif word == "stale":
        since = ctx.now - timedelta(days=ctx.settings.stale_days)
        f = queries.Filter(stale_before=since)
        title = f"Stale actions (no update for {ctx.settings.stale_days} days)"
    elif word == "all":
        f, title = queries.Filter(), "All actions"
    else:
        workstream = require_workstream(ctx.session, plan, args)
        f, title = queries.Filter(workstream_id=workstream.id), workstream.name
    found, total = queries.find_actions(ctx.session, plan.id, f, limit=LIST_LIMIT)
    reply = Reply(summary=f"{title}: {total}")
    reply.add(
        action_list(
            f"{title} ({total})",
            found,
            total,
            f"{ctx.prefix}list {word}" if total > LIST_LIMIT else None,
            note=word in ("red", "amber", "stale", "red/amber", "amber/green"),
        )
    )
    if total > LIST_LIMIT:
        reply.para(plain("For the whole plan in a spreadsheet: `wsoa export --format xlsx`."))
    return reply


@command("mine", "mine", "the actions you lead", ["mine"])
def mine(ctx: Ctx, args: str) -> Reply:
    plan = ctx.plan
    person = ctx.known_person
    if person is None:
        return Reply(summary="You lead no actions").para(
            plain("You do not lead any actions yet. A programme manager can add you: "),
            code("assign REF @you"),
        )
    found, total = queries.find_actions(
        ctx.session, plan.id, queries.Filter(lead_person_id=person.id), limit=LIST_LIMIT
    )
    reply = Reply(summary=f"You lead {total} actions")
    reply.add(
        action_list(f"Actions you lead ({total})", found, total, None, note=True, empty="None yet.")
    )
    return reply


@command(
    "history",
    "history REF",
    "every change to the action: who, when, from → to, note",
    ["history 11F"],
)
def history(ctx: Ctx, args: str) -> Reply:
    action = _named_action(ctx, args, "history")
    updates = action_service.history(ctx.session, action)
    people = people_by_id(ctx.session, {u.person_id for u in updates if u.person_id})
    reply = Reply(summary=f"History of {action.ref}")
    reply.heading(f"History of {action.ref} {action.title}")
    reply.para(plain(f"{plural(len(updates), 'change')}, newest first."))
    redactions = redacted_by(updates)
    for u in updates:
        reply.add(_update_paragraph(ctx, u, people, numbered=True, redacted=redactions.get(u.id)))
    return reply
