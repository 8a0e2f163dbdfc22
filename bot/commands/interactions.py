"""Every button and form a reply can carry, declared once, beside the command registry.

A button is a `ButtonId` (bot/replies.py) and a form a `FormPurpose`: a reply can name no
other. Each has one entry here: what it runs (a command line, as if typed, or a service call)
and who may use it. Slack, Teams and every other surface only translate a press or a submission
into `press`, `open_form` or `submit` and render what comes back; none keeps a list of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.commands.followups import answer_reply, open_answer_form
from bot.commands.kpi_form import save_figure
from bot.commands.registry import answered, execute
from bot.commands.reports import no_change, open_report_form, save_report
from bot.commands.updating import undo_clicked, update_reply
from bot.domain import UserError
from bot.replies import ButtonId, Form, FormPurpose, FormSubmission, Reply, say
from bot.runtime import Runtime
from bot.services import forms
from bot.services.context import Caller, Ctx

Run = Callable[[Runtime, Caller, str], Reply]

NO_LONGER_IN_USE = "That button is no longer in use: ask for the message again."


@dataclass(frozen=True)
class ButtonEntry:
    id: ButtonId
    does: str
    who: str
    # (runtime, caller, the button's value) → the answer, which may be a form to open
    run: Run


@dataclass(frozen=True)
class FormEntry:
    purpose: FormPurpose
    does: str
    who: str
    # the button that opens it: the form's key is that button's value
    opened_by: ButtonId
    # saves a submission in the unit of work given; a refusal is a UserError
    save: Callable[[Ctx, FormSubmission], Reply]
    # the field a refusal that names none is shown beside
    main_field: str


def _typed(verb: str) -> Run:
    """A button that is the command `VERB FIRST-WORD-OF-VALUE`: the same permission check and
    the same refusal as typing it (`update 11F` alone opens the form)."""

    def run(runtime: Runtime, caller: Caller, value: str) -> Reply:
        words = value.split()
        return execute(runtime, caller, f"{verb} {words[0] if words else ''}")

    return run


def _form_of(open_form: Callable[[Runtime, Caller, str], Form]) -> Run:
    def run(runtime: Runtime, caller: Caller, value: str) -> Reply:
        form = open_form(runtime, caller, value)
        return Reply(summary=form.title, form=form)

    return run


def _undo(runtime: Runtime, caller: Caller, value: str) -> Reply:
    return execute(runtime, caller, undo_clicked(value))


def _confirm_signoff(runtime: Runtime, caller: Caller, value: str) -> Reply:
    # the value is `REF confirm NOTE`, as typed
    return execute(runtime, caller, f"signoff {value}")


BUTTONS: dict[ButtonId, ButtonEntry] = {
    entry.id: entry
    for entry in (
        ButtonEntry(
            ButtonId.UPDATE,
            "opens the update form for the action (`update REF`)",
            "the action's leads, admins",
            _typed("update"),
        ),
        ButtonEntry(
            ButtonId.ANSWER,
            "opens the answer form for the follow-up",
            "the action's (or workstream's) leads, admins",
            _form_of(open_answer_form),
        ),
        ButtonEntry(
            ButtonId.UNDO,
            "takes the update back (`undo #ID`)",
            "whoever made the update, within 15 minutes",
            _undo,
        ),
        ButtonEntry(
            ButtonId.NO_CHANGE,
            "records a check-in's report as no change",
            "the action's leads, admins",
            no_change,
        ),
        ButtonEntry(
            ButtonId.REPORT,
            "opens the highlight report form for the action",
            "the action's leads, admins",
            _form_of(open_report_form),
        ),
        ButtonEntry(
            ButtonId.RECORD_FIGURE,
            "opens the form for a measure's figure (`kpi record KPI`)",
            "the measure's owner, admins",
            _typed("kpi record"),
        ),
        ButtonEntry(
            ButtonId.CONFIRM_SIGNOFF,
            "signs off an action that is red, not started or overdue (`signoff REF confirm NOTE`)",
            "admins",
            _confirm_signoff,
        ),
    )
}


def _save_update(ctx: Ctx, submission: FormSubmission) -> Reply:
    return update_reply(ctx, forms.save_update(ctx, submission))


def _save_answer(ctx: Ctx, submission: FormSubmission) -> Reply:
    return answer_reply(ctx, forms.save_answer(ctx, submission))


FORMS: dict[FormPurpose, FormEntry] = {
    entry.purpose: entry
    for entry in (
        FormEntry(
            FormPurpose.UPDATE,
            "an action's RAG, status and note",
            "the action's leads, admins",
            ButtonId.UPDATE,
            _save_update,
            "note",
        ),
        FormEntry(
            FormPurpose.ANSWER,
            "an answer to a follow-up",
            "the action's (or workstream's) leads, admins",
            ButtonId.ANSWER,
            _save_answer,
            "answer",
        ),
        FormEntry(
            FormPurpose.REPORT,
            "a highlight report: progress, plans, barriers",
            "the action's leads, admins",
            ButtonId.REPORT,
            save_report,
            "progress",
        ),
        FormEntry(
            FormPurpose.FIGURE,
            "a measure's figure for a period",
            "the measure's owner, admins",
            ButtonId.RECORD_FIGURE,
            save_figure,
            "figure",
        ),
    )
}


def button_id(platform_id: str) -> ButtonId | None:
    """The button a platform's action id names. Slack numbers repeated ids in one block
    (`wsoa_update_open:2`); a form's purpose (Teams asks for a dialog by it) names the button
    that opens it."""
    base = platform_id.split(":", 1)[0]
    if base in BUTTONS:
        return ButtonId(base)
    if base in FORMS:
        return FORMS[FormPurpose(base)].opened_by
    return None


def press(runtime: Runtime, caller: Caller, platform_id: str, value: str) -> Reply:
    """A button pressed (or a form asked for by its purpose) on any surface: its entry run, on
    the same error path as a typed command."""
    found = button_id(platform_id)
    if found is None:
        return say(NO_LONGER_IN_USE)
    entry = BUTTONS[found]
    done = runtime.metrics.command(caller.source.value, f"button:{found.value}")
    return answered(lambda: entry.run(runtime, caller, value), f"{found} {value!r}", done)


def open_form(runtime: Runtime, caller: Caller, purpose: str, key: str) -> Form | None:
    """The form `purpose` about `key`, opened again (to show a refusal beside its field), or
    None when the caller may no longer have it."""
    if purpose not in FORMS:
        return None
    return press(runtime, caller, FORMS[FormPurpose(purpose)].opened_by, key).form


def main_field(purpose: str) -> str:
    """The field a refusal that names none is shown beside."""
    return FORMS[FormPurpose(purpose)].main_field if purpose in FORMS else "note"


def submit(runtime: Runtime, caller: Caller, submission: FormSubmission) -> Reply:
    """Save a submitted form in one unit of work and say what was done. A refusal is raised as
    a UserError (a `FieldError` names the field) and changes nothing; a form whose purpose is
    unknown (an old one) is refused the same way."""
    if submission.purpose not in FORMS:
        raise UserError("That form has expired: ask for it again.")
    entry = FORMS[FormPurpose(submission.purpose)]
    done = runtime.metrics.command(caller.source.value, f"form:{entry.purpose.value}")
    outcome = "error"
    try:
        with runtime.work(caller) as ctx:
            saved = entry.save(ctx, submission)
        outcome = "ok"
        return saved
    except UserError:
        outcome = "refused"
        raise
    finally:
        done(outcome)
