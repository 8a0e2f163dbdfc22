"""Commands that change actions: update, undo, signoff, assign."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.registry import command
from bot.domain import MAX_NOTE_CHARS, Invalid, Rag, Status
from bot.presenters import describe_change, shorten
from bot.render import layout
from bot.replies import Button, ButtonId, Buttons, Choice, Form, FormField, Reply, bold, code, plain
from bot.services import actions as action_service
from bot.services.actions import Change
from bot.services.context import Ctx
from bot.services.forms import UPDATE as UPDATE_FORM
from bot.store.models import Action, Update

# Words a tracker uses that are not a RAG rating here: refused rather than read as the note.
NOT_RAG = {"yellow", "orange", "blue", "grey", "gray", "purple", "black", "white"}
UPDATE_USAGE = "update REF [RAG] [STATUS:] NOTE"

# How a status counts in a typed update, so a note that merely begins with a status word
# ("complete evaluation of the toolkit by March") never changes the status: the status is one
# of the five written (1) right after the RAG rating, (2) followed by `:`, `-`, `,` or `;`, or
# (3) after the word `status`. Anything else is the note, and the reply says so.
STATUS_RULE = (
    "A status counts when it comes right after the RAG, is followed by `:` `-` or `,`, or is "
    "written `status complete`; done, finished and completed mean complete when followed by "
    "`:` `-` or `,`, or alone; otherwise it is part of the note."
)

_END = r"(?=$|[\s:,;.!\-\u2013\u2014])"
_SEPARATOR = re.compile(r"^\s*[:,;.\-\u2013\u2014]?\s*")
_PUNCT_AFTER = re.compile(r"^\s*[:,;\-\u2013\u2014]")
_RAG_PREFIX = re.compile(r"^rag(?:\s*[:=\-\u2013]\s*|\s+)", re.IGNORECASE)
_STATUS_PREFIX = re.compile(r"^status(?:\s*[:=\-\u2013]\s*|\s+)", re.IGNORECASE)
_RAG_WORD = re.compile(
    r"^(red\s*[/\-]\s*amber|amber\s*[/\-]\s*red|amber\s*[/\-]\s*green|green\s*[/\-]\s*amber"
    r"|red|amber|green)" + _END,
    re.IGNORECASE,
)
_STATUS_WORD = re.compile(
    r"^(not[\s_\-]+started|in[\s_\-]+progress|complete|signed[\s_\-]+off|halted"
    r"|done|completed|finished)" + _END,
    re.IGNORECASE,
)
# Everyday words for finished work: they set the status as `complete` does, and alone they are
# also the note (`update 11F green: done`).
_FINISHED = frozenset({"done", "completed", "finished"})


@dataclass(frozen=True)
class ParsedUpdate:
    ref: str
    change: Change | None
    # a status word the note begins with that did not count (see STATUS_RULE): the reply says so
    status_in_note: Status | None = None


def _rag_word(text: str, scale: int) -> Rag:
    rag = Rag.parse(re.sub(r"\s*([/\-])\s*", "/", text.lower()))
    if rag not in Rag.scale(scale):
        raise Invalid(f"“{text}” is a five-point rating; this plan rates red, amber or green.")
    return rag


def _explicit_status(rest: str) -> tuple[Status, str]:
    """After the word `status`: one of the five, or a common word for one (`done`)."""
    for n in (3, 2, 1):
        words = rest.split()
        if len(words) < n:
            continue
        candidate = " ".join(words[:n]).rstrip(":,;.-\u2013")
        found = Status.lookup(candidate)
        if found is not None:
            after = rest.split(None, n)[n] if len(words) > n else ""
            return found, after
    valid = ", ".join(s.value for s in Status)
    word = rest.split()[0] if rest.split() else ""
    raise Invalid(f"“{word}” is not a status. Use one of: {valid}.")


def parse_update(args: str, scale: int = 3) -> ParsedUpdate:
    """`11F amber in progress: Toolkit pilot live`, `11F Green: on track`, `11F RAG amber pilot
    live`, `11F status complete evaluation done`. The RAG is optional and may follow `RAG` or
    `rag:`; a status counts only as STATUS_RULE says; the rest, exactly as typed, is the note."""
    parts = args.strip().split(None, 1)
    if not parts:
        raise Invalid(f"Which action? `{UPDATE_USAGE}`.")
    ref, rest = parts[0], parts[1] if len(parts) > 1 else ""
    rag: Rag | None = None
    status: Status | None = None
    status_in_note: Status | None = None
    first = (rest.split() or [""])[0]
    if first.lower().strip(",.:;-") in NOT_RAG:
        raise Invalid(
            f"“{first}” is not a RAG rating. Use red, amber or green "
            "(and a status such as `complete` for finished work)."
        )
    for _ in range(2):
        if rag is None:
            prefixed = _RAG_PREFIX.match(rest)
            body = rest[prefixed.end() :] if prefixed else rest
            word = _RAG_WORD.match(body)
            if word:
                rag = _rag_word(word.group(1), scale)
                rest = _SEPARATOR.sub("", body[word.end() :], count=1)
                continue
            if prefixed:
                shown = (body.split() or ["nothing"])[0]
                raise Invalid(f"“{shown}” is not a RAG rating. Use red, amber or green.")
        if status is None:
            explicit = _STATUS_PREFIX.match(rest)
            if explicit:
                status, rest = _explicit_status(rest[explicit.end() :])
                rest = _SEPARATOR.sub("", rest, count=1)
                continue
            word = _STATUS_WORD.match(rest)
            if word:
                after = rest[word.end() :]
                found = Status.canonical(word.group(1)) or Status.COMPLETE
                everyday = word.group(1).lower() in _FINISHED
                counts = (
                    # after the RAG a status counts; "done" and friends open prose too often
                    # ("completed the audit"), so they count only alone or before punctuation
                    (rag is not None and not everyday)
                    or not after.strip()
                    or _PUNCT_AFTER.match(after)
                    or _RAG_WORD.match(after.lstrip())
                    or _RAG_PREFIX.match(after.lstrip())
                )
                if counts:
                    status, rest = found, _SEPARATOR.sub("", after, count=1)
                    if not rest.strip() and everyday:
                        rest = word.group(1)
                    continue
                status_in_note = found
        break
    if rag is None and status is None and not rest:
        return ParsedUpdate(ref, None)
    if not rest.strip():
        said = " ".join(w for w in (rag, status) if w)
        raise Invalid(
            "Add a note saying what changed, so the board can see why: "
            f"`update {ref} {said}: Toolkit pilot live`."
        )
    return ParsedUpdate(ref, Change(rag=rag, status=status, note=rest), status_in_note)


@command(
    "update",
    [UPDATE_USAGE, "update REF (opens a form)"],
    "records a progress update (leads and admins); the reply offers Undo for 15 minutes",
    [
        "update 11F amber Toolkit pilot live",
        "update 11F Green: on track",
        "update 2a.3 in progress: JSNA draft shared",
    ],
)
def update(ctx: Ctx, args: str) -> Reply:
    parsed = parse_update(args, ctx.plan.rag_scale)
    if parsed.change is None:
        plan = ctx.plan
        action = action_service.find_action(ctx.session, plan.id, parsed.ref)
        action_service.require_can_update(ctx, action)
        form = update_form(action, admin=ctx.is_admin, scale=plan.rag_scale)
        return Reply(summary=f"Update {action.ref}", form=form).para(
            plain(f"Type the update after the ref: `{UPDATE_USAGE}`.")
        )
    recorded = action_service.record_update(ctx, parsed.ref, parsed.change)
    return update_reply(ctx, recorded, parsed.status_in_note)


def action_now(action: Action) -> str:
    """How an action stands, above a form about it: `Now: 🟠 amber · in progress`."""
    rag = f"{layout.rag_symbol(Rag(action.rag))} {action.rag}" if action.rag else "no RAG rating"
    return f"Now: {rag} · {action.status or 'no status'}"


def rating_fields(
    action: Action, *, admin: bool, scale: int, status_required: bool = True
) -> list[FormField]:
    """The RAG and status choices every form about an action's progress has. Signing off is
    for admins (`signoff`), so only they are offered it; a lead's form keeps it only when the
    action already is signed off (its status left as it was)."""
    statuses = [
        s
        for s in Status
        if s is not Status.SIGNED_OFF or admin or action.status == Status.SIGNED_OFF
    ]
    return [
        FormField(
            id="rag",
            label="RAG rating",
            kind="choice",
            options=[Choice(value=r.value, label=layout.rag_label(r)) for r in Rag.scale(scale)],
            placeholder="Choose a rating",
            initial=str(action.rag) if action.rag else None,
            hint="Based on the impact seen by children, young people and families.",
        ),
        FormField(
            id="status",
            label="Status",
            kind="choice",
            options=[Choice(value=s.value, label=s.value.capitalize()) for s in statuses],
            placeholder="Choose a status",
            initial=str(action.status) if action.status else None,
            required=status_required,
        ),
    ]


def update_form(action: Action, *, admin: bool = True, scale: int = 3) -> Form:
    return Form(
        purpose=UPDATE_FORM,
        key=action.ref,
        title=f"Update {action.ref}",
        about=[bold(f"{action.ref} "), plain(action.title)],
        context=action_now(action),
        fields=[
            *rating_fields(action, admin=admin, scale=scale),
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


def update_reply(ctx: Ctx, update: Update, status_in_note: Status | None = None) -> Reply:
    """Exactly what changed (RAG from → to, status from → to, the note), what was understood
    when a note begins with a status word, and Undo for the person who made it."""
    action = update.action
    reply = Reply(summary=f"Updated {action.ref}", changed_own_work=True)
    reply.para(bold(f"Updated {action.ref}"), plain(f" ({shorten(action.title, 80)})"))
    reply.para(bold("RAG: "), plain(_moved(update.rag_from, update.rag_to, "not rated")))
    reply.para(bold("Status: "), plain(_moved(update.status_from, update.status_to, "none")))
    reply.para(bold("Note: "), plain(shorten(update.note or "", 300)))
    if status_in_note is not None and update.status_to != status_in_note:
        reply.para(
            plain(
                f"Your note begins with “{status_in_note.value}”, read as part of the note: "
                f"the status was not changed. To set it, write "
            ),
            code(f"update {action.ref} {status_in_note.value}: NOTE"),
            plain("."),
        )
    reply.add(
        Buttons(buttons=[Button(label="Undo", action_id=ButtonId.UNDO, value=str(update.id))])
    )
    reply.para(plain("Undo within 15 minutes: the button, or "), code(f"undo {action.ref}"))
    return reply


def _moved(old: str | None, new: str | None, nothing: str) -> str:
    if old == new:
        return f"{new or nothing} (unchanged)"
    return f"{old or nothing} → {new or nothing}"


def undo_clicked(value: str) -> str:
    """The command an Undo button (ButtonId.UNDO, its value the update's id) runs on any
    platform: `undo #123`, the same rules and refusals as typing it."""
    return f"undo #{value.strip()}" if value.strip().isdigit() else "undo"


@command(
    "undo",
    "undo [REF]",
    "takes back your latest update (to REF) within 15 minutes",
    ["undo 11F"],
)
def undo(ctx: Ctx, args: str) -> Reply:
    word = args.split()[0] if args.split() else ""
    update_id = int(word[1:]) if re.fullmatch(r"#\d{1,18}", word) else None
    ref = word if word and update_id is None else None
    target = action_service.undoable_update(ctx, ref, update_id)
    row = action_service.undo(ctx, target)
    action = ctx.session.get_one(Action, row.action_id)
    restored = "; ".join(describe_change(row)) or "RAG and status as they were"
    return Reply(summary=f"Undid the update to {action.ref}", changed_own_work=True).para(
        bold(f"Undid your update to {action.ref}"),
        plain(f": {restored}. The update and its undoing both stay in "),
        code(f"history {action.ref}"),
        plain("."),
    )


@command(
    "signoff",
    "signoff REF NOTE",
    "objective met: signs the action off",
    ["signoff 1A Objective met – signed off by SEND Ops", "signoff 11F confirm Objective met"],
    admin=True,
)
def signoff(ctx: Ctx, args: str) -> Reply:
    # any whitespace separates the words: a note may start on the next line
    ref, rest = [*args.split(None, 1), "", ""][:2]
    first, after = [*rest.split(None, 1), "", ""][:2]
    # "confirm" is the confirmation only where one is asked for: "signoff 2A confirm the
    # pathway is in use" on an action nobody would question keeps its whole note.
    confirming = first.lower() == "confirm"
    note = rest.strip()
    needed = Invalid(
        "Sign off needs the ref and a note: `signoff 1A Objective met, evidence in board pack`."
    )
    if not ref or not note:
        raise needed
    try:
        update = action_service.sign_off(ctx, ref, note)
    except action_service.SignOffNeedsConfirming as doubt:
        if not confirming:
            return _confirm_signoff(doubt, f"{doubt.ref} confirm {note}")
        if not after.strip():
            raise needed from None
        update = action_service.sign_off(ctx, ref, after.strip(), confirmed=True)
    action = ctx.session.get_one(Action, update.action_id)
    reply = Reply(summary=f"Signed off {action.ref}").para(
        bold(f"Signed off {action.ref}"),
        plain(f" ({shorten(action.title, 80)}). "),
        plain("Undo within 15 minutes: the button, or "),
        code(f"{ctx.prefix}undo {action.ref}"),
        plain("."),
    )
    undo = Button(label="Undo", action_id=ButtonId.UNDO, value=str(update.id))
    return reply.add(Buttons(buttons=[undo]))


def _confirm_signoff(doubt: action_service.SignOffNeedsConfirming, args: str) -> Reply:
    """A sign-off a board would question: why, and a button that confirms it (a note too long
    for a button's value is confirmed by typing)."""
    reply = Reply(summary=f"Sign off {doubt.ref}?").para(str(doubt))
    if len(args) <= MAX_BUTTON_VALUE:
        confirm = Button(
            label=f"Sign off {doubt.ref}", action_id=ButtonId.CONFIRM_SIGNOFF, value=args
        )
        reply.add(Buttons(buttons=[confirm]))
    return reply


# A button's value travels with it (Slack takes 2,000 characters).
MAX_BUTTON_VALUE = 2000


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
