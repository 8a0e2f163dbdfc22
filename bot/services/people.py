"""People and their identities on each platform; the leads a plan names by user id, e-mail or
name; and merging two records that turn out to be one human.

Rules compare people (`Person.id`), never platform ids: the adapters say who is asking as a
`Who` (platform, workspace or tenant, user id, and e-mail and name when the platform gives
them), and `identify` finds or creates the person behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.addresses import Address
from bot.domain import Invalid
from bot.store.models import Answer, FollowUp, Identity, Person, Update, action_leads

# The platform of someone acting at a terminal: they act as whoever `--user` names.
CONSOLE = "console"

# How user ids look on each platform, for leads named in a plan or a command. A Slack user id
# (or Slack's `<@U…|name>` mention form); a Teams user's AAD object id (a GUID).
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_AAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class Who:
    """Someone as a platform names them."""

    platform: str
    external_id: str
    workspace: str = ""
    email: str | None = None
    name: str | None = None
    connector_id: str | None = None


def handle_of(text: str) -> tuple[str, str] | None:
    """(platform, user id) for a user id or mention as people type them: `U012AB`,
    `<@U012AB|sam>`, or an AAD object id."""
    text = text.strip()
    match = _SLACK_MENTION.match(text)
    if match:
        return "slack", match.group(1)
    if _SLACK_ID.match(text):
        return "slack", text
    if _AAD_ID.match(text):
        return "teams", text.lower()
    return None


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def find_identity(session: Session, who: Who) -> Identity | None:
    """The identity `who` names. A workspace not yet known on the stored identity (carried over
    from before workspaces were kept) matches any; the console acts as any platform's user."""
    stmt = select(Identity).where(Identity.external_id == who.external_id)
    if who.platform != CONSOLE:
        stmt = stmt.where(
            Identity.platform == who.platform,
            or_(Identity.workspace == who.workspace, Identity.workspace == ""),
        )
    return session.scalars(stmt.order_by(Identity.id)).first()


def find(session: Session, who: Who) -> Person | None:
    """The person behind `who`, if known; creates and changes nothing, so a read stays a read
    (an identity learns its workspace in `identify`, on the person's first change)."""
    identity = find_identity(session, who)
    if identity is not None:
        return session.get_one(Person, identity.person_id)
    if who.platform == CONSOLE and is_email(who.external_id):
        return by_email(session, who.external_id)
    if who.email:
        return by_email(session, who.email)
    return None


def by_email(session: Session, email: str) -> Person | None:
    return (
        session.scalars(select(Person).where(Person.email == email.strip().lower()))
        .unique()
        .first()
    )


def identify(session: Session, who: Who) -> Person:
    """The person behind `who`, linked and created as needed: a known identity; else the
    person with the same e-mail (a lead named by e-mail links to the platform they first turn
    up on); else someone new."""
    identity = find_identity(session, who)
    if identity is not None:
        person = session.get_one(Person, identity.person_id)
        _fill_in_workspace(identity, who)
        if who.connector_id and identity.connector_id != who.connector_id:
            identity.connector_id = who.connector_id
        if who.name and person.name in (who.external_id, ""):
            person.name = who.name
        return person
    if who.platform == CONSOLE and is_email(who.external_id):
        found = by_email(session, who.external_id)
        if found is not None:
            return found
        return _new_person(session, email=who.external_id.lower(), name=None)
    handle = handle_of(who.external_id) if who.platform == CONSOLE else None
    if handle is not None:
        # At the console, a Slack or Teams user id means that platform's user.
        platform, user_id = handle
        return identify(session, Who(platform=platform, external_id=user_id, name=who.name))
    known = by_email(session, who.email) if who.email else None
    if known is None:
        known = _new_person(session, email=who.email.lower() if who.email else None, name=None)
        known.name = who.name or who.external_id
    add_identity(session, known, who)
    if who.name and known.name in (who.external_id, _name_from_email(known.email or "")):
        known.name = who.name
    return known


def _fill_in_workspace(identity: Identity, who: Who) -> None:
    """Identities carried over from before workspaces were recorded learn theirs on the
    person's first contact since."""
    if who.workspace and not identity.workspace and who.platform == identity.platform:
        identity.workspace = who.workspace


def add_identity(session: Session, person: Person, who: Who) -> Identity:
    identity = Identity(
        person_id=person.id,
        platform=who.platform,
        workspace=who.workspace,
        external_id=who.external_id,
        connector_id=who.connector_id,
    )
    session.add(identity)
    session.flush()
    session.expire(person, ["identities"])
    return identity


