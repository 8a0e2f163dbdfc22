"""`POST /api/messages`: Teams, as a part of the one HTTP app (`bot.http.app.build_http_app`,
`parts=`), beside `GET /healthz` and Slack's `POST /slack/events` on the same port.

- The Bot Framework token is verified by the Teams SDK's own `InboundActivityTokenValidator`
  (issuer, audience = TEAMS_APP_ID, RS256 signature, expiry, the `serviceurl` claim equal to
  the activity's). It is built without network; its signing keys are fetched on the first
  request and cached (PyJWT's `PyJWKClient`). Nothing is parsed before the Authorization header
  is seen, and nothing runs before the token is verified. In dev mode nothing is checked and
  nothing contacts Microsoft, so dev mode serves loopback only.
- The activity then runs on a worker thread under the request's deadline (`answer_within`, as
  Slack's route does): past it, the unit of work commits nothing.

The SDK's `App` is not used for inbound routing: it coerces activities into models that drop
fields the bot needs, routes before any middleware runs, and would need an event loop for
replies while the core is synchronous. The activity JSON goes to `TeamsBot.handle` instead, and
its return value is the invoke response body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
import warnings
from typing import Any, Protocol

import anyio
import anyio.to_thread
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.commands.registry import failure_apology
from bot.config import Settings
from bot.domain import UserError
from bot.http.app import Part
from bot.render import cards
from bot.runtime import TOO_LATE, answering_by
from bot.teams.app import TeamsBot

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
# Teams' own limit on a message is 100 KB; an activity several times that is not Teams'.
MAX_ACTIVITY_BYTES = 512 * 1024
READ_TIMEOUT = 10.0


class TokenValidator(Protocol):
    async def validate_token(self, raw_token: str, service_url: str | None = None) -> Any: ...


class DevModeHostError(UserError):
    pass


def check_dev_host(settings: Settings, host: str) -> None:
    """Dev mode trusts every request, so it serves loopback only."""
    if not settings.teams_dev:
        return
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DevModeHostError(
            f"WSOA_TEAMS_DEV=1 serves loopback only (127.0.0.1, ::1, localhost), not {host}: "
            "dev mode does not authenticate Teams requests. Use --host 127.0.0.1."
        )


def token_validator(settings: Settings, cloud: Any = None) -> TokenValidator | None:
    """The inbound check for production (None in dev mode). No network here."""
    if settings.teams_dev:
        return None
    if not settings.teams_app_id:
        raise ValueError("Teams needs TEAMS_APP_ID to verify inbound requests")
    with warnings.catch_warnings():
        # Importing the SDK's apps package warns about an unrelated preview feature (HTML widgets).
        warnings.simplefilter("ignore")
        from microsoft_teams.apps.auth.token_validator import InboundActivityTokenValidator

    validator: TokenValidator = InboundActivityTokenValidator(settings.teams_app_id, cloud=cloud)
    return validator


def _validate(validator: TokenValidator, token: str, service_url: str | None) -> None:
    # The SDK's validator is async but fetches signing keys with blocking I/O on first use and
    # on key rotation: run in a worker thread, on its own loop, so no request waits on it.
    asyncio.run(validator.validate_token(token, service_url))


class MessagesRoute:
    def __init__(self, bot: TeamsBot, validator: TokenValidator | None, answer_within: float):
        self.bot = bot
        self.validator = validator
        self.answer_within = answer_within

    async def endpoint(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if self.validator is not None and not authorization.startswith("Bearer "):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            with anyio.fail_after(READ_TIMEOUT):
                body = await request.body()
        except TimeoutError:
            return JSONResponse({"error": "Request body too slow"}, status_code=408)
        if len(body) > MAX_ACTIVITY_BYTES:
            return JSONResponse({"error": "Too large"}, status_code=413)
        try:
            activity = json.loads(body)
        except ValueError:
            activity = None
        if not isinstance(activity, dict):
            return JSONResponse({"error": "An activity is needed"}, status_code=400)
        if self.validator is not None:
            service_url = activity.get("serviceUrl")
            try:
                await anyio.to_thread.run_sync(
                    _validate,
                    self.validator,
                    authorization.removeprefix("Bearer "),
                    service_url if isinstance(service_url, str) else None,
                )
            except Exception as refused:
                log.info("Teams request refused: %s", str(refused)[:200])
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
        # The deadline starts once the request is known to be Teams': fetching the signing keys
        # on first use must not eat into it.
        deadline = time.monotonic() + self.answer_within
        try:
            answer = await anyio.to_thread.run_sync(self._handle, activity, deadline)
        except Exception:
            sorry = failure_apology("Teams activity")
            # Still 200: an activity answered with an error may be delivered again, and a
            # command that did its work must not run twice.
            if activity.get("type") != "invoke":
                return Response(status_code=200)
            answer = cards.invoke_message(sorry.summary)
        if answer is None:
            return Response(status_code=200)
        return JSONResponse(answer, status_code=200)

    def _handle(self, activity: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        # Teams waits up to 15 s for an invoke and retries an unanswered message: the unit of
        # work is bound by the same deadline as Slack's; past it nothing is recorded and the
        # caller is told so (the seam turns TooLate into its message).
        with answering_by(deadline) as bound:
            answer = self.bot.handle(activity)
            bound.answered = True
            return answer


def teams_part(
    bot: TeamsBot, validator: TokenValidator | None, *, answer_within: float = 10.0
) -> Part:
    """`POST /api/messages` for `build_http_app(parts=[…])`."""
    route = MessagesRoute(bot, validator, answer_within)

    def add(app: FastAPI) -> None:
        app.add_route(MESSAGES_PATH, route.endpoint, methods=["POST"])

    return add


__all__ = [
    "MAX_ACTIVITY_BYTES",
    "MESSAGES_PATH",
    "TOO_LATE",
    "DevModeHostError",
    "check_dev_host",
    "teams_part",
    "token_validator",
]
