"""Plans (a database holds any number of partnerships'), which plan a request speaks to, and
each plan's workstreams.

A chat request reaches its plan through a binding of (platform, workspace or tenant, channel):
a channel's binding wins over its workspace's. A database holding one plan serves everyone
with it, bound or not. Reading never makes a plan: the first is made by an import, the demo or
`wsoa plan create`.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain import Invalid, NotFound, UserError, nearest
from bot.services.history import Author
from bot.store.models import Plan, PlanBinding, Workstream, WorkstreamImpact

DEFAULT_PLAN_NAME = "Written Statement of Action"
DEFAULT_SLUG = "wsoa"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]{0,59}$")


class NoPlan(UserError):
    """The request names, or reaches, no plan this database holds."""


class NoPlanYet(NoPlan):
    """The database holds no plan at all."""


def all_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.slug)))


def _slugs(session: Session) -> str:
    return ", ".join(p.slug for p in all_plans(session)) or "none yet"


NO_PLAN_YET = (
    "There is no plan here yet. A programme manager loads one from the partnership's tracker "
    "with `wsoa import FILE` (or tries the bot with `wsoa demo`)."
)


def current_plan(session: Session, now: datetime, *, create: bool = False) -> Plan:
    """The plan of a database that holds one; with `create` (an import, the demo), made when
    it holds none. With several, the caller must say which: `plan_named`, `plan_for_chat`."""
    plans = session.scalars(select(Plan).order_by(Plan.id).limit(2)).all()
    if len(plans) > 1:
        raise NoPlan(
            f"This database holds several plans ({_slugs(session)}): say which with --plan SLUG."
        )
    if plans:
        return plans[0]
    if not create:
        raise NoPlanYet(NO_PLAN_YET)
    plan = Plan(slug=DEFAULT_SLUG, name=DEFAULT_PLAN_NAME, created_at=now)
    session.add(plan)
    session.flush()
    return plan


def plan_named(session: Session, slug: str | None, now: datetime, *, create: bool = False) -> Plan:
    """`--plan SLUG`, or the only plan when none is named (made, with `create`, when the
    database holds none)."""
    if not slug:
        return current_plan(session, now, create=create)
    plan = session.scalars(select(Plan).where(Plan.slug == slug.strip().lower())).first()
    if plan is None:
        raise NoPlan(f"No plan “{slug}”. Plans: {_slugs(session)}. `wsoa plan create` adds one.")
    return plan


def plan_for_chat(
    session: Session,
    platform: str,
    workspace: str,
    channel: str | None,
    now: datetime,
    *,
    shared: bool = False,
) -> Plan:
    """The plan a chat conversation speaks to: its channel's binding, else its workspace's,
    else the only plan there is."""
    bindings = session.scalars(
        select(PlanBinding).where(
            PlanBinding.platform == platform,
            PlanBinding.workspace == workspace,
            or_(PlanBinding.channel == (channel or ""), PlanBinding.channel == ""),
        )
    ).all()
    best = sorted(bindings, key=lambda b: b.channel == "")
    if best:
        return session.get_one(Plan, best[0].plan_id)
    # A database that binds nothing serves its one plan to whoever asks (one partnership's own
    # bot). Once any workspace or tenant is bound, the bot is shared: an unbound one sees no
    # plan, never another partnership's.
    shared = shared or session.scalar(select(PlanBinding.id).limit(1)) is not None
    try:
        if shared:
            raise NoPlan("bound elsewhere")
        return current_plan(session, now)
    except NoPlanYet:
        raise
    except NoPlan:
        raise NoPlan(
            f"This workspace or tenant ({workspace}) is not linked to a plan yet, so there is "
            f"nothing to show here. Ask whoever runs the bot to link it with `wsoa plan bind "
            f"SLUG` and its id, {workspace} (or `wsoa plan create SLUG NAME` first, for a new "
            "partnership)."
        ) from None


def create_plan(session: Session, slug: str, name: str, now: datetime) -> Plan:
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise Invalid(
            f"“{slug}” cannot be a plan's short name: use lower-case letters, digits and "
            "hyphens, like torbay or thurrock-2026."
        )
    if session.scalars(select(Plan).where(Plan.slug == slug)).first() is not None:
        raise Invalid(f"There is already a plan “{slug}”.")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise Invalid("A plan needs a name of up to 200 characters.")
    plan = Plan(slug=slug, name=name, created_at=now)
    session.add(plan)
    session.flush()
    return plan


def bind_plan(
    session: Session, plan: Plan, platform: str, workspace: str, channel: str | None
) -> PlanBinding:
    """Point a workspace or tenant (or one channel in it) at `plan`, replacing what it was
    bound to."""
    if not workspace.strip():
        raise Invalid("Name the workspace or tenant to bind.")
    found = session.scalars(
        select(PlanBinding).where(
            PlanBinding.platform == platform,
            PlanBinding.workspace == workspace.strip(),
            PlanBinding.channel == (channel or "").strip(),
        )
    ).first()
    if found is None:
        found = PlanBinding(
            platform=platform, workspace=workspace.strip(), channel=(channel or "").strip()
        )
        session.add(found)
    found.plan_id = plan.id
    session.flush()
    return found


def bindings_of(session: Session, plan: Plan) -> list[PlanBinding]:
    return list(
        session.scalars(
            select(PlanBinding)
            .where(PlanBinding.plan_id == plan.id)
            .order_by(PlanBinding.platform, PlanBinding.workspace, PlanBinding.channel)
        )
    )


def workstream_key(name: str) -> str:
    return " ".join(name.split()).lower()


def get_or_create_workstream(session: Session, plan: Plan, name: str) -> tuple[Workstream, bool]:
    key = workstream_key(name)
    found = session.scalars(
        select(Workstream).where(Workstream.plan_id == plan.id, Workstream.key == key)
    ).first()
    if found:
        return found, False
    count = session.scalar(
        select(func.count()).select_from(Workstream).where(Workstream.plan_id == plan.id)
    )
    workstream = Workstream(
        plan_id=plan.id, name=" ".join(name.split()), key=key, position=count or 0
    )
    session.add(workstream)
    session.flush()
    return workstream, True


def impacts(session: Session, plan_id: int) -> dict[int, str]:
    """Each workstream's current impact note ("The difference it made: …"), by workstream id."""
    latest = (
        select(func.max(WorkstreamImpact.id))
        .where(WorkstreamImpact.plan_id == plan_id)
        .group_by(WorkstreamImpact.workstream_id)
    )
    found = session.execute(
        select(WorkstreamImpact.workstream_id, WorkstreamImpact.text).where(
            WorkstreamImpact.id.in_(latest)
        )
    )
    return {workstream_id: text for workstream_id, text in found}


