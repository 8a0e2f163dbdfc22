"""Every request watched: its surface, status and time counted (bot/metrics.py), and a
reference set for it, which every log line written while it is handled carries and an apology
quotes (bot/logs.py). And `GET /metrics`, the counts in Prometheus' text format."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import referenced
from bot.metrics import Metrics, surface_of

METRICS_PATH = "/metrics"


class Observe:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        surface = surface_of(scope["path"])
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with referenced():
            try:
                await self.app(scope, receive, sending)
            finally:
                self.metrics.http_requests.labels(surface, str(status)).inc()
                self.metrics.http_seconds.labels(surface).observe(time.perf_counter() - started)


def metrics_endpoint(metrics: Metrics, token: str) -> Callable[[Request], Awaitable[Response]]:
    """The route: open, or (with WSOA_METRICS_TOKEN) for `Authorization: Bearer TOKEN` only."""

    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse("Unauthorized.\n", status_code=401)
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    return endpoint
