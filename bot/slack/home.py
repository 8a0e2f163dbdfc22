"""The App Home tab: the core's home Reply, rendered as a Home view and published."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from slack_sdk import WebClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.commands.home import home_reply
from bot.render.blockkit import home_view
from bot.runtime import Runtime
from bot.services.context import Caller

log = logging.getLogger(__name__)


# How long a replica waits for another to finish publishing the same person's Home (seconds).
HOME_TURN_WAIT = 30.0

# Whose Home is being built now, and whether it was asked for again meanwhile.
_building: dict[tuple[int, str | None, str], bool] = {}
_building_lock = threading.Lock()


def publish_home(runtime: Runtime, client: WebClient, caller: Caller) -> None:
    """Build the person's Home from the data as it is now and publish it. At most one is built
    for a person at a time: asked for again while one is being built (a lead sending several
    updates in a row), the builder builds once more when it is done, from the data after all
    of them, and the second asker returns at once. Across replicas, builders for one person
    take turns (`one_builder_at_a_time`). The last Home published is always as new as the last
    change that asked for it."""
    key = (id(runtime), caller.workspace, caller.user_id)
    with _building_lock:
        if key in _building:
            _building[key] = True
            return
        _building[key] = False
    try:
        again = True
        while again:
            with runtime.work(caller) as ctx:
                one_builder_at_a_time(ctx.session, caller)
                view = home_view(home_reply(ctx), more_hint="/wsoa mine")
                client.views_publish(user_id=caller.user_id, view=view)
            with _building_lock:
                again = _building[key]
                _building[key] = False
    finally:
        with _building_lock:
            _building.pop(key, None)


def one_builder_at_a_time(session: Session, caller: Caller) -> None:
    """Across the replicas of one PostgreSQL database, one person's Home is built and published
    by one at a time: a lock for the rest of the transaction, which reads the Home's data and
    ends once Slack has answered the publish, so the next builder reads the data after the last
    publish and a Home built from older data never lands after a newer one. Waited for
    `HOME_TURN_WAIT` at most (a replica stuck in a publish); past it this Home is published
    anyway. SQLite is served by one process, whose builders the in-process coalescing already
    orders."""
    if session.get_bind().dialect.name != "postgresql":
        return
    name = f"home:{caller.workspace}:{caller.user_id}"
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    until = time.monotonic() + HOME_TURN_WAIT
    while not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}):
        if time.monotonic() > until:
            log.warning("published %s's Home without waiting longer for another replica", name)
            return
        time.sleep(0.05)
