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
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, CompoundSelect, delete, func, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain import Invalid
from bot.plans.leads import named_email
from bot.platforms import handle_of
from bot.store import chain
from bot.store.models import Action, Base, Identity, Measure, Person, Update, action_leads

if TYPE_CHECKING:
    from bot.services.context import Ctx

# The platform of someone acting at a terminal: they act as whoever `--user` names.
CONSOLE = "console"

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
        # At the console, a chat platform's user id means that platform's user.
        return identify(
            session, Who(platform=handle.platform, external_id=handle.user_id, name=who.name)
        )
    known = by_email(session, who.email) if who.email else None
    created = known is None
    if known is None:
        known = _new_person(session, email=who.email.lower() if who.email else None, name=None)
        if known.name in ("", _name_from_email(known.email or "")):
            known.name = who.name or who.external_id
    identity = add_identity(session, known, who)
    if identity.person_id != known.id:
        # Another request created them first (a burst of first commands): theirs stands, and
        # the person made here for nothing goes.
        if created and not known.identities:
            session.delete(known)
            session.flush()
        return session.get_one(Person, identity.person_id)
    if who.name and known.name in (who.external_id, _name_from_email(known.email or "")):
        known.name = who.name
    return known


def _fill_in_workspace(identity: Identity, who: Who) -> None:
    """Identities carried over from before workspaces were recorded learn theirs on the
    person's first contact since."""
    if who.workspace and not identity.workspace and who.platform == identity.platform:
        identity.workspace = who.workspace


def add_identity(session: Session, person: Person, who: Who) -> Identity:
    """`who` as `person`'s identity; or, when a concurrent request has just given it to someone
    (both saw no identity and both insert), the identity as they stored it: an insert that
    skips a clash, so neither request fails on the unique key."""
    _insert_unless_present(
        session,
        Identity,
        {
            "person_id": person.id,
            "platform": who.platform,
            "workspace": who.workspace,
            "external_id": who.external_id,
            "connector_id": who.connector_id,
        },
        ["platform", "workspace", "external_id"],
    )
    session.expire(person, ["identities"])
    return session.scalars(
        select(Identity).where(
            Identity.platform == who.platform,
            Identity.workspace == who.workspace,
            Identity.external_id == who.external_id,
        )
    ).one()


def _new_person(session: Session, *, email: str | None, name: str | None) -> Person:
    """A new person; with an e-mail, the one person with it (created by a concurrent request
    if it got there first: the e-mail is unique)."""
    shown = name or (_name_from_email(email) if email else "")
    if email is None:
        person = Person(email=None, name=shown)
        session.add(person)
        session.flush()
        return person
    _insert_unless_present(session, Person, {"email": email, "name": shown}, ["email"])
    found = by_email(session, email)
    assert found is not None
    return found