def _new_person(session: Session, *, email: str | None, name: str | None) -> Person:
    person = Person(email=email, name=name or (_name_from_email(email) if email else ""))
    session.add(person)
    session.flush()
    return person


def people_by_handle(session: Session, handles: set[str]) -> dict[str, Person]:
    """The people behind user ids as stored with older records (who raised a follow-up, who
    answered it): one statement for the identities, one for their people."""
    if not handles:
        return {}
    rows = (
        session.execute(
            select(Identity.external_id, Person)
            .join(Person, Person.id == Identity.person_id)
            .where(Identity.external_id.in_(handles))
        )
        .unique()
        .all()
    )
    return {external_id: person for external_id, person in rows}


def people_by_id(session: Session, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids))).unique()}


def resolve_lead(session: Session, text: str) -> Person:
    """The person a plan means by a lead cell; a new person when nobody matches yet."""
    text = " ".join(text.split())
    if not text:
        raise Invalid("A lead is empty.")
    handle = handle_of(text)
    if handle is not None:
        platform, user_id = handle
        return identify(session, Who(platform=platform, external_id=user_id))
    if is_email(text):
        email = text.lower()
        return by_email(session, email) or _new_person(session, email=email, name=None)
    if len(text) > 200:
        raise Invalid(f"“{text[:40]}…” is too long for a lead's name.")
    person = (
        session.scalars(
            select(Person).where(func.lower(Person.name) == text.lower()).order_by(Person.id)
        )
        .unique()
        .first()
    )
    return person or _new_person(session, email=None, name=text)


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
    """Leads with no chat account yet: they cannot be mentioned or reminded."""
    return list(
        session.scalars(
            select(Person)
            .where(~Person.identities.any(Identity.platform != CONSOLE))
            .order_by(Person.name)
        ).unique()
    )


def link(session: Session, person: Person, who: Who) -> Person:
    """Give `person` the identity `who` (found for them on a platform, e.g. by e-mail). When
    someone else already has it (the same human, who used the bot or was named by user id
    before their e-mail reached a plan), the two become one: see `merge`."""
    identity = find_identity(session, who)
    if identity is None:
        add_identity(session, person, who)
        if who.name:
            person.name = who.name
        return person
    existing = session.get_one(Person, identity.person_id)
    if existing.id == person.id:
        return person
    merge(session, person, into=existing)
    if who.name and existing.name == who.external_id:
        existing.name = who.name
    return existing


def merge(session: Session, person: Person, into: Person) -> None:
    """`person` and `into` are one human: `person`'s actions, history, answers and identities
    move to `into`, which keeps its own details and takes `person`'s where it has none."""
    already = set(
        session.scalars(select(action_leads.c.action_id).where(action_leads.c.person_id == into.id))
    )
    session.execute(
        action_leads.delete().where(
            action_leads.c.person_id == person.id, action_leads.c.action_id.in_(already)
        )
    )
    session.execute(
        action_leads.update().where(action_leads.c.person_id == person.id).values(person_id=into.id)
    )
    moves = [
        update(Update).where(Update.person_id == person.id).values(person_id=into.id),
        update(Answer).where(Answer.person_id == person.id).values(person_id=into.id),
        update(FollowUp)
        .where(FollowUp.raised_by_person_id == person.id)
        .values(raised_by_person_id=into.id),
        update(Identity).where(Identity.person_id == person.id).values(person_id=into.id),
    ]
    for statement in moves:
        session.execute(statement.execution_options(synchronize_session=False))
    email, organisation = person.email, person.organisation
    session.execute(delete(Person).where(Person.id == person.id))
    # The unique e-mail moves only after the old row is gone.
    session.flush()
    into.email = into.email or email
    into.organisation = into.organisation or organisation
    session.flush()
    # Collections loaded before the statements above (an action's leads) are stale now.
    session.expire_all()


def personal_address(person: Person) -> Address | None:
    """Where to reach `person` privately: their personal chat on the first platform they were
    linked on (for Slack, their user id as the conversation; for Teams, their Bot Connector id
    in their tenant). None when they have no chat account."""
    for identity in person.identities:
        if identity.platform == "slack":
            return Address(
                platform="slack", workspace=identity.workspace, conversation=identity.external_id
            )
        if identity.platform == "teams":
            if not (identity.connector_id and identity.service_url):
                # Never seen through the bot (it was not installed for them): Teams cannot
                # open a chat without their `29:` id and regional URL.
                continue
            return Address(
                platform="teams",
                workspace=identity.workspace,
                conversation=identity.connector_id,
                service_url=identity.service_url,
            )
    return None
