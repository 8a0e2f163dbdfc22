"""People: Slack users, and the leads a plan names by Slack ID, e-mail or name."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import Invalid
from bot.store.models import Person

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def slack_id_of(text: str) -> str | None:
    """`U012AB`, `<@U012AB>` or `<@U012AB|sam>` (how Slack sends a mention) → `U012AB`."""
    text = text.strip()
    match = _MENTION.match(text)
    if match:
        return match.group(1)
    return text if _SLACK_ID.match(text) else None


def find_by_slack_id(session: Session, user_id: str) -> Person | None:
    return session.scalars(select(Person).where(Person.slack_user_id == user_id)).first()


def people_by_slack_id(session: Session, ids: set[str]) -> dict[str, Person]:
    """The people behind Slack user ids, for showing who did what: one statement."""
    if not ids:
        return {}
    found = session.scalars(select(Person).where(Person.slack_user_id.in_(ids)))
    return {p.slack_user_id: p for p in found if p.slack_user_id}


def person_for_user(session: Session, user_id: str, name: str | None = None) -> Person:
    person = find_by_slack_id(session, user_id)
    if person is None:
        person = Person(slack_user_id=user_id, name=name or user_id)
        session.add(person)
        session.flush()
    elif name and person.name == user_id:
        person.name = name
    return person


def resolve_lead(session: Session, text: str) -> Person:
    """The person a plan means by a lead cell; a new person when nobody matches yet."""
    text = " ".join(text.split())
    if not text:
        raise Invalid("A lead is empty.")
    user_id = slack_id_of(text)
    if user_id:
        return person_for_user(session, user_id)
    if _EMAIL.match(text):
        email = text.lower()
        person = session.scalars(select(Person).where(Person.email == email)).first()
        if person is None:
            person = Person(email=email, name=_name_from_email(email))
            session.add(person)
            session.flush()
        return person
    if len(text) > 200:
        raise Invalid(f"“{text[:40]}…” is too long for a lead's name.")
    person = session.scalars(
        select(Person).where(func.lower(Person.name) == text.lower()).order_by(Person.id)
    ).first()
    if person is None:
        person = Person(name=text)
        session.add(person)
        session.flush()
    return person


def resolve_leads(session: Session, texts: Iterable[str]) -> list[Person]:
    """Each lead a plan or a command names, once, in the order named."""
    people: dict[int, Person] = {}
    for text in texts:
        person = resolve_lead(session, text)
        people.setdefault(person.id, person)
    return list(people.values())


def _name_from_email(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._\-]+", local) if part) or email


def unresolved_people(session: Session) -> list[Person]:
    """Leads with no Slack account yet: they cannot be mentioned or reminded."""
    return list(
        session.scalars(select(Person).where(Person.slack_user_id.is_(None)).order_by(Person.name))
    )
