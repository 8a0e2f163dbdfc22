"""`kpi add`: a programme manager defines a measure in one line. The name comes first, then
clauses in any order, separated by `;` (or `|`), each led by what it gives:

    kpi add EHCPs issued within 20 weeks; %; higher is better; baseline 42% at 2026-03-31;
        target 75% by 2027-03-31; owner alison.whitfield@demo.example;
        evidences 2A.1, 2A.3, EHCP timeliness; monthly

`kpi edit K1 target 80% by 2027-06-30; owner …` changes a measure with the same clauses.

The service (bot/services/kpi_define.py) holds the rules; this module only reads the line."""

from __future__ import annotations

import re
from datetime import date

from bot import impact
from bot.domain import Invalid, UserError, day_text
from bot.plans.kpi_read import parse_day
from bot.presenters import person_span
from bot.replies import Reply, bold, code, plain
from bot.services.context import Ctx
from bot.services.kpi_define import (
    MeasureChange,
    MeasureSpec,
    add_measure,
    edit_measure,
    evidence_text,
)
from bot.services.measure_history import change_text

ADD_USAGE = (
    "kpi add NAME; UNIT; higher|lower is better; baseline VALUE at DATE; target VALUE by DATE"
    " [; owner PERSON] [; evidences REF, WORKSTREAM…] [; monthly]"
)
EXAMPLE = (
    "kpi add EHCPs issued within 20 weeks; %; higher is better; baseline 42% at 2026-03-31; "
    "target 75% by 2027-03-31; owner jo@council.gov.uk; evidences 2A.1, 2A.3; monthly"
)
EDIT_USAGE = "kpi edit KPI CLAUSE[; CLAUSE…] (the clauses of kpi add: target VALUE by DATE…)"
EDIT_EXAMPLE = "kpi edit K1 target 80% by 2027-06-30; owner jo@council.gov.uk"
# `;`, or `|` outside a Slack mention (`<@U012AB|sam>` holds one)
_CLAUSES = re.compile(r"\s*(?:;|\|(?![^<]*>))\s*")
_UNITS = {"%", "percent", "percentage", "number", "count", "days", "weeks"}
_BETTER = re.compile(
    r"^(?:(higher|lower)(?:\s+is)?(?:\s+better)?|better(?:\s+is)?\s*:?\s*(higher|lower))$",
    re.IGNORECASE,
)
_FREQUENCIES = {
    "weekly",
    "monthly",
    "quarterly",
    "termly",
    "half-termly",
    "annually",
    "annual",
    "yearly",
}
_VALUE_AND_DATE = re.compile(
    r"^(?P<value>\S+)\s+(?:(?:as\s+at|at|on|in|by|for|of)\s+)?(?P<date>.+)$", re.IGNORECASE
)
_SHORT_ID = re.compile(r"^K(\d{1,5})$", re.IGNORECASE)
_KEYWORDS = (
    "unit, higher/lower is better, baseline, target, owner, evidences (or workstreams, "
    "actions), monthly/quarterly/termly (or reported …), id, definition, source"
)


def kpi_add(ctx: Ctx, args: str) -> Reply:
    ctx.require_admin("define a measure")
    measure = add_measure(ctx, parse_add(args))
    unit = measure.unit
    reply = Reply(summary=f"Added {measure.short_id} {measure.name}")
    reply.para(bold(f"Added {measure.short_id} "), plain(f"{measure.name}."))
    reply.para(
        bold("Baseline: "),
        plain(
            f"{impact.value_text(measure.baseline_value, unit)} at "
            f"{day_text(measure.baseline_date)}"
        ),
        bold("   Target: "),
        plain(
            f"{impact.value_text(measure.target_value, unit)} by {day_text(measure.target_date)}"
        ),
        bold("   Better: "),
        plain(measure.better),
    )
    reply.para(
        bold("Owner: "),
        person_span(measure.owner) if measure.owner else plain("none yet (admins record)"),
        bold("   Evidences: "),
        plain(evidence_text(measure.workstreams, measure.actions) or "nothing named"),
        bold("   Reported: "),
        plain(measure.frequency or "not given"),
    )
    reply.para(
        plain("Next: "),
        code(f"kpi record {measure.short_id} VALUE PERIOD"),
        plain(" for its figures; "),
        code(f"kpi show {measure.short_id}"),
        plain(" shows it."),
    )
    return reply


def parse_add(args: str) -> MeasureSpec:
    clauses = [c for c in _CLAUSES.split(args.strip()) if c]
    if len(clauses) < 2:
        raise Invalid(
            f"Give the measure's name, then its unit, which way is better, baseline and target, "
            f"separated by `;`: `{EXAMPLE}`."
        )
    name, found = clauses[0], _Found()
    for clause in clauses[1:]:
        _read_clause(clause, found)
    missing = [
        what
        for what, value in (
            ("the unit (%, number, days or weeks)", found.unit),
            ("which way is better (higher is better, lower is better)", found.better),
            ("the baseline (baseline 42% at 2026-03-31)", found.baseline),
            ("the target (target 75% by 2027-03-31)", found.target),
        )
        if value is None
    ]
    if missing:
        raise Invalid(f"The measure needs {'; '.join(missing)}. Nothing was added: `{EXAMPLE}`.")
    assert found.unit and found.better and found.baseline and found.target
    return MeasureSpec(
        name=name,
        unit=found.unit,
        better=found.better,
        baseline=found.baseline[0],
        baseline_date=found.baseline[1],
        target=found.target[0],
        target_date=found.target[1],
        short_id=found.short_id,
        definition=found.definition,
        owner=found.owner,
        evidences=found.evidences,
        frequency=found.frequency,
        source=found.source,
    )


