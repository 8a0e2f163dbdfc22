"""The form for recording a measure's figure (a Slack modal, a Teams dialog or card): opened
by `kpi record KPI` with no figure, or `kpi record` alone (a choice of the measures the caller
may record), and by `kpi show`'s Record a figure button; saved through the same
`kpis.record_figure` as the typed command, each refusal named by its field."""

from __future__ import annotations

from bot import impact
from bot.domain import MAX_NOTE_CHARS, FieldError, Invalid, NotFound, UserError
from bot.presenters import shorten, when
from bot.replies import Choice, Form, FormField, FormSubmission, Reply, bold, code, plain
from bot.services import kpis
from bot.services.context import Ctx
from bot.services.forms import FIGURE
from bot.store.models import Measure

RECORD_USAGE = "kpi record KPI VALUE [PERIOD] [NOTE]"
# Slack shows at most 100 options in a choice; past that, the form asks for the short id.
CHOICE_LIMIT = 100


def figure_reply(ctx: Ctx, recorded: kpis.Recorded) -> Reply:
    """What a recorded figure says, typed or from the form."""
    actual = recorded.actual
    measure = ctx.session.get_one(Measure, actual.measure_id)
    value, period = actual.value, actual.period
    standing = kpis.standing_of(ctx.session, measure)
    figure = impact.value_text(value, measure.unit)
    reply = Reply(summary=f"Recorded {measure.short_id} {figure} for {impact.period_text(period)}")
    reply.para(
        bold(f"Recorded {measure.short_id} {figure} for {impact.period_text(period)}"),
        plain(f" ({measure.name})."),
    )
    if recorded.replaced is not None:
        old = impact.value_text(recorded.replaced.value, measure.unit)
        at = when(recorded.replaced.recorded_at, ctx.settings.tz)
        reply.para(
            plain(f"This corrects {old}, recorded {at}; the earlier figure stays in the history.")
        )
    reply.para(
        bold("Now: "),
        plain(f"{impact.latest_text(standing)}, {impact.judgement_text(standing)}; "),
        plain(impact.change_text(standing) + "."),
    )
    return reply


# --- the form --------------------------------------------------------------------------------


def open_figure_form(ctx: Ctx, args: str) -> Reply:
    if args:
        measure = kpis.find_measure(ctx.session, ctx.plan.id, args)
        kpis.require_can_record(ctx, measure)
        form = figure_form(ctx, measure)
    else:
        mine = kpis.recordable(ctx)
        if not mine and not kpis.measures(ctx.session, ctx.plan.id):
            raise NotFound(
                "There are no measures yet: a programme manager defines one with `kpi add` or "
                "loads them with `wsoa import` from a KPIs sheet."
            )
        if not mine:
            raise Invalid(
                "You own no measure, so there is nothing for you to record: a measure's owner "
                "or a programme manager (admin) records its figures. `kpi list` shows them."
            )
        form = figure_form(ctx, mine[0] if len(mine) == 1 else None, mine)
    return Reply(summary=form.title, form=form).para(
        plain("Type the figure after the measure: "),
        code(RECORD_USAGE),
        plain(", e.g. "),
        code("kpi record K1 55 2026-10 Two agency EPs started"),
        plain("."),
    )


def figure_form(ctx: Ctx, measure: Measure | None, choices: list[Measure] | None = None) -> Form:
    """Record a figure: for `measure`, or for one chosen from `choices` (key "" then). The
    month starts as the month just ended, as when it is left out of `kpi record`."""
    fields: list[FormField] = []
    if measure is None:
        listed = (choices or [])[:CHOICE_LIMIT]
        fields.append(
            FormField(
                id="measure",
                label="Measure",
                kind="choice" if len(listed) == len(choices or []) else "text",
                options=[
                    Choice(value=m.short_id, label=shorten(f"{m.short_id} {m.name}", 75))
                    for m in listed
                ],
                required=True,
                placeholder="Choose the measure" if listed else "K1",
            )
        )
    unit = measure.unit if measure else None
    fields += [
        FormField(
            id="figure",
            label=f"Figure ({unit})" if unit else "Figure",
            kind="text",
            required=True,
            placeholder="55" if unit != "%" else "55%",
            hint="A number, e.g. 55, 55.5 or 1,234; a percentage is between 0 and 100.",
            max_length=40,
        ),
        FormField(
            id="period",
            label="Month it is for",
            kind="text",
            required=True,
            initial=impact.period_text(impact.default_period(ctx.today)),
            hint="Oct 2026, 2026-10 or a date in the month. A month with a figure is corrected.",
            max_length=40,
        ),
        FormField(
            id="note",
            label="Note",
            kind="multiline",
            hint="What lies behind the figure. Aggregates only: nothing about a child.",
            max_length=MAX_NOTE_CHARS,
        ),
    ]
    if measure is None:
        return Form(
            purpose=FIGURE,
            key="",
            title="Record a figure",
            submit_label="Record",
            about=[bold("Record a figure for a measure of impact")],
            fields=fields,
        )
    standing = kpis.standing_of(ctx.session, measure)
    return Form(
        purpose=FIGURE,
        key=measure.short_id,
        title=f"Record {measure.short_id}",
        submit_label="Record",
        about=[bold(f"{measure.short_id} "), plain(measure.name)],
        context=(
            f"Latest: {impact.latest_text(standing)}, {impact.judgement_text(standing)}. "
            f"Target {impact.target_text(measure)}."
        ),
        fields=fields,
    )


def save_figure(ctx: Ctx, submission: FormSubmission) -> Reply:
    """A submitted figure form (called by bot/commands/interactions.py in its unit of work):
    the same checks as `kpi record`, each refusal beside its field."""
    values = submission.values
    which = (values.get("measure") or submission.key or "").strip()
    if not which:
        raise FieldError("measure", "Choose the measure the figure is for.")
    try:
        measure = kpis.find_measure(ctx.session, ctx.plan.id, which)
    except UserError as refusal:
        # a form about one measure has no measure field: say it beside the figure
        raise FieldError("figure" if submission.key else "measure", str(refusal)) from refusal
    value = (values.get("figure") or "").strip()
    if not value:
        raise FieldError("figure", "Give the figure, a number such as 55.")
    recorded = kpis.record_figure(ctx, measure, value, values.get("period"), values.get("note"))
    return figure_reply(ctx, recorded)
