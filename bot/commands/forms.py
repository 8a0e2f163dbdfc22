"""Forms: opening the answer form, and submitted forms turned into replies. The update and
answer forms are built beside their commands, as the platform-neutral `Form` that every
platform renders (a Slack modal, a Teams dialog)."""

from __future__ import annotations

from bot.commands.followups import answer_form, answer_reply
from bot.commands.kpi_form import save_figure
from bot.commands.reports import save_report
from bot.commands.updating import update_form, update_reply
from bot.replies import Form, FormSubmission, Reply
from bot.runtime import Runtime
from bot.services import followups as followup_service
from bot.services import forms
from bot.services.checkins import REPORT
from bot.services.context import Caller

__all__ = ["answer_form", "open_answer_form", "submit_form", "update_form"]


def open_answer_form(runtime: Runtime, caller: Caller, followup_id: str) -> Form:
    """The answer form for a follow-up, if the caller may still answer it (else a UserError)."""
    with runtime.work(caller) as ctx:
        followup = followup_service.get(ctx, followup_id)
        followup_service.require_answerable(ctx, followup)
        return answer_form(followup)


def submit_form(runtime: Runtime, caller: Caller, submission: FormSubmission) -> Reply:
    """Save a submitted form in one unit of work and say what was done. A refusal is raised as
    a UserError (a `forms.FieldError` names the field), and nothing is changed."""
    with runtime.work(caller) as ctx:
        if submission.purpose == forms.UPDATE:
            return update_reply(ctx, forms.save_update(ctx, submission))
        if submission.purpose == forms.ANSWER:
            return answer_reply(ctx, forms.save_answer(ctx, submission))
        if submission.purpose == REPORT:
            return save_report(ctx, submission)
        if submission.purpose == forms.FIGURE:
            return save_figure(ctx, submission)
    raise ValueError(f"no form for the purpose {submission.purpose!r}")
