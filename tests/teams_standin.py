"""A local stand-in for the Bot Connector API (what Teams' `serviceUrl` points at), so tests
exercise the bot's real outbound HTTP path offline.

Serve it, hand its `service_url` (which carries a path, as Teams' regional ones do:
`http://127.0.0.1:PORT/uk/`) to the bot in activities, and read back every `Call`. It answers:

- `POST {serviceUrl}v3/conversations/{id}/activities` and `…/activities/{replyToId}`: a new
  activity id (201);
- `PUT {serviceUrl}v3/conversations/{id}/activities/{activityId}`: the activity replaced (200);
- `POST {serviceUrl}v3/conversations`: a 1:1 conversation created for `members[0]` (201);
- `GET {serviceUrl}v3/conversations/{id}/members/{userId}`: the member from `add_member`, with
  e-mail and UPN (200), or Teams' `MemberNotFoundInConversation` (404).

`fail_next` scripts the next calls to answer 429 with `Retry-After`, or 412/5xx. A body over
Teams' 100 KB is refused with 413, as Teams does. Only the standard library is used.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

# Teams refuses a message over 100 KB (413 RequestEntityTooLarge).
MAX_BODY_BYTES = 100 * 1024


@dataclass(frozen=True)
class Call:
    """One request the stand-in received and how it answered. `route` is the path after the
    service URL (`v3/conversations/…`); `headers` keys are lower-case."""

    method: str
    path: str
    route: str
    headers: dict[str, str]
    json: Any
    status: int
    response: Any
    at: float  # time.monotonic() on arrival: tests check that a retry waited

    @property
    def kind(self) -> str:
        """`send`, `reply`, `update`, `create_conversation`, `member` or `unknown`."""
        return _route(self.method, self.route)[0]

    @property
    def conversation_id(self) -> str | None:
        return _route(self.method, self.route)[1]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    aad_object_id: str
    email: str | None = None
    user_principal_name: str | None = None
    tenant_id: str = "tenant-1"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "tenantId": self.tenant_id,
            "userRole": "user",
        }
        if self.email is not None:
            data["email"] = self.email
        if self.user_principal_name is not None:
            data["userPrincipalName"] = self.user_principal_name
        return data


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    matches: Callable[[str, str], bool]


@dataclass
class _Answer:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


def _route(method: str, route: str) -> tuple[str, str | None]:
    parts = [unquote(p) for p in route.strip("/").split("/")] if route.strip("/") else []
    if parts[:2] != ["v3", "conversations"]:
        return "unknown", None
    rest = parts[2:]
    if not rest:
        return ("create_conversation" if method == "POST" else "unknown"), None
    conversation = rest[0]
    if len(rest) == 2 and rest[1] == "activities" and method == "POST":
        return "send", conversation
    if len(rest) == 3 and rest[1] == "activities":
        return {"POST": "reply", "PUT": "update"}.get(method, "unknown"), conversation
    if len(rest) == 3 and rest[1] == "members" and method == "GET":
        return "member", conversation
    return "unknown", conversation


class TeamsStandIn:
    """A Bot Connector double served over real HTTP on 127.0.0.1 (an ephemeral port).

    Use it as a context manager. `base_path` is the path part of the service URL (Teams' are
    regional: `/uk/`, `/emea/`, `/teams/`). When `token` is given, calls without
    `Authorization: Bearer <token>` are refused with 401."""

    def __init__(self, base_path: str = "/uk/", token: str | None = None) -> None:
        self.base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
        self.token = token
        self._calls: list[Call] = []
        self._members: dict[str, Member] = {}
        self._failures: deque[_Failure] = deque()
        # (seconds, which calls): the next matching call is answered only after that long
        self._delays: deque[tuple[float, Callable[[str, str], bool]]] = deque()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> TeamsStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # the headers and the body go as separate writes: without this, the second
            # waits for the client's delayed acknowledgement of the first (40 ms)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_PUT(self) -> None:
                standin._handle(self, "PUT")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TeamsStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def service_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # the type allows it; an AF_INET server never gives it
            host = host.decode()
        return f"http://{host}:{port}{self.base_path}"

    # --- scripting ---------------------------------------------------------------------------

    def add_member(
        self,
        user_id: str,
        name: str,
        aad_object_id: str,
        email: str | None = None,
        user_principal_name: str | None = None,
        tenant_id: str = "tenant-1",
    ) -> Member:
        member = Member(user_id, name, aad_object_id, email, user_principal_name, tenant_id)
        with self._lock:
            self._members[user_id] = member
        return member

    def fail_next(
        self,
        count: int = 1,
        status: int = HTTPStatus.TOO_MANY_REQUESTS,
        retry_after: float | None = None,
        kind: str | None = None,
    ) -> None:
        """The next `count` calls (of `kind` only, when given) answer `status`, with
        `Retry-After: retry_after` when given, and change nothing."""

        def matches(method: str, route: str) -> bool:
            return kind is None or _route(method, route)[0] == kind

        with self._lock:
            self._failures.extend(_Failure(status, retry_after, matches) for _ in range(count))

    def delay_next(self, seconds: float, kind: str | None = None) -> None:
        """The next call (of `kind` only, when given) is answered `seconds` late: a slow
        Bot Connector, so a request of the bot's stays in flight."""

        def matches(method: str, route: str) -> bool:
            return kind is None or _route(method, route)[0] == kind

        with self._lock:
            self._delays.append((seconds, matches))

    # --- reading -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    def delivered(self, conversation_id: str | None = None) -> list[Call]:
        """Activities accepted (sent or replied), in arrival order."""
        return [
            call
            for call in self.calls
            if call.kind in ("send", "reply")
            and call.ok
            and (conversation_id is None or call.conversation_id == conversation_id)
        ]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """The first `count` successful calls of `kind`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.kind == kind and c.ok]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} {kind} call(s), got {len(found)}: "
                        f"{[(c.method, c.route, c.status) for c in self._calls]}"
                    )
                self._lock.wait(left)

    # --- serving -----------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        path = urlsplit(request.path).path
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        route = path[len(self.base_path) :] if path.startswith(self.base_path) else None
        with self._lock:
            delay = next(
                (d for d in self._delays if route is not None and d[1](method, route)), None
            )
            if delay is not None:
                self._delays.remove(delay)
        if delay is not None:
            time.sleep(delay[0])
        answer = self._answer(method, route, headers, raw, body)
        call = Call(
            method=method,
            path=path,
            route=route if route is not None else path,
            headers=headers,
            json=body,
            status=answer.status,
            response=answer.payload,
            at=arrived,
        )
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()
        data = json.dumps(answer.payload).encode() if answer.payload is not None else b""
        request.send_response(answer.status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for key, value in answer.headers.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)

    def _answer(
        self, method: str, route: str | None, headers: dict[str, str], raw: bytes, body: Any
    ) -> _Answer:
        if route is None:
            # A client that dropped the service URL's path lands here.
            return _error(HTTPStatus.NOT_FOUND, "NotFound", "not under the service URL")
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return _error(HTTPStatus.UNAUTHORIZED, "Unauthorized", "missing or wrong token")
        with self._lock:
            failure = next((f for f in self._failures if f.matches(method, route)), None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            answer = _error(failure.status, "Scripted", "scripted failure")
            if failure.retry_after is not None:
                answer.headers["Retry-After"] = f"{failure.retry_after:g}"
            return answer
        if len(raw) > MAX_BODY_BYTES:
            return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "RequestEntityTooLarge", "too big")
        kind, conversation = _route(method, route)
        if kind in ("send", "reply"):
            if not isinstance(body, dict) or "type" not in body:
                return _error(HTTPStatus.BAD_REQUEST, "BadArgument", "an activity is needed")
            activity_id = f"1{next(self._ids):012d}"
            with self._lock:
                self.conversations.setdefault(conversation or "", []).append(body)
            return _Answer(HTTPStatus.CREATED, {"id": activity_id})
        if kind == "update":
            activity_id = route.rstrip("/").rsplit("/", 1)[-1]
            return _Answer(HTTPStatus.OK, {"id": unquote(activity_id)})
        if kind == "create_conversation":
            return self._create_conversation(body)
        if kind == "member":
            user_id = unquote(route.rstrip("/").rsplit("/", 1)[-1])
            with self._lock:
                member = self._members.get(user_id)
            if member is None:
                return _error(
                    HTTPStatus.NOT_FOUND,
                    "MemberNotFoundInConversation",
                    "The member could not be found.",
                )
            return _Answer(HTTPStatus.OK, member.as_json())
        return _error(HTTPStatus.NOT_FOUND, "NotFound", f"no route {method} {route}")

    def _create_conversation(self, body: Any) -> _Answer:
        members = body.get("members") if isinstance(body, dict) else None
        if not members or not isinstance(members, list) or not members[0].get("id"):
            return _error(HTTPStatus.BAD_REQUEST, "BadArgument", "members[0].id is needed")
        user_id = members[0]["id"]
        # Teams answers with the same personal conversation for the same bot and user.
        conversation_id = f"a:personal-{user_id}"
        return _Answer(HTTPStatus.CREATED, {"id": conversation_id})


def _error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, {"error": {"code": code, "message": message}})
