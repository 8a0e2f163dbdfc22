"""`kpi list|show|record|chart|add|edit`: measures of impact in chat. `kpi record` with no
figure opens the form for one (bot/commands/kpi_form.py), which `kpi show` offers as a button;
`kpi add` and `kpi edit` are in bot/commands/kpi_add.py."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot import impact
from bot.commands.kpi_add import ADD_USAGE, EDIT_USAGE, kpi_add, kpi_edit
from bot.commands.kpi_form import figure_reply, open_figure_form
from bot.commands.registry import command
from bot.domain import Invalid, UserError, day_text
from bot.presenters import actor_label, person_span, when
from bot.replies import (
    Attachment,
    Button,
    ButtonId,
    Buttons,
    Reply,
    Table,
    bold,
    code,
    plain,
)
from bot.services import kpis
from bot.services.context import Ctx
from bot.services.kpi_define import evidence_text
from bot.services.measure_history import CREATED, change_text
from bot.services.people import people_by_id
from bot.store.models import MeasureActual, MeasureEdit

USAGE = [
    "kpi list",
    "kpi show KPI",
    "kpi record KPI VALUE [PERIOD] [NOTE]",
    "kpi chart KPI",
    ADD_USAGE,
    EDIT_USAGE,
]
HISTORY_LIMIT = 12
_NUMBER = re.compile(r"^-?[\d.,]+%?$")
_PERIOD_WORD = re.compile(r"^(\d{4}-\d{1,2}(-\d{1,2})?|\d{1,2}/\d{1,2}/\d{2,4})$")
_MONTH_WORD = re.compile(
    r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*$", re.IGNORECASE
)


@command(
    "kpi",
    USAGE,
    "measures of impact: baselines, targets, figures, trajectory (record: owner or admin; "
    "add and edit: admin)",
    [
        "kpi list",
        "kpi show K1",
        "kpi record K1 55 2026-10 Two new EP posts filled",
        "kpi record K1 (opens a form)",
        "kpi chart K1",
        "kpi add Tribunal appeals; %; lower is better; baseline 2.1% at 2026-03-31; "
        "target 1.5% by 2027-03-31; evidences 2A.3; quarterly",
        "kpi edit K1 target 80% by 2027-06-30",
    ],
    slow=lambda args: args.lower().split()[:1] == ["chart"],
)
def kpi(ctx: Ctx, args: str) -> Reply:
    verb, _, rest = args.partition(" ")
    verb = verb.lower()
    rest = rest.strip()
    if verb in ("", "list"):
        return kpi_list(ctx)
    if verb == "show":
        return kpi_show(ctx, rest)
    if verb == "record":
        return kpi_record(ctx, rest)
    if verb == "chart":
        return kpi_chart(ctx, rest)
    if verb == "add":
        return kpi_add(ctx, rest)
    if verb == "edit":
        return kpi_edit(ctx, rest)
    raise Invalid(f"“kpi {verb[:30]}” is not a kpi command. Use: {'; '.join(USAGE)}.")


def kpi_list(ctx: Ctx) -> Reply:
    found = kpis.standings(ctx.session, ctx.plan.id)
    reply = Reply(summary=f"Measures of impact: {len(found)}")
    if not found:
        return reply.para(
            plain("No measures yet. A programme manager defines one with "),
            code("kpi add NAME; UNIT; higher is better; baseline …; target …"),
            plain(" or loads them with "),
            code("wsoa import measures.xlsx"),
            plain(" (a KPIs sheet: kpi, unit, better, baseline, target…)."),
        )
    reply.heading(f"Measures of impact ({len(found)})")
    reply.add(
        Table(
            columns=["Id", "Measure", "Latest", "Trajectory", "Change", "Target"],
            rows=[
                [
                    s.measure.short_id,
                    s.measure.name,
                    impact.latest_text(s),
                    _on_off(s),
                    impact.change_text(s),
                    impact.target_text(s.measure),
                ]
                for s in found
            ],
        )
    )
    on = sum(1 for s in found if s.on_track)
    judged = sum(1 for s in found if s.latest)
    reply.para(
        plain(f"{on} of {judged} measures with figures on trajectory. One in full: "),
        code(f"kpi show {found[0].measure.short_id}"),
    )
    return reply


def _on_off(standing: impact.Standing) -> str:
    if standing.latest is None:
        return "no figures"
    expected = impact.value_text(standing.latest.expected, standing.measure.unit)
    return f"{'on' if standing.on_track else 'OFF'} ({expected})"


def kpi_show(ctx: Ctx, args: str) -> Reply:
    measure = kpis.find_measure(ctx.session, ctx.plan.id, args)
    standing = kpis.standing_of(ctx.session, measure)
    unit = measure.unit
    reply = Reply(summary=f"{measure.short_id}: {measure.name}")
    reply.heading(f"{measure.short_id} {measure.name}")
    if measure.definition:
        reply.para(plain(measure.definition))
    reply.para(
        bold("Now: "),
        plain(f"{impact.latest_text(standing)}, {impact.judgement_text(standing)}; "),
        plain(impact.change_text(standing) + "."),
    )
    reply.para(
        bold("Baseline: "),
        plain(
            f"{impact.value_text(measure.baseline_value, unit)} "
            f"at {day_text(measure.baseline_date)}"
        ),
        bold("   Target: "),
        plain(
            f"{impact.value_text(measure.target_value, unit)} by {day_text(measure.target_date)}"
        ),
        bold("   Better: "),
        plain(measure.better),
    )
    if measure.trajectory:
        points = impact.trajectory_points(measure)[1:-1]
        reply.para(
            bold("Trajectory: "),
            plain(
                "; ".join(f"{impact.value_text(p.value, unit)} by {day_text(p.on)}" for p in points)
            ),
        )
    reply.para(
        bold("Owner: "),
        person_span(measure.owner) if measure.owner else plain("none yet"),
        bold("   Source: "),
        plain(measure.source or "not given"),
        bold("   Reported: "),
        plain(measure.frequency or "not given"),
    )
    evidence = evidence_text(measure.workstreams, measure.actions)
    if evidence:
        reply.para(bold("Evidences: "), plain(evidence))
    changes = kpis.edits(ctx.session, measure)
    people = people_by_id(ctx.session, {e.person_id for e in changes if e.person_id})
    created = next((e for e in changes if e.field == CREATED), None)
    changes = [e for e in changes if e.field != CREATED]

    def who(edit: MeasureEdit) -> str:
        return actor_label(people.get(edit.person_id or 0), edit.source)

    if created is not None:
        reply.para(
            bold("Defined: "), plain(f"{when(created.at, ctx.settings.tz)} by {who(created)}")
        )
    if changes:
        reply.para(
            bold("Definition changed: "),
            plain(
                "; ".join(
                    f"{day_text(e.at.astimezone(ctx.settings.tz).date())} {change_text(e)} "
                    f"({who(e)})"
                    for e in changes
                )
            ),
        )
    rows = kpis.history(ctx.session, measure)[:HISTORY_LIMIT]
    if not rows:
        reply.para(plain("No figures yet: "), code(f"kpi record {measure.short_id} VALUE PERIOD"))
    else:
        _figures_table(ctx, reply, rows, standing)
    if kpis.can_record(ctx, measure):
        reply.add(
            Buttons(
                buttons=[
                    Button(
                        label="Record a figure",
                        action_id=ButtonId.RECORD_FIGURE,
                        value=measure.short_id,
                        style="primary",
                    )
                ]
            )
        )
    return reply


def _figures_table(
    ctx: Ctx, reply: Reply, rows: list[MeasureActual], standing: impact.Standing
) -> None:
    unit = standing.measure.unit
    people = people_by_id(ctx.session, {r.person_id for r in rows if r.person_id})
    current = {f.row.id for f in standing.figures}
    reply.add(
        Table(
            columns=["Period", "Value", "Recorded", "By", "Note"],
            rows=[
                [
                    impact.period_text(r.period) + ("" if r.id in current else " (replaced)"),
                    impact.value_text(r.value, unit),
                    when(r.recorded_at, ctx.settings.tz),
                    actor_label(people.get(r.person_id or 0), r.source),
                    r.note or "",
                ]
                for r in rows
            ],
        )
    )


def split_record(
    args: str, is_measure: Callable[[str], bool] = lambda _: True
) -> tuple[str, str, str | None, str | None]:
    """`K1 55 2026-10 note…` or `EHCPs within 20 weeks 55 Oct 2026 note…` → (kpi, value,
    period, note). The measure is the words before the first number that leave a measure's
    id or whole name before them (so a name may hold a number); the period, when there is one,
    is the word after the value (two words for `Oct 2026`)."""
    words = args.split()
    numbers = [i for i, w in enumerate(words) if i > 0 and _NUMBER.match(w)]
    position = next((i for i in numbers if is_measure(" ".join(words[:i]))), None)
    if position is None and numbers:
        position = numbers[0]
    if position is None and len(words) > 1:
        raise Invalid(
            f"“{words[1][:40]}” is not a number. Record a figure as "
            "`kpi record K1 55 2026-10 note`."
        )
    if position is None:
        raise Invalid("Record needs the measure and a number: `kpi record K1 55 2026-10 note`.")
    name, value, rest = " ".join(words[:position]), words[position], words[position + 1 :]
    period: str | None = None
    if rest and _MONTH_WORD.match(rest[0]) and len(rest) > 1 and re.match(r"^\d{4}$", rest[1]):
        period, rest = f"{rest[0]} {rest[1]}", rest[2:]
    elif rest and _PERIOD_WORD.match(rest[0]):
        period, rest = rest[0], rest[1:]
    return name, value, period, " ".join(rest) or None


def kpi_record(ctx: Ctx, args: str) -> Reply:
    """`kpi record K1 55 2026-10 note` records a figure; `kpi record K1` (or `kpi record`
    alone) opens the form for one."""
    all_measures = kpis.measures(ctx.session, ctx.plan.id)
    names = {m.short_id.lower() for m in all_measures} | {m.key for m in all_measures}

    def is_measure(text: str) -> bool:
        return impact.measure_key(text) in names

    if not args or is_measure(args):
        return open_figure_form(ctx, args)
    if not any(_NUMBER.match(w) for w in args.split()[1:]):
        # no figure: the form, when the words name a measure (one word that names none says
        # so; several are read as a figure that is not a number)
        try:
            kpis.find_measure(ctx.session, ctx.plan.id, args)
        except UserError:
            if len(args.split()) == 1:
                raise
        else:
            return open_figure_form(ctx, args)
    name, value_word, period_word, note = split_record(args, is_measure)
    measure = kpis.find_measure(ctx.session, ctx.plan.id, name)
    return figure_reply(ctx, kpis.record_figure(ctx, measure, value_word, period_word, note))


def kpi_chart(ctx: Ctx, args: str) -> Reply:
    measure = kpis.find_measure(ctx.session, ctx.plan.id, args)
    standing = kpis.standing_of(ctx.session, measure)
    chart, alt = kpis.chart_of(standing)
    # The chart is for the conversation to look at together, like a summary.
    reply = Reply(visibility="channel", summary=f"{measure.short_id} trend chart")
    reply.para(bold(f"{measure.short_id} {measure.name}: "), plain(alt))
    reply.files.append(
        Attachment(
            filename=f"{measure.short_id}-trend.png",
            media_type="image/png",
            data=chart.png,
            title=f"{measure.short_id} {measure.name}: trend",
            alt_text=alt,
        )
    )
    return reply
