"""`POST /slack/events`, guarded: nothing costly happens before the request is known to be
Slack's, and nothing runs twice.

Order: the body is read within its cap (`limits.LimitBody`) and a time limit; the timestamp
must be a number within 5 minutes and the signature must match, else 401, before any parsing;
a request seen before is answered 200 and not run; then Bolt's sync `App.dispatch` runs on a
worker thread (not through WSGI: Bolt needs only the raw body and headers, and a WSGI round
trip would rebuild an environ and give Bolt a body stream to read without a cap). Bolt keeps
its own semantics (`process_before_response=False`: the listener acknowledges, Bolt waits up to
Slack's 3 s for it). Everything after verification has one deadline, `answer_within` seconds
after arrival: past it the caller gets an apology and the work, wherever it is, commits nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.http.replay import ReplayGuard, request_key
from bot.runtime import TOO_LATE, Runtime, answering_by

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are small: a slash command is about 1 KB, and the largest, a modal's
# view_submission, carries at most 100 blocks and their state (tens of KB). 256 KB leaves room
# and refuses anything else before it costs memory.
MAX_BODY = 256 * 1024
# A client still sending a 256 KB body after this is not Slack.
READ_TIMEOUT = 10.0
# Slack refuses timestamps more than 5 minutes off; so do we (replays are kept that long).
FRESH_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def signature_problem(
    secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> str | None:
    """Why this request is not provably Slack's, or None. Looks only at two headers and the
    raw bytes: nothing is parsed before this says None."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        return "missing or non-numeric X-Slack-Request-Timestamp"
    if abs(now - int(timestamp)) > FRESH_SECONDS:
        return "stale X-Slack-Request-Timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "missing or malformed X-Slack-Signature"
    # Over the raw bytes: slack_sdk's SignatureVerifier decodes the body as UTF-8 first, which
    # raises (a 500 and a traceback) for any stranger's binary body.
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None


class SlackRoute:
    def __init__(self, runtime: Runtime, bolt: App) -> None:
        self.runtime = runtime
        self.bolt = bolt
        self.secret = runtime.settings.slack_signing_secret or ""
        self.answer_within = runtime.settings.answer_within
        self.replays = ReplayGuard(runtime)

    async def endpoint(self, request: Request) -> Response:
        deadline = time.monotonic() + self.answer_within
        try:
            with anyio.fail_after(READ_TIMEOUT):
                body = await request.body()
        except TimeoutError:
            return PlainTextResponse("Request body too slow.\n", status_code=408)
        if not self.secret:
            return PlainTextResponse("Slack is not configured.\n", status_code=404)
        problem = signature_problem(self.secret, request.headers, body, time.time())
        if problem is not None:
            # One line, no traceback: refusing strangers is routine.
            log.info("refused a request to %s: %s", EVENTS_PATH, problem)
            return PlainTextResponse("Invalid request signature.\n", status_code=401)
        key = request_key(
            request.headers["x-slack-signature"], body, request.headers.get("content-type", "")
        )
        bolt_response: BoltResponse | None = None
        with anyio.move_on_after(deadline - time.monotonic()):
            # One worker thread for the replay check and Bolt: a thread hop costs more than
            # either does for a typical command.
            bolt_response = await anyio.to_thread.run_sync(
                self._dispatch_once, key, request, body, deadline, abandon_on_cancel=True
            )
        if bolt_response is None:
            log.warning("a Slack request outlived its %g s deadline", self.answer_within)
            return too_late(body)
        return to_starlette_response(bolt_response)

    def _dispatch_once(
        self, key: str, request: Request, body: bytes, deadline: float
    ) -> BoltResponse:
        if not self.replays.first_time(key, deadline):
            log.info("answered a repeated request (%s) without running it", key[:24])
            return BoltResponse(status=200, body="")
        with answering_by(deadline) as bound:
            try:
                bolt_request = to_bolt_request(request, body)
            except (ValueError, TypeError, AttributeError, KeyError) as malformed:
                # Signed, yet not a shape Bolt can read (UnicodeDecodeError is a ValueError):
                # a client error, told in one line rather than a traceback.
                log.info("refused a signed request Bolt cannot parse: %r", malformed)
                return BoltResponse(status=400, body="Malformed request body.")
            response = self.bolt.dispatch(bolt_request)
            # Acknowledged in time: what the listener does next (the Home tab) waits on no one.
            bound.answered = time.monotonic() < deadline
            return response


def too_late(body: bytes) -> Response:
    """A slash command gets the apology in its acknowledgement; anything else a 503 (Slack
    shows its own error for a click or a form that was not acknowledged)."""
    if _is_slash_command(body):
        return JSONResponse({"response_type": "ephemeral", "text": TOO_LATE})
    return PlainTextResponse(TOO_LATE + "\n", status_code=503)


def _is_slash_command(body: bytes) -> bool:
    fields: dict[str, Any] = parse_qs(body.decode("utf-8", errors="replace"))
    return "command" in fields and "payload" not in fields


class SlackInstall:
    """`GET /slack/install` and `GET /slack/oauth_redirect`: Bolt's own OAuth flow, run on a
    worker thread (it reads and writes the installation and state stores in the database)."""

    def __init__(self, bolt: App) -> None:
        assert bolt.oauth_flow is not None
        self.flow = bolt.oauth_flow

    async def start(self, request: Request) -> Response:
        bolt_request = to_bolt_request(request, b"")
        answer = await anyio.to_thread.run_sync(self.flow.handle_installation, bolt_request)
        return to_starlette_response(answer)

    async def finish(self, request: Request) -> Response:
        bolt_request = to_bolt_request(request, b"")
        answer = await anyio.to_thread.run_sync(self.flow.handle_callback, bolt_request)
        if answer.status >= 400:
            log.info("refused a Slack install: %s", answer.status)
        return to_starlette_response(answer)
