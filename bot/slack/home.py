"""The App Home tab: the core's home Reply, rendered as a Home view and published."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from bot.commands.home import home_reply
from bot.render.blockkit import home_view
from bot.runtime import Runtime
from bot.services.context import Caller

log = logging.getLogger(__name__)


def home_for(runtime: Runtime, caller: Caller) -> dict[str, Any]:
    with runtime.work(caller) as ctx:
        reply = home_reply(ctx)
    return home_view(reply, more_hint="/wsoa mine")


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
            with one_builder_at_a_time(runtime.engine, caller.workspace, caller.user_id):
                client.views_publish(user_id=caller.user_id, view=home_for(runtime, caller))
            with _building_lock:
                again = _building[key]
                _building[key] = False
    finally:
        with _building_lock:
            _building.pop(key, None)


@contextmanager
def one_builder_at_a_time(engine: Engine, workspace: str | None, user_id: str) -> Iterator[None]:
    """Across the replicas of one PostgreSQL database, one person's Home is built and published
    by one at a time: held from before the build until Slack has answered the publish, a
    transaction-scoped advisory lock makes the next builder read the data after the last
    publish, so a Home built from older data can never land after a newer one. The wait is
    bounded by the statement timeout; past it this Home is published anyway. SQLite is served
    by one process, whose builders the in-process coalescing already orders."""
    if engine.dialect.name != "postgresql":
        yield
        return
    digest = hashlib.blake2b(f"home:{workspace}:{user_id}".encode(), digest_size=8).digest()
    with engine.connect() as connection:
        try:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": int.from_bytes(digest, "big", signed=True)},
            )
        except OperationalError:  # the statement timeout, waiting
            log.warning("published %s's Home without waiting for another replica", user_id)
            connection.rollback()
        yield
    # closing the connection ended its transaction, and with it the lock
