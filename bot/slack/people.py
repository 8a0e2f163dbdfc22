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
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import people
from bot.services.people import Who
from bot.store.models import Identity, Person

log = logging.getLogger(__name__)

PLATFORM = "slack"


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
    """Resolve people with an e-mail but no Slack account, and name people known only by their
    Slack ID. Merging two records of one human is the people service's (`people.link`).

    Slack is asked before anything is written, so the transaction stays short however long the
    lookups take (rate limits are waited out by the client's retry handlers)."""
    report = LinkReport()
    on_slack = select(Identity.person_id).where(Identity.platform == PLATFORM)
    by_email = list(
        session.scalars(
            select(Person)
            .where(Person.id.not_in(on_slack), Person.email.is_not(None))
            .order_by(Person.id)
        ).unique()
    )
    unnamed: list[tuple[Person, str]] = [
        (person, user_id)
        for person, user_id in session.execute(
            select(Person, Identity.external_id)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.platform == PLATFORM, Person.name == Identity.external_id)
            .order_by(Person.id)
        ).unique()
    ]
    found: list[tuple[Person, SlackUser]] = []
    names: list[tuple[Person, str, SlackUser]] = []
    try:
        for person in by_email:
            assert person.email is not None
            user = user_by_email(client, person.email)
            if user is None:
                report.unresolved.append(person.email)
            else:
                found.append((person, user))
        for person, user_id in unnamed:
            named = user_by_id(client, user_id)
            if named is not None:
                names.append((person, user_id, named))
    except SlackApiError as error:
        report.stopped = f"Slack answered {error.response.get('error') or error}"
        log.warning("people linking stopped early: %s", report.stopped)

    for person, user in found:
        email = person.email
        people.link(
            session, person, Who(platform=PLATFORM, external_id=user.user_id, name=user.real_name)
        )
        report.linked.append(f"{email} → {user.user_id}")
    for person, user_id, user in names:
        if user.real_name and person.name == user_id:
            person.name = user.real_name
            report.named.append(f"{user_id} → {user.real_name}")
    session.flush()
    return report
