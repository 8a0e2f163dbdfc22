"""The public progress page: what is public, frozen when an admin publishes it.

**A public field** is one of these, and nothing else ever leaves the partnership this way:
- the plan's name; each workstream's (area of weakness's) name;
- each action's ref, title, status, rating (as counted: a RAG, or Complete) and due date as
  the plan wrote it ("March 2027", "Ongoing"), with the counts per workstream;
- each measure of impact's short id, name, unit, which way is better, baseline, target,
  trajectory and recorded figures (values and periods only), with the chart's text alternative;
- the "You said, we did" entries (written by an admin for the public);
- when it was published.

Never: notes, highlight reports, follow-ups, answers, figures' notes, any person's name or
e-mail, a lead, an owner, or anything redacted (redaction erases notes, none of which are here).
`PublicPlan` is that list as a type: a snapshot is built only through it and read back only
through it, so a field added elsewhere cannot reach the page by accident.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from bot.domain import COMPLETE, Invalid, NotFound, Rag, clean_note, day_text, rating_of
from bot.impact import (
    Standing,
    alt_text,
    expected_months,
    judgement_text,
    month_end,
    period_text,
    target_text,
    trajectory_points,
    value_text,
)
from bot.render import layout
from bot.services import kpis
from bot.services.context import Ctx
from bot.services.plans import require_workstream, workstreams
from bot.store.models import Action, Plan, Publication, YouSaid

# the longest "you said" or "we did": a sentence or two on a public page
MAX_YOU_SAID_CHARS = 1000


class PublicAction(BaseModel):
    ref: str
    title: str
    status: str
    # the rating as a word ("Amber", "Complete", "Not rated") and its tone for colour
    rating: str
    tone: layout.Tone
    due: str


class PublicWorkstream(BaseModel):
    name: str
    actions: list[PublicAction]
    # rating word → how many actions, in the order of the scale
    counts: dict[str, int]


class PublicFigure(BaseModel):
    period: str
    value: str


class PublicMeasure(BaseModel):
    short_id: str
    name: str
    unit: str
    better: str
    baseline: str
    target: str
    judgement: str
    alt: str
    figures: list[PublicFigure]
    # what the chart plots: (ISO date, value) pairs, and the gap that breaks its line
    actual_points: list[tuple[date, float]]
    trajectory_points: list[tuple[date, float]]
    target_point: tuple[date, float]
    gap_days: int


class PublicYouSaid(BaseModel):
    workstream: str
    you_said: str
    we_did: str


class PublicPlan(BaseModel):
    name: str
    slug: str
    published_at: datetime
    published_on: str
    workstreams: list[PublicWorkstream]
    measures: list[PublicMeasure]
    you_said: list[PublicYouSaid] = Field(default_factory=list)

    @property
    def action_count(self) -> int:
        return sum(len(w.actions) for w in self.workstreams)

    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for workstream in self.workstreams:
            total.update(workstream.counts)
        return {word: total[word] for word in _rating_order() if total[word]}


def _rating_order() -> list[str]:
    return [
        layout.COMPLETE_WORD,
        *(layout.rag_word(r) for r in layout.RAG_WORD),
        layout.NOT_RATED_WORD,
    ]


def _rating(action: Action) -> tuple[str, layout.Tone]:
    rating = rating_of(action.rag, action.status)
    if rating == COMPLETE or (isinstance(rating, str) and not isinstance(rating, Rag)):
        return layout.COMPLETE_WORD, layout.Tone.GOOD
    return layout.rag_word(rating), layout.rag_tone(rating)


def _due(action: Action) -> str:
    if action.due_text:
        return action.due_text
    return day_text(action.due) if action.due else ""


def snapshot(session: Session, plan: Plan, now: datetime, tz_today: date) -> PublicPlan:
    """The plan's public fields as they stand: a few statements whatever its size."""
    actions = session.scalars(
        select(Action)
        .where(Action.plan_id == plan.id)
        .order_by(Action.sort_key)
        .options(lazyload(Action.leads), lazyload(Action.workstream))
    )
    by_workstream: dict[int, list[PublicAction]] = {}
    for action in actions:
        rating, tone = _rating(action)
        by_workstream.setdefault(action.workstream_id, []).append(
            PublicAction(
                ref=action.ref,
                title=action.title,
                status=layout.status_word(action.status),
                rating=rating,
                tone=tone,
                due=_due(action),
            )
        )
    order = _rating_order()
    public_workstreams = []
    for workstream in workstreams(session, plan):
        items = by_workstream.get(workstream.id, [])
        counted = Counter(a.rating for a in items)
        public_workstreams.append(
            PublicWorkstream(
                name=workstream.name,
                actions=items,
                counts={word: counted[word] for word in order if counted[word]},
            )
        )
    return PublicPlan(
        name=plan.name,
        slug=plan.slug,
        published_at=now,
        published_on=day_text(tz_today),
        workstreams=public_workstreams,
        measures=[_measure(s) for s in kpis.standings(session, plan.id)],
        you_said=[
            PublicYouSaid(workstream=e.workstream.name, you_said=e.you_said, we_did=e.we_did)
            for e in you_said_entries(session, plan.id)
        ],
    )


