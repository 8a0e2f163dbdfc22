"""A local stand-in of GOV.UK Notify's API (`POST /v2/notifications/email`): it checks each
request's JWT the way Notify does (the client's own `decode_jwt_token`: HS256 under the key's
secret, issued within 30 seconds, issued by the key's service), records every call, and can be
told to answer the next ones with an error (429, 500, 400)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

SERVICE_ID = "6f1d1c6e-3b7a-4b8e-9d2a-0c1e2f3a4b5c"
SECRET = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
API_KEY = f"wsoa_test-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"


@dataclass
class NotifyCall:
    path: str
    body: dict[str, Any]
    status: int


@dataclass
class _State:
    calls: list[NotifyCall] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class NotifyStandIn:
    def __init__(self) -> None:
        self.state = _State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, answer = self._answer(body)
                with state.lock:
                    state.calls.append(NotifyCall(self.path, body, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                try:
                    if get_token_issuer(token) != SERVICE_ID:
                        raise TokenError("unknown issuer")
                    decode_jwt_token(token, SECRET)
                except TokenError as error:
                    return 403, _errors("AuthError", f"Invalid token: {error}")
                if self.path != "/v2/notifications/email":
                    return 404, _errors("NotFound", "no such endpoint")
                with state.lock:
                    failure = state.failures.pop(0) if state.failures else None
                if failure is not None:
                    return failure, _errors("Error", f"stand-in told to answer {failure}")
                if body.get("template_id") != TEMPLATE_ID:
                    return 400, _errors("BadRequestError", "Template not found")
                if "@" not in str(body.get("email_address", "")):
                    return 400, _errors("ValidationError", "email_address Not a valid email")
                personalisation = body.get("personalisation") or {}
                return 201, {
                    "id": str(uuid.uuid4()),
                    "reference": body.get("reference"),
                    "content": {
                        "subject": personalisation.get("subject"),
                        "body": personalisation.get("body"),
                        "from_email": "wsoa@notifications.service.gov.uk",
                    },
                    "template": {"id": TEMPLATE_ID, "version": 1, "uri": ""},
                }

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> NotifyStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *statuses: int) -> None:
        with self.state.lock:
            self.state.failures.extend(statuses)

    @property
    def calls(self) -> list[NotifyCall]:
        with self.state.lock:
            return list(self.state.calls)

    def sent_to(self, address: str) -> list[NotifyCall]:
        return [c for c in self.calls if c.status == 201 and c.body["email_address"] == address]


def _errors(kind: str, message: str) -> dict[str, Any]:
    return {"status_code": 0, "errors": [{"error": kind, "message": message}]}
