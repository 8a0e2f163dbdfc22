"""Commands that change actions: update, signoff, assign."""

from __future__ import annotations

from bot.commands.registry import command
from bot.domain import MAX_NOTE_CHARS, RAG_EMOJI, Invalid, Rag, Status
from bot.presenters import describe_change, shorten
from bot.replies import Choice, Form, FormField, Reply, bold, plain
from bot.services import actions as action_service
from bot.services.actions import Change
from bot.services.context import Ctx
from bot.services.forms import UPDATE as UPDATE_FORM
from bot.store.models import Action, Update

RAG_WORDS = {r.value: r for r in Rag.scale(3)}
# Words a tracker uses that are not a RAG rating here: refused rather than read as the note.
NOT_RAG = {"yellow", "orange", "blue", "grey", "gray", "purple", "black", "white"}
UPDATE_USAGE = "update REF [red|amber|green] [STATUS] NOTE"


def parse_update(args: str) -> tuple[str, Change | None]:
    """`11F amber in progress Toolkit pilot live`: RAG and status optional, in either order.
    Only the exact words count, so a note may start with any other word."""
    words = args.split()
    if not words:
        raise Invalid(f"Which action? `{UPDATE_USAGE}`.")
    ref, rest = words[0], words[1:]
    if rest and rest[0].lower().strip(",.:") in NOT_RAG:
        raise Invalid(
            f"“{rest[0]}” is not a RAG rating. Use red, amber or green "
            "(and a status such as `complete` for finished work)."
        )
    rag: Rag | None = None
    status: Status | None = None
    for _ in range(2):
        if rest and rag is None and rest[0].lower() in RAG_WORDS:
            rag = RAG_WORDS[rest.pop(0).lower()]
            continue
        if status is None:
            for n in (2, 1):
                found = Status.canonical(" ".join(rest[:n])) if len(rest) >= n else None
                if found is not None:
                    status, rest = found, rest[n:]
                    break
    if rag is None and status is None and not rest:
        return ref, None
    if not rest:
        raise Invalid(
            "Add a note saying what changed, so the board can see why: "
            f"`update {ref} {' '.join(w for w in (rag, status) if w)} Toolkit pilot live`."
        )
    return ref, Change(rag=rag, status=status, note=args.split(None, len(words) - len(rest))[-1])


@command(
    "update",
    [UPDATE_USAGE, "update REF (opens a form)"],
    "records a progress update (leads and admins)",
    ["update 11F amber Toolkit pilot live", "update 2a.3 in progress JSNA draft shared"],
)
def update(ctx: Ctx, args: str) -> Reply:
    ref, change = parse_update(args)
    if change is None:
        plan = ctx.plan
        action = action_service.find_action(ctx.session, plan.id, ref)
        action_service.require_can_update(ctx, action)
        return Reply(summary=f"Update {action.ref}", form=update_form(action)).para(
            plain(f"Type the update after the ref: `{UPDATE_USAGE}`.")
        )
    return update_reply(ctx, action_service.record_update(ctx, ref, change))


def update_form(action: Action) -> Form:
    rag = f"{RAG_EMOJI[Rag(action.rag)]} {Rag(action.rag).value}" if action.rag else "no RAG rating"
    return Form(
        purpose=UPDATE_FORM,
        key=action.ref,
        title=f"Update {action.ref}",
        about=[bold(f"{action.ref} "), plain(action.title)],
        context=f"Now: {rag} · {action.status or 'no status'}",
        fields=[
            FormField(
                id="rag",
                label="RAG rating",
                kind="choice",
                options=[
                    Choice(value=r.value, label=f"{RAG_EMOJI[r]} {r.value.capitalize()}")
                    for r in Rag.scale(3)
                ],
                placeholder="Choose a rating",
                initial=str(action.rag) if action.rag else None,
                hint="Based on the impact seen by children, young people and families.",
            ),
            FormField(
                id="status",
                label="Status",
                kind="choice",
                options=[Choice(value=s.value, label=s.value.capitalize()) for s in Status],
                placeholder="Choose a status",
                initial=str(action.status) if action.status else None,
                required=True,
            ),
            FormField(
                id="note",
                label="Progress note",
                kind="multiline",
                required=True,
                placeholder="What has changed, and what is the evidence?",
                max_length=MAX_NOTE_CHARS,
            ),
        ],
    )


def update_reply(ctx: Ctx, update: Update) -> Reply:
    action = ctx.session.get_one(Action, update.action_id)
    what = "; ".join(describe_change(update)) or "no change to RAG or status"
    return Reply(summary=f"Updated {action.ref}", changed_own_work=True).para(
        bold(f"Updated {action.ref}"),
        plain(f" ({shorten(action.title, 80)}): {what}. Note recorded."),
    )


@command(
    "signoff",
    "signoff REF NOTE",
    "objective met: signs the action off",
    ["signoff 1A Objective met – signed off by SEND Ops"],
    admin=True,
)
def signoff(ctx: Ctx, args: str) -> Reply:
    parts = args.split(None, 1)
    if len(parts) < 2:
        raise Invalid(
            "Sign off needs the ref and a note: `signoff 1A Objective met, evidence in board pack`."
        )
    update = action_service.sign_off(ctx, parts[0], parts[1])
    action = ctx.session.get_one(Action, update.action_id)
    return Reply(summary=f"Signed off {action.ref}").para(
        bold(f"Signed off {action.ref}"), plain(f" ({shorten(action.title, 80)}).")
    )


@command(
    "assign",
    "assign REF @user…",
    "sets the action's lead(s)",
    ["assign 11F @sam @priya"],
    admin=True,
)
def assign(ctx: Ctx, args: str) -> Reply:
    parts = args.split()
    if len(parts) < 2:
        raise Invalid("Assign needs the ref and at least one person: `assign 11F @sam`.")
    update = action_service.assign(ctx, parts[0], parts[1:])
    return Reply(summary="Leads set").para(plain(update.note or "Leads set."))
