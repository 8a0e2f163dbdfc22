"""Who is asking, and the unit of work they are asking in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import Forbidden
from bot.services.plans import current_plan
from bot.store.models import Plan

# Where the console's commands come from: board meetings and weekly digests set up there are
# kept, but have no Slack channel to be delivered to.
CONSOLE_CHANNEL = "console"


@dataclass(frozen=True)
class Caller:
    user_id: str
    channel_id: str | None = None
    # where the request came from: slack, console, import, system
    source: str = "console"
    name: str | None = None


@dataclass
class Ctx:
    session: Session
    caller: Caller
    settings: Settings
    # when the unit of work began: what "today", "overdue" and "stale" are measured from
    now: datetime
    # the running clock, for a change's time once its lock is held (commit order)
    clock: Callable[[], datetime] | None = None

    def moment(self) -> datetime:
        return self.clock() if self.clock is not None else self.now

    @cached_property
    def plan(self) -> Plan:
        """The partnership's plan, read once per unit of work."""
        return current_plan(self.session, self.now)

    @property
    def channel(self) -> str:
        return self.caller.channel_id or CONSOLE_CHANNEL

    @property
    def is_admin(self) -> bool:
        return self.caller.user_id in self.settings.admins

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.tz).date()

    def require_admin(self, doing: str) -> None:
        if not self.is_admin:
            raise Forbidden(
                f"Only programme managers (admins) can {doing}. Ask one of them, "
                "or ask for your Slack ID to be added to WSOA_ADMINS."
            )