def kpi_edit(ctx: Ctx, args: str) -> Reply:
    ctx.require_admin("change a measure")
    which, change = parse_edit(args)
    measure, edits = edit_measure(ctx, which, change)
    return Reply(summary=f"Changed {measure.short_id}").para(
        bold(f"Changed {measure.short_id} "),
        plain(f"{measure.name}: " + "; ".join(change_text(e) for e in edits) + ". "),
        code(f"kpi show {measure.short_id}"),
        plain(" shows it, with every earlier change."),
    )


def parse_edit(args: str) -> tuple[str, MeasureChange]:
    """`K1 target 80% by 2027-06-30; owner …`: the measure, then the clauses to change."""
    which, _, rest = args.strip().partition(" ")
    clauses = [c for c in _CLAUSES.split(rest.strip()) if c]
    if not which or not clauses:
        raise Invalid(f"Which measure, and what changes? `{EDIT_EXAMPLE}`.")
    found = _Found()
    for clause in clauses:
        _read_clause(clause, found, f"Nothing was changed: `{EDIT_EXAMPLE}`.")
    if found.short_id:
        raise Invalid("A measure keeps its id. Nothing was changed.")
    return which, MeasureChange(
        unit=found.unit,
        better=found.better,
        baseline=found.baseline,
        target=found.target,
        definition=found.definition,
        owner=found.owner,
        evidences=found.evidences or None,
        frequency=found.frequency,
        source=found.source,
    )


class _Found:
    def __init__(self) -> None:
        self.unit: str | None = None
        self.better: str | None = None
        self.baseline: tuple[float, date] | None = None
        self.target: tuple[float, date] | None = None
        self.short_id: str | None = None
        self.definition: str | None = None
        self.owner: str | None = None
        self.evidences: list[str] = []
        self.frequency: str | None = None
        self.source: str | None = None


def _read_clause(
    clause: str, found: _Found, nothing: str = f"Nothing was added: `{EXAMPLE}`."
) -> None:
    word, _, rest = clause.partition(" ")
    word = word.lower().rstrip(":")
    rest = rest.strip().lstrip(":").strip()
    better = _BETTER.match(clause.strip())
    if clause.strip().lower() in _UNITS:
        found.unit = impact.parse_unit(_unit_word(clause.strip()))
    elif word in ("unit", "units"):
        found.unit = impact.parse_unit(_unit_word(rest))
    elif better:
        found.better = (better.group(1) or better.group(2)).lower()
    elif word == "baseline":
        found.baseline = _value_and_date(rest, "baseline")
    elif word == "target":
        found.target = _value_and_date(rest, "target")
    elif word in ("owner", "lead"):
        found.owner = rest or None
    elif word in ("evidences", "evidence", "for", "workstream", "workstreams", "actions", "action"):
        found.evidences += [item.strip() for item in rest.split(",") if item.strip()]
    elif clause.strip().lower() in _FREQUENCIES:
        found.frequency = clause.strip().lower()
    elif word in ("reported", "frequency"):
        found.frequency = rest[:30] or None
    elif word == "id":
        short = _SHORT_ID.match(rest)
        if short is None:
            raise Invalid(f"“{rest[:20]}” is not a measure id: ids look like K7.")
        found.short_id = f"K{int(short.group(1))}"
    elif word == "definition":
        found.definition = rest or None
    elif word == "source":
        found.source = rest[:300] or None
    else:
        raise Invalid(
            f"“{clause[:40]}” is not part of a measure. After the name come: {_KEYWORDS}. {nothing}"
        )


def _unit_word(text: str) -> str:
    lowered = text.lower()
    return "%" if lowered in ("percent", "percentage") else "number" if lowered == "count" else text


def _value_and_date(text: str, what: str) -> tuple[float, date]:
    match = _VALUE_AND_DATE.match(text)
    if match is None:
        raise Invalid(f"Give the {what}'s value and its date: `{what} 42% at 2026-03-31`.")
    try:
        value = impact.parse_value(match.group("value"))
    except UserError as refusal:
        raise Invalid(f"The {what}: {refusal}") from refusal
    return value, _date(match.group("date"), what)


def _date(text: str, what: str) -> date:
    """A day (`2026-03-31`, `31/03/2026`), or a month (`Mar 2026`: its last day)."""
    try:
        return parse_day(text)
    except UserError:
        pass
    try:
        return impact.month_end(impact.parse_period(text))
    except UserError:
        raise Invalid(
            f"The {what}'s date “{text[:40]}” is not a date: write 2026-03-31, 31/03/2026 or "
            "Mar 2026."
        ) from None
