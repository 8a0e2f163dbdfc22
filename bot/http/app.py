"""The app factory: one ASGI app (FastAPI, so the Teams SDK's `FastAPIAdapter` can attach to
it) built from parts, with nothing done at import and nothing sent anywhere while building."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from slack_bolt import App

from bot.http.health import HEALTH_PATH, HealthCheck
from bot.http.limits import DEFAULT_MAX_BODY, LimitBody
from bot.http.observe import METRICS_PATH, Observe, metrics_endpoint
from bot.http.slack import EVENTS_PATH, MAX_BODY, SlackInstall, SlackRoute
from bot.runtime import Runtime

# A part adds routes (and, through `app.router.lifespan_context`, start-up work) to the app:
# Teams' `POST /api/messages`, downloads' `GET /files/{token}`.
Part = Callable[[FastAPI], None]


def build_http_app(
    runtime: Runtime,
    *,
    slack: App | None = None,
    parts: Sequence[Part] = (),
    body_limits: dict[str, int] | None = None,
) -> FastAPI:
    """`GET /healthz`, `GET /metrics`, `POST /slack/events` when `slack` is given, and whatever
    `parts` add.

    `body_limits` caps request bodies per path (bytes) beside Slack's; any other path is
    capped at `limits.DEFAULT_MAX_BODY`."""
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Worker threads for Bolt and the database calls: sized for the load, not anyio's 40.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        yield

    app = FastAPI(
        title="WSoA bot",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    health = HealthCheck(runtime, settings.health_timeout)
    # Plain Starlette routes: no FastAPI dependency resolution on the hot path.
    app.add_route(HEALTH_PATH, health.endpoint, methods=["GET"])  # HEAD comes with GET
    app.add_route(
        METRICS_PATH,
        metrics_endpoint(runtime.metrics, settings.metrics_token),
        methods=["GET"],
    )
    if slack is not None:
        app.add_route(EVENTS_PATH, SlackRoute(runtime, slack).endpoint, methods=["POST"])
        if slack.oauth_flow is not None:
            install = SlackInstall(slack)
            app.add_route(slack.oauth_flow.install_path, install.start, methods=["GET"])
            app.add_route(slack.oauth_flow.redirect_uri_path, install.finish, methods=["GET"])
    for part in parts:
        part(app)
    limits: dict[str, int] = {EVENTS_PATH: MAX_BODY, **(body_limits or {})}
    app.add_middleware(LimitBody, per_path=limits, default=DEFAULT_MAX_BODY)
    # outermost: a refused body is counted too
    app.add_middleware(Observe, metrics=runtime.metrics)
    return app
