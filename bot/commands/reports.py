"""The reporting cycle in words: `reports` (who has reported, by organisation), the check-in a
lead is sent with its No change and Update buttons, the highlight report form, the nudge and the
programme manager's list. The rules are in bot/services/checkins.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.commands.registry import COMMANDS, answered, command, execute
from bot.commands.updating import action_now, rating_fields, update_reply
from bot.config import Settings
from bot.domain import MAX_NOTE_CHARS, Invalid, NotFound, Rag, Status
from bot.presenters import shorten, when
from bot.render import layout
from bot.replies import (
    Button,
    ButtonId,
    Buttons,
    Choice,
    Form,
    FormField,
    FormSubmission,
    Reply,
    Span,
    Table,
    bold,
    code,
    plain,
    plural,
)
from bot.runtime import Runtime
from bot.services import checkins
from bot.services.checkins import REPORT, HighlightFields, LeadStanding
from bot.services.context import Caller, Ctx
from bot.services.people import organisation_of
from bot.store.models import Action, BoardMeeting, Person

# Two blocks an action in Slack: 20 keep a check-in well within a message's 50.
CHECKIN_ACTIONS = 20
YES_NO = [Choice(value="no", label="No"), Choice(value="yes", label="Yes")]


@command(
    "reports",
    "reports [BOARD]",
    "the reporting cycle: who has reported for the next reporting board, by organisation",
    ["reports", "reports B-3"],
    admin=True,
)
def reports(ctx: Ctx, args: str) -> Reply:
    ctx.require_admin("see who has reported")
    board = _board(ctx, args.strip())
    reply = participation_reply(
        ctx.settings, board, checkins.participation(ctx.session, board), ctx.prefix
    )
    return reply


def _board(ctx: Ctx, text: str) -> BoardMeeting:
    if text:
        digits = text.upper().removeprefix("B-")
        board = ctx.session.get(BoardMeeting, int(digits)) if digits.isdigit() else None
        if board is None or board.plan_id != ctx.plan.id or board.removed_at is not None:
            raise NotFound(f"No board meeting {text}. `board list` shows them with their ids.")
        if not board.reporting:
            raise Invalid(
                f"B-{board.id} is not a reporting deadline: `board reporting B-{board.id} on`."
            )
        return board
    found = checkins.current_board(ctx.session, ctx.plan.id, ctx.now)
    if found is None:
        raise NotFound(
            "No reporting cycle is running: mark a board meeting as the reporting deadline "
            "with `board add YYYY-MM-DD HH:MM NAME --reporting` or `board reporting ID on`."
        )
    return found


def participation_reply(
    settings: Settings, board: BoardMeeting, standings: Sequence[LeadStanding], prefix: str = ""
) -> Reply:
    """Who has reported and who has not, by organisation."""
    done = [s for s in standings if s.reported]
    tz = settings.tz
    reply = Reply(
        summary=f"Reports for {board.name}: {len(done)} of {len(standings)} leads",
    ).heading(f"Highlight reports for {board.name}")
    reply.para(
        plain(f"Deadline {when(board.starts_at, tz)}; leads asked "),
        plain(f"{when(checkins.checkin_due_at(board), tz)}. "),
        bold(f"{len(done)} of {plural(len(standings), 'lead')} "),
        plain("have reported on every open action."),
    )
    by_org: dict[str, list[LeadStanding]] = defaultdict(list)
    for standing in standings:
        by_org[
            organisation_of(standing.person.organisation, standing.person.email)
            or "No organisation given"
        ].append(standing)
    rows = []
    for organisation in sorted(by_org):
        for standing in by_org[organisation]:
            missing = ", ".join(a.ref for a in standing.missing)
            rows.append(
                [
                    organisation,
                    standing.person.label,
                    "reported" if standing.reported else "not yet",
                    missing or "–",
                ]
            )
    if rows:
        reply.add(Table(columns=["Organisation", "Lead", "Reported", "Still to report"], rows=rows))
    else:
        reply.para(plain("No lead has an open action."))
    return reply


def _action_lines(action: Action) -> list[Span]:
    rag = f"{layout.rag_symbol(Rag(action.rag))} {action.rag}" if action.rag else "not rated"
    note = shorten(action.last_note, 200) if action.last_note else "no note yet"
    return [
        bold(f"{action.ref} "),
        plain(f"{shorten(action.title, 120)} — last: {rag}, {action.status}. {note}"),
    ]


def action_buttons(action: Action, board: BoardMeeting) -> Buttons:
    value = f"{action.ref} B-{board.id}"
    return Buttons(
        buttons=[
            Button(label="No change", action_id=ButtonId.NO_CHANGE, value=value),
            Button(label="Update", action_id=ButtonId.REPORT, value=value, style="primary"),
        ]
    )


def checkin_reply(
    settings: Settings,
    board: BoardMeeting,
    person: Person,
    mine: Sequence[Action],
    prefix: str = "",
    *,
    nudge: bool = False,
) -> Reply:
    """A lead's check-in (or nudge): each open action with its last RAG, status and note, and
    No change / Update beside it."""
    tz = settings.tz
    what = "still to report" if nudge else "to report on"
    reply = Reply(
        summary=f"Highlight reports for {board.name}: {plural(len(mine), 'action')} {what}"
    ).heading(
        f"Reminder: highlight reports due for {board.name}"
        if nudge
        else f"Highlight reports for {board.name}"
    )
    reply.para(
        plain(f"Hello {person.label}. {board.name} meets {when(board.starts_at, tz)}. "),
        plain(
            "For each action you lead, say whether anything changed since the last report: "
            "No change, or Update for a short highlight report. You can also reply here in "
            "plain words, like "
        ),
        bold(f"{mine[0].ref} amber pilot live in 12 schools" if mine else "11F amber …"),
        plain("."),
    )
    for action in mine[:CHECKIN_ACTIONS]:
        reply.para(*_action_lines(action))
        reply.add(action_buttons(action, board))
    if len(mine) > CHECKIN_ACTIONS:
        reply.para(
            plain(f"…and {len(mine) - CHECKIN_ACTIONS} more: "),
            code(f"{prefix}mine"),
            plain(" lists them; report on them here in plain words or with "),
            code(f"{prefix}update REF"),
            plain("."),
        )
    return reply


def report_form(action: Action, board_id: int | None, scale: int = 3) -> Form:
    """A highlight report: the update form's rating choices (a lead's: no sign-off), then
    what the board's paper asks for."""
    return Form(
        purpose=REPORT,
        key=f"{action.ref} B-{board_id}" if board_id else action.ref,
        title=f"Report on {action.ref}",
        submit_label="Send report",
        about=[bold(f"{action.ref} "), plain(action.title)],
        context=action_now(action),
        fields=[
            *rating_fields(action, admin=False, scale=scale, status_required=False),
            FormField(
                id="progress",
                label="Progress since the last report",
                kind="multiline",
                required=True,
                max_length=MAX_NOTE_CHARS,
            ),
            FormField(
                id="planned",
                label="Planned for the next period",
                kind="multiline",
                max_length=MAX_NOTE_CHARS,
            ),
            FormField(
                id="barriers",
                label="Barriers and risks",
                kind="multiline",
                hint="Required when the action is red: the barrier, and how it will recover.",
                max_length=MAX_NOTE_CHARS,
            ),
            FormField(
                id="escalate",
                label="Escalate to the board?",
                kind="choice",
                options=YES_NO,
                initial="no",
            ),
        ],
    )