def record_impact(
    session: Session, workstream: Workstream, text: str, author: Author, at: datetime
) -> bool:
    """Records what the workstream's work changed, when it says something new; the earlier
    notes stay, as history does."""
    if impacts(session, workstream.plan_id).get(workstream.id) == text:
        return False
    session.add(
        WorkstreamImpact(
            plan_id=workstream.plan_id,
            workstream_id=workstream.id,
            at=at,
            person_id=author.person_id,
            source=author.source,
            text=text,
        )
    )
    return True


def workstreams(session: Session, plan: Plan) -> list[Workstream]:
    return list(
        session.scalars(
            select(Workstream).where(Workstream.plan_id == plan.id).order_by(Workstream.position)
        )
    )


def find_workstream(session: Session, plan: Plan, text: str) -> Workstream | None:
    return match_workstream(workstreams(session, plan), text)


def match_workstream(candidates: list[Workstream], text: str) -> Workstream | None:
    """A workstream by name, or by an unambiguous part of its name ("graduated")."""
    key = workstream_key(text)
    if not key:
        return None
    for w in candidates:
        if w.key == key:
            return w
    partial = [w for w in candidates if key in w.key]
    return partial[0] if len(partial) == 1 else None


def require_workstream(session: Session, plan: Plan, text: str) -> Workstream:
    found = find_workstream(session, plan, text)
    if found is None:
        every = workstreams(session, plan)
        key = workstream_key(text)
        several = [w.name for w in every if key and key in w.key]
        if len(several) > 1:
            raise NotFound(
                f"“{text}” is part of {len(several)} workstreams: {' and '.join(several)}. "
                "Name the one you mean."
            )
        names = [w.name for w in every]
        close = nearest(text, names)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"No workstream “{text}”.{hint} Workstreams: {', '.join(names)}.")
    return found
