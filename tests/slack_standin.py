"""A local stand-in for Slack's Web API, so tests exercise the bot's real HTTP path offline.

Point a `slack_sdk.WebClient` at it with `base_url=standin.url`; every request is recorded as a
`Call` and answered with a response shaped like Slack's. Tests can script failures (429 with
`Retry-After`, 5xx, `{"ok": false}`) to prove the bot's retry and error handling.

Besides `POST /<method>` it serves two kinds of URL that Slack hands out:
- `<url>upload/<file_id>`: the `upload_url` of the files upload v2 flow (raw bytes);
- `<url>response/<name>`: a `response_url`, recorded as method `response_url:<name>`.

Only the standard library is used, so the stand-in cannot mask a dependency problem.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

Params = dict[str, Any]
Answerer = Callable[[Params], Params]

# Slack's timestamps are seconds.microseconds strings; tests compare them, so keep them realistic.
_FIRST_TS_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100

# Block Kit limits Slack enforces server-side (https://docs.slack.dev/reference/block-kit).
_MESSAGE_MAX_BLOCKS = 50
_VIEW_MAX_BLOCKS = 100
_SECTION_TEXT_MAX = 3000
_SECTION_FIELD_MAX = 2000
_SECTION_MAX_FIELDS = 10
_HEADER_TEXT_MAX = 150
_BUTTON_TEXT_MAX = 75
_BUTTON_VALUE_MAX = 2000
_ACTIONS_MAX_ELEMENTS = 25
_CONTEXT_MAX_ELEMENTS = 10
_ID_MAX = 255
_VIEW_TITLE_MAX = 24
_PRIVATE_METADATA_MAX = 3000
_SELECT_MAX_OPTIONS = 100


@dataclass(frozen=True)
class Call:
    """One request the stand-in received, and how it answered.

    `headers` keys are lower-case (urllib and other clients disagree on capitalisation).
    `params` holds the body as sent: form values are strings (JSON-valued ones such as `blocks`
    stay encoded, see `json_param`), JSON bodies keep their structure.
    """

    method: str
    params: Params
    headers: dict[str, str]
    token: str | None = None
    status: int = 200
    response: Params | None = None
    body: bytes = b""
    at: float = 0.0  # time.monotonic() on arrival, so tests can check a retry waited

    @property
    def ok(self) -> bool:
        """True when the call was answered HTTP 200 with `"ok": true`."""
        return self.status == HTTPStatus.OK and bool(self.response and self.response.get("ok"))

    def json_param(self, name: str) -> Any:
        """A parameter decoded from JSON when it was sent form-encoded, else as sent."""
        return _maybe_json(self.params.get(name))


@dataclass(frozen=True)
class _Scripted:
    """A failure queued for the next call to a method."""

    status: int
    error: str
    retry_after: int | None = None


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    payload: Params | None = None

    @classmethod
    def of_json(cls, payload: Params, status: int = HTTPStatus.OK) -> _Reply:
        return cls(status=status, body=json.dumps(payload).encode(), payload=payload)


@dataclass
class _User:
    user_id: str
    email: str
    real_name: str


class SlackStandIn:
    """A Slack Web API double served over real HTTP on 127.0.0.1 (an ephemeral port).

    Use it as a context manager, or call `start()` and `stop()`. When `token` is given, calls
    without it are refused as Slack would (`not_authed` / `invalid_auth`). `check_blocks`
    enforces Slack's Block Kit limits (50 blocks a message, 100 a view, 3,000 characters a
    section, ...) and answers `invalid_blocks` / `invalid_arguments` like the real service.
    """

    def __init__(
        self,
        *,
        team_id: str = "T1",
        team: str = "Test",
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        app_id: str = "A_WSOA",
        token: str | None = None,
        check_blocks: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.token = token
        self.check_blocks = check_blocks
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The ts counter survives reset() so timestamps stay unique for the stand-in's lifetime.
        self._ts_counter = itertools.count(_TS_STEP_MICROS, _TS_STEP_MICROS)
        self._id_counter = itertools.count(1)
        self._handlers: dict[str, Answerer] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self._clear_state()

    def _clear_state(self) -> None:
        with self._lock:
            self._calls: list[Call] = []
            self._scripted: dict[str, deque[_Scripted]] = defaultdict(deque)
            self._users: dict[str, _User] = {}
            self._answers: dict[str, Answerer] = {}
            self._uploads: dict[str, Params] = {}

    # ----- lifecycle

    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, ending in `/`, to pass as `WebClient(base_url=...)`."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def response_url(self, name: str) -> str:
        """A `response_url` on the stand-in; posts to it are recorded as `response_url:<name>`."""
        return f"{self.url}response/{name}"

    # ----- configuration

    def add_user(self, user_id: str, email: str, real_name: str = "Test User") -> None:
        """Make `users.lookupByEmail` find this user and `users.info` describe them."""
        with self._lock:
            self._users[user_id] = _User(user_id=user_id, email=email, real_name=real_name)

    def answer_with(self, method: str, answer: Params | Answerer) -> None:
        """Replace the default answer for a method (a dict, or a function of the params).

        `"ok": true` is added unless the answer sets `ok` itself.
        """
        if callable(answer):
            answerer = answer
        else:
            fixed = dict(answer)

            def answerer(_params: Params) -> Params:
                return dict(fixed)

        with self._lock:
            self._answers[method] = answerer

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer the next `times` calls to `method` with an HTTP error.

        429 carries `Retry-After: <retry_after>` and `{"ok": false, "error": "ratelimited"}`,
        as Slack does; any other status answers a short plain-text body.
        """
        failure = _Scripted(
            status=status,
            error="ratelimited" if status == HTTPStatus.TOO_MANY_REQUESTS else "",
            retry_after=retry_after if status == HTTPStatus.TOO_MANY_REQUESTS else None,
        )
        self._queue(method, failure, times)

    def error_next(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP 200 `{"ok": false, "error": ...}`."""
        self._queue(method, _Scripted(status=HTTPStatus.OK, error=error), times)

    def _queue(self, method: str, failure: _Scripted, times: int) -> None:
        with self._lock:
            self._scripted[method].extend([failure] * times)

    def reset(self) -> None:
        """Forget calls, scripted failures, users, answers and uploads; the server keeps running."""
        self._clear_state()

    # ----- inspection

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, in arrival order (failed attempts included)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def response_posts(self, name: str | None = None) -> list[Call]:
        """Posts to any `response_url` (or to the one called `name`)."""
        prefix = "response_url:" if name is None else f"response_url:{name}"
        with self._lock:
            return [
                call
                for call in self._calls
                if call.method == prefix or (name is None and call.method.startswith(prefix))
            ]

    def uploaded(self, file_id: str) -> bytes | None:
        """The bytes posted to a file's upload_url, or None if nothing arrived."""
        with self._lock:
            data = self._uploads.get(file_id, {}).get("data")
            return cast(bytes | None, data)

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """Wait until `count` calls to `method` (failed ones included) have arrived.

        Bolt runs listeners after the acknowledgement, so replies reach the stand-in a little
        after the HTTP answer: tests should wait rather than look straight away.
        """
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            if time.monotonic() >= deadline:
                arrived = [call.method for call in self.calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, "
                    f"got {len(calls)}; all calls: {arrived}"
                )
            time.sleep(0.01)

    # ----- request handling (called from the server's threads)

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        route, query = _split_path(path)
        if route.startswith("upload/"):
            return self._handle_upload(route.removeprefix("upload/"), headers, body)
        if route.startswith("response/"):
            method = "response_url:" + unquote(route.removeprefix("response/"))
        else:
            method = route.removeprefix("api/")
        try:
            params = {**query, **_parse_body(headers.get("content-type", ""), body)}
        except ValueError:
            reply = _Reply.of_json({"ok": False, "error": "invalid_form_data"})
            return self._record(method, {}, headers, body, reply)
        reply = self._scripted_reply(method) or self._answer(method, params, headers)
        return self._record(method, params, headers, body, reply)

    def _record(
        self, method: str, params: Params, headers: dict[str, str], body: bytes, reply: _Reply
    ) -> _Reply:
        call = Call(
            method=method,
            params=params,
            headers=headers,
            token=_token_of(headers, params),
            status=int(reply.status),
            response=reply.payload,
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            self._calls.append(call)
        return reply

    def _scripted_reply(self, method: str) -> _Reply | None:
        with self._lock:
            queue = self._scripted.get(method)
            if not queue:
                return None
            failure = queue.popleft()
        if failure.status == HTTPStatus.OK:
            return _Reply.of_json({"ok": False, "error": failure.error})
        if failure.retry_after is not None:
            reply = _Reply.of_json({"ok": False, "error": failure.error}, status=failure.status)
            reply.headers["Retry-After"] = str(failure.retry_after)
            return reply
        reason = HTTPStatus(failure.status).phrase
        return _Reply(
            status=failure.status,
            body=f"{failure.status} {reason}".encode(),
            content_type="text/plain; charset=utf-8",
        )

    def _answer(self, method: str, params: Params, headers: dict[str, str]) -> _Reply:
        refusal = self._auth_refusal(method, headers, params)
        if refusal is not None:
            return _Reply.of_json({"ok": False, "error": refusal})
        with self._lock:
            answerer = self._answers.get(method) or self._handlers.get(method)
        payload = answerer(params) if answerer is not None else {}
        return _Reply.of_json({"ok": True, **payload})

    def _auth_refusal(self, method: str, headers: dict[str, str], params: Params) -> str | None:
        # response_urls carry their own secret in the URL; Slack wants no token there.
        if self.token is None or method.startswith("response_url:"):
            return None
        token = _token_of(headers, params)
        if not token:
            return "not_authed"
        return None if token == self.token else "invalid_auth"

    def _handle_upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        method = f"upload:{file_id}"
        reply = self._scripted_reply(method)
        if reply is None:
            with self._lock:
                upload = self._uploads.get(file_id)
                if upload is not None:
                    upload["data"] = body
            if upload is None:
                reply = _Reply(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")
            else:
                # files.slack.com answers the raw upload with a short plain-text receipt.
                reply = _Reply(HTTPStatus.OK, f"OK - {len(body)}".encode(), "text/plain")
        return self._record(method, {}, headers, body, reply)

    # ----- default answers, one per method

    def _next_ts(self) -> str:
        with self._lock:
            micros = next(self._ts_counter)
        return f"{_FIRST_TS_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._id_counter):08d}"

    def _auth_test(self, params: Params) -> Params:
        return {
            "url": "https://test.slack.com/",
            "team": self.team,
            "user": "wsoa",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: Params) -> Params:
        problem = self._message_problem(params)
        if problem is not None:
            return problem
        ts = self._next_ts()
        return {
            "channel": _dm_channel(str(params["channel"])),
            "ts": ts,
            "message": self._message(params, ts),
        }

    def _chat_post_ephemeral(self, params: Params) -> Params:
        problem = self._message_problem(params)
        if problem is not None:
            return problem
        if not params.get("user"):
            return _error("user_not_in_channel")
        return {"message_ts": self._next_ts()}

    def _chat_update(self, params: Params) -> Params:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not params.get("ts"):
            return _error("message_not_found")
        problem = self._blocks_problem(params.get("blocks"), _MESSAGE_MAX_BLOCKS, "invalid_blocks")
        if problem is not None:
            return problem
        ts = str(params["ts"])
        return {
            "channel": params["channel"],
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _chat_delete(self, params: Params) -> Params:
        return {"channel": params.get("channel"), "ts": params.get("ts")}

    def _message_problem(self, params: Params) -> Params | None:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return _error("no_text")
        return self._blocks_problem(params.get("blocks"), _MESSAGE_MAX_BLOCKS, "invalid_blocks")

    def _message(self, params: Params, ts: str) -> Params:
        message: Params = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": params.get("text", ""),
            "ts": ts,
            "team": self.team_id,
        }
        blocks = _maybe_json(params.get("blocks"))
        if blocks:
            message["blocks"] = blocks
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        return message

    def _views_open(self, params: Params) -> Params:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            return _error("invalid_arguments")
        return self._view_answer(params, self._next_id("V"))

    def _views_update(self, params: Params) -> Params:
        view_id = params.get("view_id") or self._next_id("V")
        return self._view_answer(params, str(view_id))

    def _views_publish(self, params: Params) -> Params:
        if not params.get("user_id"):
            return _error("invalid_arguments")
        return self._view_answer(params, self._next_id("V"))

    def _view_answer(self, params: Params, view_id: str) -> Params:
        view = _maybe_json(params.get("view"))
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        if self.check_blocks:
            messages = _view_problems(view)
            if messages:
                return _error("invalid_arguments", messages)
        return {"view": self._view(view, view_id)}

    def _view(self, view: Params, view_id: str) -> Params:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{_FIRST_TS_SECONDS}.{view_id}",
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _conversations_open(self, params: Params) -> Params:
        users = [user for user in str(params.get("users", "")).split(",") if user]
        if params.get("channel"):
            channel_id = str(params["channel"])
        elif len(users) == 1:
            channel_id = _dm_channel(users[0])
        elif users:
            channel_id = "G" + "".join(sorted(users))
        else:
            return _error("users_list_not_supplied")
        return {"no_op": False, "already_open": False, "channel": {"id": channel_id}}

    def _users_info(self, params: Params) -> Params:
        user_id = str(params.get("user", ""))
        if not user_id:
            return _error("user_not_found")
        with self._lock:
            known = self._users.get(user_id)
        # Slack describes any valid user; unknown ids get a made-up but well-formed profile.
        user = known or _User(user_id, f"{user_id.lower()}@example.org", f"Test User {user_id}")
        return {"user": self._user_record(user)}

    def _users_lookup_by_email(self, params: Params) -> Params:
        email = str(params.get("email", "")).strip().lower()
        with self._lock:
            found = [user for user in self._users.values() if user.email.lower() == email]
        if not found:
            return _error("users_not_found")
        return {"user": self._user_record(found[0])}

    def _user_record(self, user: _User) -> Params:
        name = user.email.split("@", 1)[0] if user.email else user.user_id.lower()
        return {
            "id": user.user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": user.real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "display_name": user.real_name,
                "display_name_normalized": user.real_name,
                "email": user.email,
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": _FIRST_TS_SECONDS,
        }

    def _files_get_upload_url(self, params: Params) -> Params:
        if not params.get("filename") or not params.get("length"):
            return _error("invalid_arguments")
        file_id = self._next_id("F")
        with self._lock:
            self._uploads[file_id] = {"filename": str(params["filename"]), "data": None}
        return {"upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: Params) -> Params:
        requested = _maybe_json(params.get("files"))
        if not isinstance(requested, list) or not requested:
            return _error("invalid_arguments")
        channel = params.get("channel_id")
        files = []
        for entry in requested:
            described = self._completed_file(entry, channel)
            if described is None:
                return _error("file_not_found")
            files.append(described)
        return {"files": files}

    def _completed_file(self, entry: Any, channel: Any) -> Params | None:
        file_id = entry.get("id") if isinstance(entry, dict) else None
        with self._lock:
            upload = self._uploads.get(str(file_id))
        if upload is None:
            return None
        name = upload["filename"]
        return {
            "id": file_id,
            "created": _FIRST_TS_SECONDS,
            "timestamp": _FIRST_TS_SECONDS,
            "name": name,
            "title": entry.get("title") or name,
            "mimetype": "application/octet-stream",
            "user": self.bot_user_id,
            "size": len(upload["data"] or b""),
            "url_private": f"{self.url}files/{file_id}/{name}",
            "permalink": f"https://test.slack.com/files/{self.bot_user_id}/{file_id}/{name}",
            "channels": [channel] if channel else [],
        }

    def _blocks_problem(self, raw_blocks: Any, max_blocks: int, error: str) -> Params | None:
        if not self.check_blocks or raw_blocks in (None, ""):
            return None
        blocks = _maybe_json(raw_blocks)
        if not isinstance(blocks, list):
            return _error("invalid_blocks_format")
        messages = _blocks_problems(blocks, max_blocks, "/blocks")
        return _error(error, messages) if messages else None


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the SlackStandIn attached to the server."""

    # the headers and the body go as separate writes: without this, the second can wait for
    # the client's delayed acknowledgement of the first (40 ms)
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        standin = cast(SlackStandIn, self.server.standin)  # type: ignore[attr-defined]
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            reply = standin._handle(self.path, headers, self._read_body(headers))
        except Exception as error:  # a broken answerer must show up in the test, not hang it
            reply = _Reply(HTTPStatus.INTERNAL_SERVER_ERROR, repr(error).encode(), "text/plain")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return b"".join(self._read_chunks())
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()  # the blank line after the last chunk
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output clean; the calls are recorded instead.
        return


# ----- helpers


def _split_path(path: str) -> tuple[str, Params]:
    parts = urlsplit(path)
    query = _flatten(parse_qs(parts.query, keep_blank_values=True))
    return parts.path.lstrip("/"), query


def _parse_body(content_type: str, body: bytes) -> Params:
    """Params from a form-encoded, multipart or JSON body (slack_sdk sends all three)."""
    if not body:
        return {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        return decoded
    if mime == "multipart/form-data":
        return _parse_multipart(content_type, body)
    return _flatten(parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))


def _parse_multipart(content_type: str, body: bytes) -> Params:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    params: Params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        # File parts keep their bytes; plain fields become text like the form-encoded case.
        params[str(name)] = data if part.get_filename() else data.decode("utf-8")
    return params


def _flatten(values: dict[str, list[str]]) -> Params:
    return {key: found[0] if len(found) == 1 else found for key, found in values.items()}


def _token_of(headers: dict[str, str], params: Params) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    token = params.get("token")
    return str(token) if token else None


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _dm_channel(channel: str) -> str:
    # Posting to a user id lands in the bot's DM with them, whose id Slack reports back.
    return "D" + channel if channel[:1] in ("U", "W") else channel


def _error(error: str, messages: list[str] | None = None) -> Params:
    payload: Params = {"ok": False, "error": error}
    if messages:
        payload["response_metadata"] = {"messages": messages}
    return payload


def _too_long(text: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(text, str) and len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _too_many(items: Any, limit: int, pointer: str) -> list[str]:
    if isinstance(items, list) and len(items) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"]
    return []


def _text_of(value: Any) -> Any:
    return value.get("text") if isinstance(value, dict) else None


def _view_problems(view: Params) -> list[str]:
    problems = _too_long(_text_of(view.get("title")), _VIEW_TITLE_MAX, "/view/title/text")
    problems += _too_long(_text_of(view.get("submit")), _VIEW_TITLE_MAX, "/view/submit/text")
    problems += _too_long(_text_of(view.get("close")), _VIEW_TITLE_MAX, "/view/close/text")
    problems += _too_long(view.get("callback_id"), _ID_MAX, "/view/callback_id")
    problems += _too_long(
        view.get("private_metadata"), _PRIVATE_METADATA_MAX, "/view/private_metadata"
    )
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return [*problems, "[ERROR] must be an array [json-pointer:/view/blocks]"]
    return problems + _blocks_problems(blocks, _VIEW_MAX_BLOCKS, "/view/blocks")


def _blocks_problems(blocks: list[Any], max_blocks: int, pointer: str) -> list[str]:
    problems = _too_many(blocks, max_blocks, pointer)
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, dict):
            problems.append(f"[ERROR] must be an object [json-pointer:{here}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{here}/block_id]")
            seen_ids.add(block_id)
            problems += _too_long(block_id, _ID_MAX, f"{here}/block_id")
        problems += _block_problems(block, here)
    return problems


def _block_problems(block: Params, here: str) -> list[str]:
    kind = block.get("type")
    if kind == "section":
        problems = _too_long(_text_of(block.get("text")), _SECTION_TEXT_MAX, f"{here}/text/text")
        fields = block.get("fields") or []
        problems += _too_many(fields, _SECTION_MAX_FIELDS, f"{here}/fields")
        for number, item in enumerate(fields):
            pointer = f"{here}/fields/{number}/text"
            problems += _too_long(_text_of(item), _SECTION_FIELD_MAX, pointer)
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            problems += _element_problems(accessory, f"{here}/accessory")
        return problems
    if kind == "header":
        return _too_long(_text_of(block.get("text")), _HEADER_TEXT_MAX, f"{here}/text/text")
    if kind == "actions":
        elements = block.get("elements") or []
        problems = _too_many(elements, _ACTIONS_MAX_ELEMENTS, f"{here}/elements")
        for number, element in enumerate(elements):
            if isinstance(element, dict):
                problems += _element_problems(element, f"{here}/elements/{number}")
        return problems
    if kind == "context":
        return _too_many(block.get("elements"), _CONTEXT_MAX_ELEMENTS, f"{here}/elements")
    if kind == "input" and isinstance(block.get("element"), dict):
        return _element_problems(block["element"], f"{here}/element")
    return []


def _element_problems(element: Params, here: str) -> list[str]:
    problems = _too_long(element.get("action_id"), _ID_MAX, f"{here}/action_id")
    if element.get("type") == "button":
        problems += _too_long(_text_of(element.get("text")), _BUTTON_TEXT_MAX, f"{here}/text/text")
        problems += _too_long(element.get("value"), _BUTTON_VALUE_MAX, f"{here}/value")
    if isinstance(element.get("options"), list):
        problems += _too_many(element["options"], _SELECT_MAX_OPTIONS, f"{here}/options")
    return problems