def split_key(value: str) -> tuple[str, str | None]:
    """`11F B-3` → ("11F", "B-3"): a button's or form's action and board."""
    words = value.split()
    if not words:
        raise Invalid("Which action? Give its ref.")
    return words[0], words[1] if len(words) > 1 else None


# --- entry points for the platforms ------------------------------------------------------------


def open_report_form(runtime: Runtime, caller: Caller, value: str) -> Form:
    """The report form for the action a check-in's Update button names (refused, as a
    UserError, to someone who may not update it)."""
    from bot.services import actions as action_service

    ref, board_text = split_key(value)
    with runtime.work(caller) as ctx:
        action = action_service.find_action(ctx.session, ctx.plan.id, ref)
        action_service.require_can_update(ctx, action)
        board = checkins._board_for(ctx, board_text)
        return report_form(action, board.id if board else None, ctx.plan.rag_scale)


def no_change(runtime: Runtime, caller: Caller, value: str) -> Reply:
    """A check-in's No change button."""
    ref, board_text = split_key(value)
    with runtime.work(caller) as ctx:
        update = checkins.no_change(ctx, ref, board_text)
        action = ctx.session.get_one(Action, update.action_id)
        return Reply(summary=f"Reported {action.ref}: no change", changed_own_work=True).para(
            bold(f"Reported {action.ref}: no change. "),
            plain("Thank you: it counts as your report for this cycle."),
        )


def save_report(ctx: Ctx, submission: FormSubmission) -> Reply:
    """A submitted report form (called by bot/commands/interactions.py in its unit of work)."""
    ref, board_text = split_key(submission.key)
    values = submission.values
    try:
        rag_word, status_word = values.get("rag"), values.get("status")
        rag = Rag.parse(rag_word) if rag_word else None
        status = Status.parse(status_word) if status_word else None
    except Invalid as refusal:
        raise checkins.ReportFieldError("rag", str(refusal)) from refusal
    fields = HighlightFields(
        rag=rag,
        status=status,
        progress=values.get("progress") or "",
        planned=values.get("planned"),
        barriers=values.get("barriers"),
        escalate=(values.get("escalate") or "no") == "yes",
    )
    update = checkins.record_report(ctx, ref, fields, board_text)
    return update_reply(ctx, update)


def answer_plain(runtime: Runtime, caller: Caller, text: str) -> Reply:
    """A lead's plain-words reply in their personal chat with the bot (Slack's `message.im`,
    Teams' personal chat): an update of the action it names, or of the one they lead. A line
    that starts with a command's word (`summary`, `update 11F …`) is that command."""
    words = text.split(None, 1)
    if words and words[0].lower().lstrip("/") in COMMANDS:
        return execute(runtime, caller, text)

    def run() -> Reply:
        with runtime.work(caller) as ctx:
            return update_reply(ctx, checkins.plain_reply(ctx, text))

    return answered(run, f"{text!r} from {caller.user_id}")
