"""Who is asking, and the unit of work they are asking in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar, overload

from sqlalchemy.orm import Session

from bot.addresses import Address, console_address
from bot.config import Settings
from bot.domain import Forbidden, Surface
from bot.services import people
from bot.services.people import Who
from bot.services.plans import NO_PLAN_YET, NoPlan, plan_for_chat, plan_named
from bot.store.models import Person, Plan

T = TypeVar("T")


class memo(Generic[T]):
    """functools.cached_property without its lock. On Python 3.11 that lock is one per
    property for every instance of the class: while one request's `ctx.plan` was being read,
    every other request's waited for it, and one that was itself waiting for a pooled
    connection held the server still until the pool gave up (3 s). Each Ctx belongs to one
    thread, so there is nothing to lock."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> memo[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> T | memo[T]:
        if instance is None:
            return self
        # kept in the instance's own dict, which Python reads before this descriptor next time
        value: T = self.compute(instance)
        instance.__dict__[self.name] = value
        return value


# Where the console's commands come from: board meetings and weekly digests set up there are
# kept, but have no chat channel to be delivered to.
CONSOLE_CHANNEL = "console"


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the adapter knows them, and where from. The person behind them is
    `Ctx.person` (found, or created on their first change, by bot/services/people.py)."""

    # the platform's user id: a Slack user id, a Teams AAD object id, or at the console
    # whatever `--user` says (a user id on any platform, or an e-mail)
    user_id: str
    channel_id: str | None = None
    # the surface the request came through
    source: Surface = Surface.CONSOLE
    name: str | None = None
    # the platform (slack, teams, console) and its workspace or tenant
    platform: str = "console"
    workspace: str = ""
    email: str | None = None
    # Teams: the Bot Connector's user id, for personal chats
    connector_id: str | None = None
    # how a command is typed where the caller is: "/wsoa " in Slack, "@WSoA " in Teams,
    # nothing at the console. Hints in replies are written with it.
    prefix: str = ""
    # the person, when the adapter has already found them
    person_id: int | None = None
    # where the request came from: replies for the channel, and what is set up there
    # (a board's digest, a weekly digest), go to this address
    address: Address | None = None
    # the plan asked for by name (`--plan` at the console and the command line); chat
    # requests reach theirs through the workspace's or channel's binding
    plan_slug: str | None = None

    @property
    def who(self) -> Who:
        return Who(
            platform=self.platform,
            external_id=self.user_id,
            workspace=self.workspace,
            email=self.email,
            name=self.name,
            connector_id=self.connector_id,
        )


@dataclass(frozen=True)
class Scope:
    """Which plan a request speaks to, who is asking and what they may do: resolved once, when
    its unit of work begins, and never changed. Resolving it reads and writes nothing else:
    a plan is never made by reading, and a person only on their first change (`Ctx.person`)."""

    # the plan, or None with why none answers here (said when a command needs one)
    plan: Plan | None
    no_plan: str | None
    # the person behind the caller, when known
    person_id: int | None
    is_admin: bool


def resolve_scope(session: Session, caller: Caller, settings: Settings, now: datetime) -> Scope:
    try:
        if caller.plan_slug or caller.platform == people.CONSOLE or not caller.workspace:
            plan: Plan | None = plan_named(session, caller.plan_slug, now)
        else:
            plan = plan_for_chat(
                session,
                caller.platform,
                caller.workspace,
                caller.channel_id,
                now,
                shared=settings.hosting,
            )
        no_plan = None
    except NoPlan as none:
        plan, no_plan = None, str(none)
    if caller.person_id is not None:
        person = session.get(Person, caller.person_id)
    else:
        person = people.find(session, caller.who)
    return Scope(
        plan=plan,
        no_plan=no_plan,
        person_id=person.id if person else None,
        is_admin=_is_admin(settings, caller, person),
    )


def _is_admin(settings: Settings, caller: Caller, person: Person | None) -> bool:
    """WSOA_ADMINS names programme managers by user id (any platform) or e-mail."""
    admins = settings.admins
    if caller.user_id in admins:
        return True
    emails = {a.lower() for a in admins if "@" in a}
    if not emails:
        return False
    email = caller.email or (person.email if person else None)
    return email is not None and email.lower() in emails


@dataclass
class Ctx:
    """One unit of work: its session, who asked and in what scope (`Ctx.open` resolves it)."""

    session: Session
    caller: Caller
    settings: Settings
    # when the unit of work began: what "today", "overdue" and "stale" are measured from
    now: datetime
    scope: Scope
    # the running clock, for a change's time once its lock is held (commit order)
    clock: Callable[[], datetime] | None = None

    @classmethod
    def open(
        cls,
        session: Session,
        caller: Caller,
        settings: Settings,
        now: datetime,
        clock: Callable[[], datetime] | None = None,
    ) -> Ctx:
        scope = resolve_scope(session, caller, settings, now)
        return cls(session, caller, settings, now, scope, clock)

    def moment(self) -> datetime:
        return self.clock() if self.clock is not None else self.now

    @property
    def plan(self) -> Plan:
        """The plan this request speaks to; a refusal saying why when none does."""
        if self.scope.plan is None:
            raise NoPlan(self.scope.no_plan or NO_PLAN_YET)
        return self.scope.plan

    @property
    def is_admin(self) -> bool:
        return self.scope.is_admin

    @property
    def channel(self) -> str:
        return self.caller.channel_id or CONSOLE_CHANNEL

    @property
    def address(self) -> Address:
        """Where the caller is: their conversation on their platform, or the console."""
        return self.caller.address or console_address(self.channel)

    @property
    def prefix(self) -> str:
        """How a command is typed where the caller is: `f"{ctx.prefix}update 11F"`."""
        return self.caller.prefix

    @memo
    def known_person(self) -> Person | None:
        """The person behind the caller, if they are known; creates nothing."""
        if self.scope.person_id is None:
            return None
        return self.session.get(Person, self.scope.person_id)

    @memo
    def person(self) -> Person:
        """The person behind the caller, for a change they make: created (and linked by e-mail)
        on first need, and what the platform says of them now (workspace, connector id, name)
        brought up to date, which a read leaves alone."""
        if self.caller.person_id is not None:
            return self.session.get_one(Person, self.caller.person_id)
        found = people.identify(self.session, self.caller.who)
        self.__dict__["known_person"] = found
        return found

    @property
    def actor_id(self) -> int | None:
        """Who a change is recorded as made by: the person behind the caller, or no one when
        the bot's own tooling acts (an import, a terminal command)."""
        return self.person.id if self.caller.source.has_person else None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.tz).date()

    def require_admin(self, doing: str) -> None:
        if not self.is_admin:
            raise Forbidden(
                f"Only programme managers (admins) can {doing}. Ask one of them, "
                "or ask for your user id or e-mail to be added to WSOA_ADMINS."
            )
