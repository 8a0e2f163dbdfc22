"""Linking the plan's leads to Slack users, so they can be mentioned, reminded and recognised.

Plans name leads by e-mail (council trackers rarely hold Slack IDs); `users.lookupByEmail`
finds them. People known only by a Slack ID get their real name from `users.info`. Answers are
cached for the life of the process: Slack rate-limits both methods, and the answers rarely
change.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services.people import find_by_slack_id
from bot.store.models import Person, Update, action_leads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackUser:
    user_id: str
    real_name: str | None


@dataclass
class LinkReport:
    linked: list[str] = field(default_factory=list)  # "e-mail → U…"
    named: list[str] = field(default_factory=list)  # "U… → real name"
    unresolved: list[str] = field(default_factory=list)  # e-mails Slack does not know
    # Why linking stopped early (a missing scope, a bad token, rate limits that outlasted the
    # retries): the people not reached are left as they were, for the next start.
    stopped: str | None = None

    def lines(self) -> list[str]:
        out = [f"linked to Slack ({len(self.linked)}): {', '.join(self.linked) or '-'}"]
        if self.named:
            out.append(f"names from Slack ({len(self.named)}): {', '.join(self.named)}")
        if self.unresolved:
            out.append(f"no Slack user for ({len(self.unresolved)}): {', '.join(self.unresolved)}")
        if self.stopped:
            out.append(f"stopped early: {self.stopped}")
        return out


# (Web API base URL, key) → what Slack said; None for "no such user". Per process.
_cache: dict[tuple[str, str], SlackUser | None] = {}
_cache_lock = threading.Lock()


def forget_slack_users() -> None:
    """Empty the cache, so the next linking asks Slack again (someone joined Slack)."""
    with _cache_lock:
        _cache.clear()


def _cached(client: WebClient, key: str) -> tuple[bool, SlackUser | None]:
    with _cache_lock:
        hit = (client.base_url, key) in _cache
        return hit, _cache.get((client.base_url, key))


def _remember(client: WebClient, key: str, user: SlackUser | None) -> None:
    with _cache_lock:
        _cache[(client.base_url, key)] = user


def _slack_user(record: dict[str, Any]) -> SlackUser:
    profile = record.get("profile") or {}
    name = profile.get("real_name") or record.get("real_name") or profile.get("display_name")
    return SlackUser(user_id=str(record["id"]), real_name=str(name) if name else None)


def user_by_email(client: WebClient, email: str) -> SlackUser | None:
    """The Slack user with this e-mail, or None. Other API errors are raised."""
    hit, user = _cached(client, f"email:{email}")
    if hit:
        return user
    try:
        found: SlackUser | None = _slack_user(client.users_lookupByEmail(email=email)["user"])
    except SlackApiError as error:
        if error.response.get("error") != "users_not_found":
            raise
        found = None
    _remember(client, f"email:{email}", found)
    return found


def user_by_id(client: WebClient, user_id: str) -> SlackUser | None:
    """The Slack user with this ID, or None when Slack knows no such user."""
    hit, user = _cached(client, f"id:{user_id}")
    if hit:
        return user
    try:
        found: SlackUser | None = _slack_user(client.users_info(user=user_id)["user"])
    except SlackApiError as error:
        if error.response.get("error") != "user_not_found":
            raise
        found = None
    _remember(client, f"id:{user_id}", found)
    return found


def link_people(session: Session, client: WebClient) -> LinkReport:
    """Resolve people with an e-mail but no Slack ID, and name people known only by their ID.

    Slack is asked before anything is written, so the transaction stays short however long the
    lookups take (rate limits are waited out by the client's retry handlers)."""
    report = LinkReport()
    by_email = list(
        session.scalars(
            select(Person)
            .where(Person.slack_user_id.is_(None), Person.email.is_not(None))
            .order_by(Person.id)
        )
    )
    unnamed = list(
        session.scalars(
            select(Person)
            .where(Person.slack_user_id.is_not(None), Person.name == Person.slack_user_id)
            .order_by(Person.id)
        )
    )
    found: list[tuple[Person, SlackUser]] = []
    names: list[tuple[Person, SlackUser]] = []
    try:
        for person in by_email:
            assert person.email is not None
            user = user_by_email(client, person.email)
            if user is None:
                report.unresolved.append(person.email)
            else:
                found.append((person, user))
        for person in unnamed:
            assert person.slack_user_id is not None
            named = user_by_id(client, person.slack_user_id)
            if named is not None:
                names.append((person, named))
    except SlackApiError as error:
        report.stopped = f"Slack answered {error.response.get('error') or error}"
        log.warning("people linking stopped early: %s", report.stopped)

    for person, user in found:
        email = person.email
        _link(session, person, user)
        report.linked.append(f"{email} → {user.user_id}")
    for person, user in names:
        if user.real_name and person.name == person.slack_user_id:
            person.name = user.real_name
            report.named.append(f"{person.slack_user_id} → {user.real_name}")
    session.flush()
    return report


def _link(session: Session, person: Person, user: SlackUser) -> None:
    """Give `person` their Slack ID. When someone already has that ID (the same human, who
    used the bot or was named by ID before their e-mail reached a plan), the two become one:
    the e-mail person's actions and history move to the existing one."""
    existing = find_by_slack_id(session, user.user_id)
    if existing is None:
        person.slack_user_id = user.user_id
        if user.real_name:
            person.name = user.real_name
        return
    _merge(session, person, into=existing)
    if user.real_name and existing.name == existing.slack_user_id:
        existing.name = user.real_name


def _merge(session: Session, person: Person, into: Person) -> None:
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
    session.execute(update(Update).where(Update.person_id == person.id).values(person_id=into.id))
    email, organisation = person.email, person.organisation
    session.delete(person)
    # The unique e-mail moves only after the old row is gone.
    session.flush()
    into.email = into.email or email
    into.organisation = into.organisation or organisation
    session.flush()
    # Collections loaded before the statements above (an action's leads) are stale now.
    session.expire_all()
