"""Drive a running app the way Slack does: signed HTTP requests to `POST /slack/events`.

Payload shapes follow Slack's documentation (slash commands, `block_actions`,
`view_submission`, Events API `event_callback`, `url_verification`), so the app's real
signature check and Bolt's real parsing are exercised. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

if TYPE_CHECKING:
    from tests.slack_standin import SlackStandIn

Payload = dict[str, Any]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to prove a request is theirs (v0 HMAC-SHA256 signature)."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def static_select_state(value: str | None, text: str | None = None) -> Payload:
    """A `state.values` entry for a static select; None means nothing is chosen."""
    if value is None:
        return {"type": "static_select", "selected_option": None}
    label = {"type": "plain_text", "text": text or value, "emoji": True}
    return {"type": "static_select", "selected_option": {"text": label, "value": value}}


def text_input_state(value: str | None) -> Payload:
    """A `state.values` entry for a plain text input; Slack sends None when left empty."""
    return {"type": "plain_text_input", "value": value}


def users_select_state(user_id: str | None) -> Payload:
    return {"type": "users_select", "selected_user": user_id}


def datepicker_state(date: str | None) -> Payload:
    """`date` is Slack's `YYYY-MM-DD`."""
    return {"type": "datepicker", "selected_date": date}


@dataclass(frozen=True)
class HttpResult:
    """What the app answered. `headers` keys are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class SlackClientSim:
    """Sends the requests Slack would send to the app at `base_url` (e.g. `http://host:port`).

    Every request is signed with `signing_secret` unless overridden: pass `timestamp=` to sign
    with another time (e.g. a stale one), or `signature=` to send that signature instead
    (`signature=""` sends none at all). When a `SlackStandIn` is given, `response_url`s point
    at it, so replies sent through them can be asserted; `last_response_name` names the latest.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        standin: SlackStandIn | None = None,
        *,
        path: str = "/slack/events",
        team_domain: str = "test",
        api_app_id: str = "A_WSOA",
        verification_token: str = "legacy-verification-token",
        timeout: float = 10.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        # The deprecated verification token Slack still includes; Bolt ignores it.
        self.verification_token = verification_token
        self.timeout = timeout
        self.last_response_name: str | None = None
        self._counter = itertools.count(1)

    # ----- what Slack sends

    def slash(
        self,
        text: str,
        user_id: str = "U_ADMIN",
        channel_id: str = "C_BOARD",
        command: str = "/wsoa",
        team_id: str = "T1",
        *,
        trigger_id: str | None = None,
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> HttpResult:
        """A slash command, form-encoded with the fields Slack documents."""
        fields = {
            "token": self.verification_token,
            "team_id": team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url("slash"),
            "trigger_id": trigger_id or _trigger_id(),
        }
        body = urlencode(fields).encode()
        return self.post(body, FORM, signature=signature, timestamp=timestamp)

    def block_action(
        self,
        action_id: str,
        value: str,
        user_id: str,
        channel_id: str | None = None,
        view: Payload | None = None,
        trigger_id: str | None = None,
        message: Payload | None = None,
        *,
        block_id: str = "actions",
        action_type: str = "button",
        team_id: str = "T1",
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> HttpResult:
        """A click on an interactive element, in a message (`channel_id`) or a view (`view`).

        With `channel_id` but no `message`, the click is on an ephemeral message: Slack then
        sends no message body, only the container. `action_type="static_select"` sends `value`
        as the chosen option instead of a button value.
        """
        payload: Payload = {
            "type": "block_actions",
            "user": _user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": _container(channel_id, view, message),
            "trigger_id": trigger_id or _trigger_id(),
            "team": {"id": team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [_action(action_id, value, block_id, action_type)],
        }
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
        if view is not None:
            payload["view"] = view
        else:
            # Slack gives a response_url for clicks in messages, not in views.
            payload["response_url"] = self._response_url("action")
        if message is not None:
            payload["message"] = message
        return self._post_payload(payload, signature=signature, timestamp=timestamp)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Payload]],
        user_id: str,
        private_metadata: str = "",
        *,
        view_id: str | None = None,
        external_id: str = "",
        team_id: str = "T1",
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> HttpResult:
        """A modal's submit button. `values` is `{block_id: {action_id: <state entry>}}`."""
        view_id = view_id or f"V_SIM{next(self._counter):06d}"
        view: Payload = {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "WSoA", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": external_id,
            "app_installed_team_id": team_id,
            "bot_id": self.standin.bot_id if self.standin is not None else "B_BOT",
        }
        payload: Payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": self.team_domain},
            "user": _user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": _trigger_id(),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload, signature=signature, timestamp=timestamp)

    def event(
        self,
        event: Payload,
        *,
        team_id: str = "T1",
        event_id: str | None = None,
        retry_num: int | None = None,
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> HttpResult:
        """An Events API delivery. `retry_num` adds Slack's redelivery headers."""
        now = int(time.time())
        envelope: Payload = {
            "token": self.verification_token,
            "team_id": team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._counter):08d}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": self._bot_user_id(),
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "timeout"}
        body = json.dumps(envelope).encode()
        return self.post(body, JSON, signature=signature, timestamp=timestamp, headers=headers)

    def url_verification(
        self, challenge: str, *, signature: str | None = None, timestamp: int | None = None
    ) -> HttpResult:
        """The handshake Slack performs when the Request URL is saved."""
        body = json.dumps(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        return self.post(body, JSON, signature=signature, timestamp=timestamp)

    # ----- transport

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        signature: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        """POST a raw body, signed; 4xx and 5xx are returned, not raised."""
        all_headers = {"Content-Type": content_type, **sign(self.signing_secret, body, timestamp)}
        if signature == "":
            del all_headers["X-Slack-Signature"]
        elif signature is not None:
            all_headers["X-Slack-Signature"] = signature
        all_headers.update(headers or {})
        request = Request(self.url, data=body, headers=all_headers, method="POST")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return _result(response.status, response.headers.items(), response.read())
        except HTTPError as error:
            return _result(error.code, error.headers.items(), error.read())

    def _post_payload(
        self, payload: Payload, *, signature: str | None, timestamp: int | None
    ) -> HttpResult:
        # Interactivity payloads arrive as one form field holding JSON.
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, FORM, signature=signature, timestamp=timestamp)

    def _response_url(self, kind: str) -> str:
        name = f"{kind}-{next(self._counter)}"
        self.last_response_name = name
        if self.standin is None:
            return f"https://hooks.slack.com/commands/T1/{name}/{secrets.token_hex(12)}"
        return self.standin.response_url(name)

    def _bot_user_id(self) -> str:
        return self.standin.bot_user_id if self.standin is not None else "U_BOT"


def _result(status: int, headers: Any, body: bytes) -> HttpResult:
    return HttpResult(status=status, headers={k.lower(): v for k, v in headers}, body=body)


def _trigger_id() -> str:
    return f"{int(time.time() * 1000)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def _channel_name(channel_id: str) -> str:
    # Slack names DMs and private groups generically in slash command payloads.
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id.lower()


def _user(user_id: str, team_id: str) -> Payload:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _container(channel_id: str | None, view: Payload | None, message: Payload | None) -> Payload:
    if view is not None:
        return {"type": "view", "view_id": view.get("id", "")}
    message_ts = message.get("ts") if message is not None else f"{int(time.time())}.000100"
    return {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": message is None,
    }


def _action(action_id: str, value: str, block_id: str, action_type: str) -> Payload:
    action: Payload = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "static_select":
        action["selected_option"] = static_select_state(value)["selected_option"]
    else:
        action["value"] = value
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
    return action
