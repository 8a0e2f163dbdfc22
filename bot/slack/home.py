"""The App Home tab: the core's home Reply, rendered as a Home view and published."""

from __future__ import annotations

import threading
from typing import Any

from slack_sdk import WebClient

from bot.commands.home import home_reply
from bot.render.blockkit import home_view
from bot.runtime import Runtime
from bot.services.context import Caller


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
    of them, and the second asker returns at once. The last Home published is always as new
    as the last change that asked for it."""
    key = (id(runtime), caller.workspace, caller.user_id)
    with _building_lock:
        if key in _building:
            _building[key] = True
            return
        _building[key] = False
    try:
        again = True
        while again:
            client.views_publish(user_id=caller.user_id, view=home_for(runtime, caller))
            with _building_lock:
                again = _building[key]
                _building[key] = False
    finally:
        with _building_lock:
            _building.pop(key, None)
