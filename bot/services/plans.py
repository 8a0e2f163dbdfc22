"""The plan and its workstreams."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import NotFound, nearest
from bot.store.models import Plan, Workstream

DEFAULT_PLAN_NAME = "Written Statement of Action"


def current_plan(session: Session, now: datetime) -> Plan:
    """The database holds one partnership's plan; it is created on first use."""
    plan = session.scalars(select(Plan).order_by(Plan.id).limit(1)).first()
    if plan is None:
        plan = Plan(name=DEFAULT_PLAN_NAME, created_at=now)
        session.add(plan)
        session.flush()
    return plan


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
        names = [w.name for w in workstreams(session, plan)]
        close = nearest(text, names)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"No workstream “{text}”.{hint} Workstreams: {', '.join(names)}.")
    return found
