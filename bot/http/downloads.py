"""`GET /files/{token}`: a kept board pack behind an expiring, signed link (bot/boardpack/links.py),
for platforms that link to a file rather than upload it (Teams). A part of the one app."""

from __future__ import annotations

import anyio.to_thread
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from bot.boardpack.links import download
from bot.http.app import Part
from bot.runtime import Runtime

FILES_PATH = "/files/{token}"


def downloads(runtime: Runtime, secret: str) -> Part:
    """The route, serving only the one snapshot a valid token names."""
    if not secret:
        raise ValueError("WSOA_DOWNLOAD_SECRET is needed to serve downloads")

    async def serve_file(request: Request) -> Response:
        token = str(request.path_params["token"])
        # The snapshot is read from the database: off the event loop, like Slack's requests.
        status, headers, body = await anyio.to_thread.run_sync(
            lambda: download(runtime, token, secret=secret)
        )
        return Response(body, status_code=status, headers=dict(headers))

    def add(app: FastAPI) -> None:
        app.add_route(FILES_PATH, serve_file, methods=["GET"])

    return add
