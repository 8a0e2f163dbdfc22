"""Who may sign in to a plan's pages, and what they may do there.

A plan's pages are open to its admins (WSOA_ADMINS, by e-mail), its leads (by the e-mail on
their person) and its partners (`partner add EMAIL [viewer|adviser]`). Viewers read; advisers
also raise follow-up questions; leads answer theirs and write their highlight reports, as they
do in chat, because the page runs the same commands and forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import Invalid, NotFound
from bot.services.context import Ctx
from bot.services.people import is_email
from bot.store.models import Action, Partner, PartnerRole, Person, Plan, action_leads


class Access(StrEnum):
    """What someone signed in may do on a plan's pages, most first."""

    ADMIN = "admin"
    LEAD = "lead"
    ADVISER = "adviser"
    VIEWER = "viewer"


@dataclass(frozen=True)
class OpenPlan:
    slug: str
    name: str
    access: Access


def normal_email(text: str) -> str:
    """An e-mail address as stored and compared: trimmed, lower-case; refused when it is none."""
    email = text.strip().strip("<>").lower()
    if not is_email(email) or len(email) > 320:
        raise Invalid(f"“{text[:80]}” is not an e-mail address.")
    return email


def is_admin_email(settings: Settings, email: str) -> bool:
    return email.lower() in {a.lower() for a in settings.admins if "@" in a}


def plans_open_to(session: Session, settings: Settings, email: str) -> dict[str, OpenPlan]:
    """Every plan `email` may see, by slug, with what they may do there: three statements.

    A programme manager (WSOA_ADMINS) is an admin of every plan in a deployment of one
    partnership. One hosting many (`settings.hosting`) cannot tell whose programme manager
    they are from that list, so there they are admins of the plans they lead or are partners
    of (`partner add`), and see no other."""
    email = email.lower()
    plans = {p.id: p for p in session.scalars(select(Plan).order_by(Plan.slug))}
    admin = is_admin_email(settings, email)
    if admin and not settings.hosting:
        access = dict.fromkeys(plans, Access.ADMIN)
    else:
        led = session.scalars(
            select(Action.plan_id)
            .join(action_leads, action_leads.c.action_id == Action.id)
            .join(Person, Person.id == action_leads.c.person_id)
            .where(Person.email == email)
            .distinct()
        )
        access = dict.fromkeys(led, Access.LEAD)
        for plan_id, role in session.execute(
            select(Partner.plan_id, Partner.role).where(
                Partner.email == email, Partner.removed_at.is_(None)
            )
        ):
            if plan_id not in access:
                access[plan_id] = Access(role.value)
        if admin:
            access = dict.fromkeys(access, Access.ADMIN)
    return {
        plans[plan_id].slug: OpenPlan(plans[plan_id].slug, plans[plan_id].name, found)
        for plan_id, found in sorted(access.items(), key=lambda item: plans[item[0]].slug)
    }


def partner_role(session: Session, plan_id: int, email: str | None) -> PartnerRole | None:
    if not email:
        return None
    return session.scalars(
        select(Partner.role).where(
            Partner.plan_id == plan_id,
            Partner.email == email.lower(),
            Partner.removed_at.is_(None),
        )
    ).first()


def is_adviser(ctx: Ctx) -> bool:
    """An adviser on this plan: they may raise follow-up questions, as admins do."""
    email = ctx.caller.email or (ctx.known_person.email if ctx.known_person else None)
    return partner_role(ctx.session, ctx.plan.id, email) == PartnerRole.ADVISER


def partners(session: Session, plan_id: int) -> list[Partner]:
    return list(
        session.scalars(
            select(Partner)
            .where(Partner.plan_id == plan_id, Partner.removed_at.is_(None))
            .order_by(Partner.email)
        )
    )


def add(ctx: Ctx, email: str, role: PartnerRole) -> tuple[Partner, bool]:
    """Adds a partner, or changes their role; False when they were there already as that."""
    ctx.require_admin("add partners to the plan's pages")
    address = normal_email(email)
    current = _current(ctx, address)
    if current is not None:
        if current.role == role:
            return current, False
        _end(ctx, current)
    row = Partner(
        plan_id=ctx.plan.id,
        email=address,
        role=role,
        added_at=ctx.now,
        added_by_person_id=ctx.actor_id,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row, True


def remove(ctx: Ctx, email: str) -> Partner:
    ctx.require_admin("remove partners from the plan's pages")
    address = normal_email(email)
    current = _current(ctx, address)
    if current is None:
        raise NotFound(f"{address} is not a partner of this plan: `partner list`.")
    _end(ctx, current)
    return current


def _current(ctx: Ctx, email: str) -> Partner | None:
    return ctx.session.scalars(
        select(Partner)
        .where(Partner.plan_id == ctx.plan.id, Partner.email == email, Partner.removed_at.is_(None))
        .with_for_update()
    ).first()


def _end(ctx: Ctx, partner: Partner) -> None:
    partner.removed_at = ctx.now
    partner.removed_by_person_id = ctx.actor_id
