"""One ASGI app for both platforms, on one port under uvicorn:

- `POST /api/messages`: Teams. The Bot Framework token is verified by the Teams SDK's own
  `InboundActivityTokenValidator` (issuer, audience = TEAMS_APP_ID, RS256 signature, expiry,
  the `serviceurl` claim equal to the activity's). It is built without network; its signing keys
  are fetched on the first request and cached (PyJWT's `PyJWKClient`). In dev mode nothing is
  checked and nothing contacts Microsoft.
- `GET /healthz`: 200 while the database answers, 503 otherwise, within a timeout.
- everything else: Slack's Bolt WSGI app, unchanged, through `a2wsgi` (`POST /slack/events`).

The SDK's `App` is not used for inbound routing: it coerces activities into models that drop
fields the bot needs, routes before any middleware runs, and would need an event loop for
replies while the core is synchronous. The activity JSON goes to `TeamsBot.handle` in a worker
thread instead, and its return value is the invoke response body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.render import cards
from bot.teams.app import TeamsBot
from bot.teams.settings import TeamsSettings

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
HEALTH_PATH = "/healthz"
# Teams' own limit on a message is 100 KB; an activity several times that is not Teams'.
MAX_ACTIVITY_BYTES = 512 * 1024
HEALTH_TIMEOUT = 3.0


class TokenValidator(Protocol):
    async def validate_token(self, raw_token: str, service_url: str | None = None) -> Any: ...


class DevModeHostError(ValueError):
    pass


def check_dev_host(settings: TeamsSettings, host: str) -> None:
    """Dev mode trusts every request, so it serves loopback only."""
    if not settings.dev:
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
            "dev mode does not authenticate Teams requests."
        )


def token_validator(settings: TeamsSettings, cloud: Any = None) -> TokenValidator | None:
    """The inbound check for production (None in dev mode). No network here."""
    if settings.dev:
        return None
    if not settings.app_id:
        raise ValueError("Teams needs TEAMS_APP_ID to verify inbound requests")
    with warnings.catch_warnings():
        # Importing the SDK's apps package warns about an unrelated preview feature (HTML widgets).
        warnings.simplefilter("ignore")
        from microsoft_teams.apps.auth.token_validator import InboundActivityTokenValidator

    validator: TokenValidator = InboundActivityTokenValidator(settings.app_id, cloud=cloud)
    return validator


def _validate(validator: TokenValidator, token: str, service_url: str | None) -> None:
    # The SDK's validator is async but fetches signing keys with blocking I/O on first use and
    # on key rotation: run in a worker thread, on its own loop, so no request waits on it.
    asyncio.run(validator.validate_token(token, service_url))


def build_web_app(
    *,
    teams: TeamsBot | None,
    validator: TokenValidator | None,
    slack: WSGIApplication | None = None,
    database_answers: Callable[[], bool] = lambda: True,
) -> FastAPI:
    """The app `uvicorn` serves. `validator=None` means dev mode (no check at all)."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @web.get(HEALTH_PATH)
    async def healthz() -> Response:
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(database_answers), HEALTH_TIMEOUT)
        except Exception:
            ok = False
        return PlainTextResponse("ok\n" if ok else "unavailable\n", status_code=200 if ok else 503)

    if teams is not None:
        bot = teams

        @web.post(MESSAGES_PATH)
        async def messages(request: Request) -> Response:
            authorization = request.headers.get("authorization", "")
            if validator is not None and not authorization.startswith("Bearer "):
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
            declared = int(request.headers.get("content-length") or 0)
            if declared > MAX_ACTIVITY_BYTES:
                return JSONResponse({"error": "Too large"}, status_code=413)
            body = await request.body()
            if len(body) > MAX_ACTIVITY_BYTES:
                return JSONResponse({"error": "Too large"}, status_code=413)
            try:
                activity = json.loads(body)
            except ValueError:
                activity = None
            if not isinstance(activity, dict):
                return JSONResponse({"error": "An activity is needed"}, status_code=400)
            if validator is not None:
                service_url = activity.get("serviceUrl")
                try:
                    await asyncio.to_thread(
                        _validate,
                        validator,
                        authorization.removeprefix("Bearer "),
                        service_url if isinstance(service_url, str) else None,
                    )
                except Exception as refused:
                    log.warning("Teams request refused: %s", str(refused)[:200])
                    return JSONResponse({"error": "Unauthorized"}, status_code=401)
            try:
                answer = await asyncio.to_thread(bot.handle, activity)
            except Exception:
                reference = uuid.uuid4().hex[:8]
                log.exception("Teams activity failed (reference %s)", reference)
                # Still 200: an activity answered with an error may be delivered again, and a
                # command that did its work must not run twice.
                if activity.get("type") != "invoke":
                    return Response(status_code=200)
                answer = cards.invoke_message(
                    f"Sorry, something went wrong on our side. Reference: {reference}."
                )
            if answer is None:
                return Response(status_code=200)
            return JSONResponse(answer, status_code=200)

    if slack is not None:
        from a2wsgi import WSGIMiddleware

        # Mounted last, at the root: the routes above win, and Slack sees its own paths.
        web.mount("/", WSGIMiddleware(slack))  # type: ignore[arg-type]
    return web


def serve(web: FastAPI, *, settings: TeamsSettings, host: str, port: int) -> None:
    """Runs the app under uvicorn (blocking). Refuses dev mode on a non-loopback host first."""
    check_dev_host(settings, host)
    import uvicorn

    uvicorn.run(web, host=host, port=port, log_level="info", proxy_headers=True)
