"""The Bot Connector client: how the bot posts to Teams, for replies and scheduled deliveries.

Synchronous on purpose: the core (commands, services, the scheduler's tick) is synchronous, and
the Teams SDK's own `ApiClient` is asyncio-only, bound to one event loop by its httpx pool. One
outbound path for everything keeps Teams' rules in one place:

- the service URL is kept whole, path included (`https://smba.trafficmanager.net/uk/`): it is
  regional and per conversation;
- 429 waits as `Retry-After` says; 412, 502, 503 and 504 back off and retry; a request that was
  never sent (connection refused) is retried; a POST that may have arrived is not (the scheduler's
  claims retry it on a later tick, where a duplicate can be checked for);
- fewer than 7 messages a second go to any one conversation (typing indicators count);
- every call has a timeout.

Tokens come from a `TokenProvider`: a fixed local one in dev mode (nothing contacts Microsoft),
client credentials for TEAMS_APP_ID in production (acquired on first use, cached by MSAL).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from bot.config import Settings
from bot.senders import confirm_claim, waiting

log = logging.getLogger(__name__)

DEV_TOKEN = "wsoa-dev-token"
BOT_SCOPE = "https://api.botframework.com/.default"
LOGIN_ENDPOINT = "https://login.microsoftonline.com"

# Teams allows 7 messages a second per conversation (and fewer over longer windows); one every
# 0.16 s stays under it with room for clock jitter.
MIN_INTERVAL_PER_CONVERSATION = 0.16
# Seconds: connecting, and each read or write.
CONNECT_TIMEOUT = 5.0
TIMEOUT = 10.0
RETRY_STATUSES = frozenset({412, 429, 502, 503, 504})


class TokenProvider(Protocol):
    def token(self) -> str: ...


@dataclass(frozen=True)
class DevTokens:
    """Dev mode: a fixed local token; nothing contacts a Microsoft service."""

    value: str = DEV_TOKEN

    def token(self) -> str:
        return self.value


class ClientCredentialTokens:
    """A Bot Framework token for the app registration (client credentials, single tenant).
    MSAL is built on first use, so starting the bot needs no network; it caches the token and
    renews it before expiry."""

    def __init__(self, app_id: str, password: str, tenant_id: str) -> None:
        self._app_id, self._password, self._tenant_id = app_id, password, tenant_id
        self._app: Any = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._app is None:
                from msal import ConfidentialClientApplication

                self._app = ConfidentialClientApplication(
                    self._app_id,
                    client_credential=self._password,
                    authority=f"{LOGIN_ENDPOINT}/{self._tenant_id}",
                )
            result = self._app.acquire_token_for_client(scopes=[BOT_SCOPE])
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error_description") if isinstance(result, dict) else result
            raise ConnectorError(0, f"no Bot Framework token for TEAMS_APP_ID: {error}")
        return str(token)


def token_provider(settings: Settings) -> TokenProvider:
    """Dev mode wins over credentials: with WSOA_TEAMS_DEV set nothing contacts Microsoft."""
    if settings.teams_dev:
        return DevTokens()
    if settings.teams_app_id and settings.teams_app_password and settings.teams_tenant_id:
        return ClientCredentialTokens(
            settings.teams_app_id, settings.teams_app_password, settings.teams_tenant_id
        )
    raise ValueError(
        "Teams needs TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID "
        "(or WSOA_TEAMS_DEV=1 for local development)"
    )


class ConnectorError(Exception):
    """The Bot Connector refused a call, or it kept failing after the retries."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"Bot Connector {status or 'unreachable'}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After longer than this is not waited for in-line: the call fails and the
    # scheduler retries on a later tick.
    max_retry_after: float = 60.0

    def delay(self, attempt: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.attempts or status not in RETRY_STATUSES:
            return None
        if status == 429:
            asked = retry_after(headers.get("retry-after"))
            if asked is not None:
                return asked if asked <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * random.uniform(0.8, 1.2)


def retry_after(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Pacer:
    """Spaces posts to each conversation at least `interval` apart, across threads."""

    def __init__(
        self,
        interval: float = MIN_INTERVAL_PER_CONVERSATION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, conversation_id: str) -> float:
        """Claims the conversation's next slot; returns how long to wait for it."""
        # A thread's post (`…;messageid=…`) counts against its channel.
        key = conversation_id.split(";", 1)[0]
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + self.interval
            if len(self._next) > 10_000:
                self._next = {k: v for k, v in self._next.items() if v > now}
            return slot - now


@dataclass(frozen=True)
class Member:
    """A conversation member as the Bot Connector describes them."""

    id: str
    name: str | None
    aad_object_id: str | None
    email: str | None
    user_principal_name: str | None
    tenant_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            id=str(data.get("id", "")),
            name=text("name"),
            aad_object_id=text("aadObjectId"),
            email=text("email"),
            user_principal_name=text("userPrincipalName"),
            tenant_id=text("tenantId"),
        )


@dataclass
class Connector:
    """Posts to the Bot Connector API at each conversation's own service URL."""

    tokens: TokenProvider
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pacer: Pacer = field(default_factory=Pacer)
    timeout: float = TIMEOUT
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT), transport=self.transport
        )

    def close(self) -> None:
        self._http.close()

    # --- the API -----------------------------------------------------------------------------

    def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: Mapping[str, Any],
        *,
        reply_to: str | None = None,
    ) -> str:
        """Posts an activity (a new post, or with `reply_to` a reply to that activity);
        returns its id (empty for a typing indicator, which Teams answers without one)."""
        path = f"v3/conversations/{_segment(conversation_id)}/activities"
        if reply_to:
            path += f"/{_segment(reply_to)}"
        self._wait_turn(conversation_id)
        answer = self._call("POST", service_url, path, activity)
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""

    def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: Mapping[str, Any],
    ) -> None:
        """Replaces a posted activity (a card refreshed after a button)."""
        path = f"v3/conversations/{_segment(conversation_id)}/activities/{_segment(activity_id)}"
        self._wait_turn(conversation_id)
        self._call("PUT", service_url, path, {**activity, "id": activity_id})

    def create_personal_conversation(
        self, service_url: str, *, bot_id: str, user_id: str, tenant_id: str
    ) -> str:
        """The 1:1 chat between the bot and a user (`29:…` id): Teams returns the existing one
        when there is one. Needs the app installed for that user (pre-install it)."""
        body = {
            "isGroup": False,
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        }
        answer = self._call("POST", service_url, "v3/conversations", body)
        conversation_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ConnectorError(200, "no conversation id in the answer")
        return conversation_id

    def member(self, service_url: str, conversation_id: str, user_id: str) -> Member | None:
        """A member of a conversation, with e-mail and UPN (no Graph needed); None when Teams
        says they are not a member."""
        path = f"v3/conversations/{_segment(conversation_id)}/members/{_segment(user_id)}"
        try:
            answer = self._call("GET", service_url, path, None)
        except ConnectorError as refused:
            if refused.status == 404:
                return None
            raise
        return Member.from_json(answer) if isinstance(answer, dict) else None

    # --- the plumbing ------------------------------------------------------------------------

    def _wait_turn(self, conversation_id: str) -> None:
        wait = self.pacer.reserve(conversation_id)
        if wait > 0:
            self._pause(wait)

    def _pause(self, seconds: float) -> None:
        """Wait, then confirm that a scheduled post's delivery is still this ticker's before
        sending again (bot/senders.py `confirm_claim`)."""
        with waiting():
            self.sleep(seconds)
        confirm_claim()

    def _call(
        self, method: str, service_url: str, path: str, body: Mapping[str, Any] | None
    ) -> Any:
        url = _join(service_url, path)
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self.tokens.token()}"}
            try:
                response = self._http.request(method, url, json=body, headers=headers)
            except httpx.ConnectError as error:
                # Never sent: safe to try again whatever the method.
                if attempt >= self.retry.attempts:
                    raise ConnectorError(0, str(error)) from error
                self._pause(self.retry.delay(1, 502, {}) or self.retry.base_delay)
                continue
            except httpx.TimeoutException as error:
                # A POST that timed out may have been delivered: not repeated here.
                if method == "POST" or attempt >= self.retry.attempts:
                    raise ConnectorError(0, f"timed out: {error}") from error
                self._pause(self.retry.base_delay)
                continue
            if response.status_code < 300:
                return _json(response)
            wait = self.retry.delay(attempt, response.status_code, response.headers)
            if wait is None:
                raise _refusal(response)
            log.info(
                "Bot Connector %s %s answered %s; retrying in %.1fs",
                method,
                path.split("/")[1],
                response.status_code,
                wait,
            )
            self._pause(wait)


def _segment(value: str) -> str:
    # Conversation ids hold `:`, `@`, `;` and `=`: all legal in a path segment, kept as Teams
    # sends them; only what would end the segment or the path is encoded.
    return quote(value, safe=":@;=,+$!*'()~")


def _join(service_url: str, path: str) -> str:
    """`{serviceUrl}v3/…` with the service URL's own path kept (`…/uk/v3/…`)."""
    return service_url.rstrip("/") + "/" + path


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {}


def _refusal(response: httpx.Response) -> ConnectorError:
    data = _json(response)
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else response.text[:200]
    return ConnectorError(
        response.status_code, str(message), code if isinstance(code, str) else None
    )