def _insert_unless_present(
    session: Session,
    model: type[Person] | type[Identity],
    values: dict[str, object],
    key: list[str],
) -> None:
    """INSERT … ON CONFLICT DO NOTHING on `key`: under PostgreSQL's READ COMMITTED the insert
    waits for a concurrent one with the same key and then skips, and the SELECT after it sees
    that row; SQLite writes one at a time, so the same holds there."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.flush()
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=key))


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


def of_plan(plan_id: int) -> CompoundSelect[tuple[int | None]]:
    """The ids of a plan's people: its actions' leads, whoever changed its actions, its
    measures' owners. Names are matched only among them: a name alone never reaches into
    another partnership, so two plans' "Sam Jones" are two people until an e-mail or a chat
    account says they are one."""
    return union(
        select(action_leads.c.person_id)
        .join(Action, Action.id == action_leads.c.action_id)
        .where(Action.plan_id == plan_id),
        select(Update.person_id).where(Update.plan_id == plan_id, Update.person_id.is_not(None)),
        select(Measure.owner_id).where(Measure.plan_id == plan_id, Measure.owner_id.is_not(None)),
    )


def _named(session: Session, name: str, plan_id: int) -> list[Person]:
    """The people of this plan called `name`."""
    if not name or len(name) > 200:
        return []
    return list(
        session.scalars(
            select(Person)
            .where(func.lower(Person.name) == name.lower(), Person.id.in_(of_plan(plan_id)))
            .order_by(Person.id)
        ).unique()
    )


def resolve_lead(session: Session, text: str, plan_id: int) -> Person:
    """The person a plan means by a lead cell; a new person when nobody matches yet."""
    text = " ".join(text.split())
    if not text:
        raise Invalid("A lead is empty.")
    handle = handle_of(text)
    if handle is not None:
        return identify(session, Who(platform=handle.platform, external_id=handle.user_id))
    if is_email(text):
        email = text.lower()
        return by_email(session, email) or _new_person(session, email=email, name=None)
    if (found := named_email(text)) is not None:
        name, email = found
        return by_email(session, email) or _new_person(session, email=email, name=name)
    if len(text) > 200:
        raise Invalid(f"“{text[:40]}…” is too long for a lead's name.")
    named = _named(session, text, plan_id)
    return named[0] if named else _new_person(session, email=None, name=text)


def resolve_leads(
    session: Session, texts: Iterable[str], plan_id: int, *, known: bool = False
) -> list[Person]:
    """Each lead a plan or a command names, once, in the order named. With `known` (a command),
    only people who can be found: see `resolve_known_lead`."""
    people: dict[int, Person] = {}
    for text in texts:
        person = (
            resolve_known_lead(session, text, plan_id)
            if known
            else resolve_lead(session, text, plan_id)
        )
        people.setdefault(person.id, person)
    return list(people.values())


def resolve_known_lead(session: Session, text: str, plan_id: int) -> Person:
    """The person a command names as a lead, refusing anyone who cannot be found, so a typo
    (`assign 11F @nobdy`) never replaces real leads with someone who does not exist:

    - a mention the platform itself resolved (Slack's `<@U012AB|sam>`): a real user, who may
      not have used the bot yet;
    - an e-mail: accepted even when no one has it yet. It may be a future lead (the plan names
      them by e-mail too), linked when they first use the bot or Slack finds their e-mail;
    - a bare user id or a name (`@priya`): only someone already known (by name, in this plan).
    """
    text = " ".join(text.split())
    handle = handle_of(text)
    if (handle is not None and handle.vouched) or is_email(text):
        return resolve_lead(session, text, plan_id)
    if handle is not None:
        identity = find_identity(session, Who(platform=handle.platform, external_id=handle.user_id))
        if identity is None:
            raise Invalid(
                f"No one with the user id {handle.user_id[:40]} has used the bot or is in the "
                "plan. "
                "Mention them with @ so the platform links them, or give their e-mail."
            )
        return session.get_one(Person, identity.person_id)
    matches = _named(session, text.lstrip("@"), plan_id)
    if not matches:
        raise Invalid(
            f"No one called “{text[:40]}” is known, so the leads were not changed. Mention "
            "them with @ so the platform links them, or give their e-mail (someone not yet on the "
            "bot becomes a lead by e-mail)."
        )
    if len(matches) > 1:
        raise Invalid(
            f"{len(matches)} people are called “{text[:40]}”; the leads were not changed. "
            "Mention the one you mean with @, or give their e-mail."
        )
    return matches[0]


def _name_from_email(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._\-]+", local) if part) or email


def unresolved_people(session: Session, plan_id: int) -> list[Person]:
    """The plan's leads with no chat account yet: they cannot be mentioned or reminded. Only
    this plan's: another partnership's people are never named to this one."""
    leads = (
        select(action_leads.c.person_id)
        .join(Action, Action.id == action_leads.c.action_id)
        .where(Action.plan_id == plan_id)
    )
    return list(
        session.scalars(
            select(Person)
            .where(Person.id.in_(leads), ~Person.identities.any(Identity.platform != CONSOLE))
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
    # Every other row that names a person (history, answers, figures, boards, identities…),
    # found from the schema so that a table added later is never left pointing at no one.
    for column in _person_columns():
        session.execute(
            update(column.table)
            .where(column == person.id)
            .values({column.name: into.id})
            .execution_options(synchronize_session=False)
        )
    # the history's chain checks a moved row against the person it named when written
    chain.record_merge(session, person.id, into.id, datetime.now(UTC))
    email, organisation = person.email, person.organisation
    session.execute(delete(Person).where(Person.id == person.id))
    # The unique e-mail moves only after the old row is gone.
    session.flush()
    into.email = into.email or email
    into.organisation = into.organisation or organisation
    session.flush()
    # Collections loaded before the statements above (an action's leads) are stale now.
    session.expire_all()


def _person_columns() -> list[Column[int]]:
    people = Person.__table__.c.id
    return [
        column
        for table in Base.metadata.sorted_tables
        if table is not action_leads
        for column in table.columns
        if any(key.column is people for key in column.foreign_keys)
    ]


MAX_ORGANISATION_CHARS = 200


def organisation_of(given: str | None, email: str | None) -> str | None:
    """The organisation a lead works for, as reports group them: the one given (a tracker's
    organisation column, `person … org …`), else their e-mail's domain."""
    if given:
        return given
    if email and "@" in email:
        return email.rsplit("@", 1)[1].lower()
    return None


def set_organisation(ctx: Ctx, who: str, organisation: str) -> tuple[Person, str | None]:
    """`person WHO org ORGANISATION`: the person (one of this plan's, by name, or anyone by
    e-mail or mention) and the organisation they had."""
    ctx.require_admin("set a lead's organisation")
    organisation = " ".join(organisation.split())
    if not organisation:
        raise Invalid("Which organisation? `person sam@council.example org Demo Council`.")
    if len(organisation) > MAX_ORGANISATION_CHARS:
        raise Invalid(f"An organisation's name is at most {MAX_ORGANISATION_CHARS} characters.")
    person = resolve_known_lead(ctx.session, who, ctx.plan.id)
    was = person.organisation
    person.organisation = organisation
    return person, was
