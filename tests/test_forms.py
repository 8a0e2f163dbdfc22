"""The generic form model: which fields of a submission changed (a service rule), and the
update form as the model every platform renders."""

from __future__ import annotations

from bot.commands.updating import update_form
from bot.domain import Rag
from bot.replies import FormSubmission
from bot.services.forms import changed
from bot.store.models import Action


def test_only_fields_the_person_changed_count() -> None:
    submission = FormSubmission(
        purpose="update",
        key="11F",
        values={"rag": "amber", "status": "signed off", "note": " Toolkit live "},
        initial={"rag": "red", "status": "signed off"},
    )
    assert changed(submission) == {"rag": "amber", "note": "Toolkit live"}
    empty = submission.model_copy(update={"values": {"rag": None, "status": "", "note": None}})
    assert changed(empty) == {}


def test_the_update_form_carries_the_current_values() -> None:
    form = update_form(Action(ref="11F", title="Reduce exclusions", rag=Rag.RED, status="complete"))
    assert (form.purpose, form.key, form.title) == ("update", "11F", "Update 11F")
    assert form.initial_values() == {"rag": "red", "status": "complete", "note": None}
    assert [c.value for c in form.field("rag").options] == ["red", "amber", "green"]
    assert form.field("note").required and form.field("note").kind == "multiline"


def test_admins_may_be_named_by_email_in_any_case(demo, console) -> None:  # type: ignore[no-untyped-def]
    demo.settings = demo.settings.model_copy(
        update={"admins": frozenset({"Sophie.Carrington@DEMO.example"})}
    )
    # Her Slack id is no longer listed: her e-mail makes her an admin, at the console by either.
    assert "Signed off 11F" in console("signoff 11F confirm Objective met", user="U0DEMOPM")
    assert "Only programme managers" in console("signoff 12B Objective met", user="U0DEMO05")
    assert "Closed FU" in console("followup close FU-1", user="sophie.carrington@demo.example")