def _measure(standing: Standing) -> PublicMeasure:
    measure = standing.measure
    unit = measure.unit
    return PublicMeasure(
        short_id=measure.short_id,
        name=measure.name,
        unit=unit,
        better=measure.better,
        baseline=f"{value_text(measure.baseline_value, unit)} at "
        f"{period_text(measure.baseline_date)}",
        target=target_text(measure),
        judgement=judgement_text(standing),
        alt=alt_text(standing),
        figures=[
            PublicFigure(period=period_text(f.period), value=value_text(f.value, unit))
            for f in standing.figures
        ],
        actual_points=[(month_end(f.period), f.value) for f in standing.figures],
        trajectory_points=[(p.on, p.value) for p in trajectory_points(measure)],
        target_point=(measure.target_date, measure.target_value),
        gap_days=expected_months(measure) * 31,
    )


# --- Publishing ------------------------------------------------------------------------------


def publish(ctx: Ctx) -> tuple[Publication, PublicPlan]:
    ctx.require_admin("publish the plan's progress page")
    plan = ctx.plan
    public = snapshot(ctx.session, plan, ctx.now, ctx.today)
    row = Publication(
        plan_id=plan.id,
        at=ctx.now,
        person_id=ctx.actor_id,
        source=ctx.caller.source,
        withdrawn=False,
        body=public.model_dump(mode="json"),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row, public


def withdraw(ctx: Ctx) -> bool:
    """Withdraws the public page; False when it was not published."""
    ctx.require_admin("withdraw the plan's progress page")
    plan = ctx.plan
    if latest(ctx.session, plan.id) is None:
        return False
    ctx.session.add(
        Publication(
            plan_id=plan.id,
            at=ctx.now,
            person_id=ctx.actor_id,
            source=ctx.caller.source,
            withdrawn=True,
            body=None,
        )
    )
    ctx.session.flush()
    return True


def latest(session: Session, plan_id: int) -> Publication | None:
    """The page as published now: None when never published, or withdrawn since."""
    row = session.scalars(
        select(Publication)
        .where(Publication.plan_id == plan_id)
        .order_by(Publication.id.desc())
        .limit(1)
    ).first()
    return row if row is not None and not row.withdrawn else None


def latest_id(session: Session, slug: str) -> int | None:
    """The id of the publication `/progress/SLUG` shows, in one small statement: the page
    itself is read (and kept) by id, since a published snapshot never changes."""
    row = session.execute(
        select(Publication.id, Publication.withdrawn)
        .join(Plan, Plan.id == Publication.plan_id)
        .where(Plan.slug == slug)
        .order_by(Publication.id.desc())
        .limit(1)
    ).first()
    return None if row is None or row.withdrawn else int(row.id)


def read(session: Session, publication_id: int) -> PublicPlan:
    row = session.get_one(Publication, publication_id)
    return PublicPlan.model_validate(row.body)


# --- You said, we did ------------------------------------------------------------------------


def you_said_entries(session: Session, plan_id: int) -> list[YouSaid]:
    return list(
        session.scalars(
            select(YouSaid)
            .where(YouSaid.plan_id == plan_id, YouSaid.removed_at.is_(None))
            .order_by(YouSaid.id)
        )
    )


def add_you_said(ctx: Ctx, workstream: str, you_said: str, we_did: str) -> YouSaid:
    ctx.require_admin("add “You said, we did” entries")
    found = require_workstream(ctx.session, ctx.plan, workstream)
    said, did = clean_note(you_said, "“you said”"), clean_note(we_did, "“we did”")
    for text, what in ((said, "“you said”"), (did, "“we did”")):
        if len(text) > MAX_YOU_SAID_CHARS:
            raise Invalid(
                f"The {what} is {len(text):,} characters; on a public page keep it under "
                f"{MAX_YOU_SAID_CHARS:,}."
            )
    entry = YouSaid(
        plan_id=ctx.plan.id,
        workstream_id=found.id,
        you_said=said,
        we_did=did,
        at=ctx.now,
        person_id=ctx.actor_id,
        source=ctx.caller.source,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    return entry


def remove_you_said(ctx: Ctx, entry_id: int) -> YouSaid:
    ctx.require_admin("remove “You said, we did” entries")
    entry = ctx.session.get(YouSaid, entry_id)
    if entry is None or entry.plan_id != ctx.plan.id or entry.removed_at is not None:
        raise NotFound(f"There is no “You said, we did” entry YS-{entry_id}: `yousaid list`.")
    entry.removed_at = ctx.now
    entry.removed_by_person_id = ctx.actor_id
    return entry
