"""Request bodies bounded before they are read: an ASGI middleware in front of every route."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Any route not named: Teams' activities are at most about 100 KB (its message limit) plus the
# envelope; a megabyte is generous for anything a chat platform posts.
DEFAULT_MAX_BODY = 1024 * 1024
TOO_LARGE = "Request body too large.\n"


class LimitBody:
    """Answers 413 once a body passes its route's cap, without reading the rest: at once when
    `Content-Length` says so, otherwise as soon as the bytes received pass the cap (a missing or
    lying `Content-Length`, chunked bodies). Memory is bounded by the cap, whatever is sent."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_path: Mapping[str, int] | None = None,
        default: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.per_path = dict(per_path or {})
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.per_path.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    # Raised inside the route: Starlette turns it into the answer, no traceback.
                    raise HTTPException(status_code=413, detail=TOO_LARGE.strip())
            return message

        await self.app(scope, bounded_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server (h11/httptools) has already refused a non-numeric one.
            return int(value) if value.isdigit() else None
    return None
