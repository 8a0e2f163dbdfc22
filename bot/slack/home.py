"""The App Home tab: the core's home Reply, rendered as a Home view and published."""

from __future__ import annotations

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


def publish_home(runtime: Runtime, client: WebClient, caller: Caller) -> None:
    client.views_publish(user_id=caller.user_id, view=home_for(runtime, caller))
