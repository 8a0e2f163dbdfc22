"""The app factory: parts add routes (Teams' `POST /api/messages`, downloads) to the one app, on
one port, under the same body limits, with nothing done at import or while building."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from fastapi import FastAPI
from microsoft_teams.apps.http.fastapi_adapter import FastAPIAdapter
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response

from bot.http.app import build_http_app
from bot.http.limits import DEFAULT_MAX_BODY
from bot.http.server import start_in_thread
from bot.runtime import Runtime


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except HTTPError as error:
        return error.code, error.read()


def declare_and_wait(port: int, path: str, length: int) -> int:
    """Announce a body of `length` bytes, send none, and read the status: a cap is enforced on
    the declaration alone (urllib would be cut off mid-body and see a broken pipe)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
        sock.sendall(head.encode())
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except HTTPError as error:
        return error.code, error.read()


def test_the_teams_sdk_attaches_its_route_to_the_one_app(runtime: Runtime) -> None:
    received: list[dict[str, Any]] = []

    async def on_activity(request: Any) -> Any:
        received.append(request["body"])
        return {"status": 200, "body": {"ok": True}}

    def teams(app: FastAPI) -> None:
        # What the Teams adapter does: `App(http_server_adapter=FastAPIAdapter(app=app))`.
        FastAPIAdapter(app=app).register_route("POST", "/api/messages", on_activity)

    server = start_in_thread(build_http_app(runtime, parts=[teams]))
    try:
        activity = {"type": "message", "text": "summary"}
        assert post(f"{server.url}/api/messages", json.dumps(activity).encode()) == (
            200,
            b'{"ok":true}',
        )
        assert received == [activity]
        assert declare_and_wait(server.port, "/api/messages", DEFAULT_MAX_BODY + 1) == 413
        assert len(received) == 1
        assert get(f"{server.url}/healthz") == (200, b"ok\n")
        assert post(f"{server.url}/slack/events", b"{}")[0] == 404  # no Slack app given
    finally:
        server.stop()


def test_a_download_route_is_a_part_too(runtime: Runtime) -> None:
    async def download(request: StarletteRequest) -> Response:
        token = request.path_params["token"]
        if token != "t0ken":
            return PlainTextResponse("No such file.\n", status_code=404)
        return Response(b"PK...", media_type="application/zip")

    def downloads(app: FastAPI) -> None:
        app.add_route("/files/{token}", download, methods=["GET"])

    server = start_in_thread(build_http_app(runtime, parts=[downloads]))
    try:
        assert get(f"{server.url}/files/t0ken") == (200, b"PK...")
        assert get(f"{server.url}/files/guess")[0] == 404
    finally:
        server.stop()
