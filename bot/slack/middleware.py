"""Who is asking, worked out once per request so no listener repeats it.

Bolt passes every context key to a listener that names it, so after this middleware a listener
simply takes `caller` (and `runtime`) as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import BoltContext

from bot.addresses import Address
from bot.domain import Surface
from bot.runtime import Runtime
from bot.services.context import Caller

# How a command is typed in Slack: the hints in replies say it this way.
INVOCATION = "/wsoa "

Middleware = Callable[[BoltContext, dict[str, Any], Callable[[], None]], None]


def caller_of(context: BoltContext, body: Mapping[str, Any]) -> Caller | None:
    """The person behind a slash command, a click, a form or an event; None when there is none
    (Slack's own checks such as `url_verification`)."""
    user_id = context.user_id
    if not user_id:
        return None
    workspace = context.team_id or ""
    channel = context.channel_id
    return Caller(
        user_id=user_id,
        channel_id=channel,
        source=Surface.SLACK,
        name=_handle(body),
        platform="slack",
        workspace=workspace,
        prefix=INVOCATION,
        address=Address(platform="slack", workspace=workspace, conversation=channel)
        if channel
        else None,
    )


def _handle(body: Mapping[str, Any]) -> str | None:
    # Slash commands carry `user_name`; interactions carry `user.name` (or `user.username`).
    # Events carry no name: people linking fills real names in from users.info.
    if isinstance(body.get("user_name"), str):
        return str(body["user_name"])
    user = body.get("user")
    if isinstance(user, Mapping):
        name = user.get("name") or user.get("username")
        return str(name) if name else None
    return None


def attach_caller(runtime: Runtime) -> Middleware:
    def put_caller_in_context(
        context: BoltContext, body: dict[str, Any], next_: Callable[[], None]
    ) -> None:
        context["runtime"] = runtime
        context["caller"] = caller_of(context, body)
        next_()

    return put_caller_in_context
