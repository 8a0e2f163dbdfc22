"""Settings, read once from the environment and passed down; nothing else reads os.environ."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    # Slack installed in many workspaces through its OAuth flow, instead of one SLACK_BOT_TOKEN
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = Field(default="sqlite:///wsoa.db", validation_alias="WSOA_DATABASE_URL")
    timezone: str = Field(default="Europe/London", validation_alias="WSOA_TIMEZONE")
    admins: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), validation_alias="WSOA_ADMINS"
    )
    # Actions with no update for this many days are "stale" (one 6-weekly cycle).
    stale_days: int = Field(default=42, validation_alias="WSOA_STALE_DAYS")
    # "Due soon" looks this many days ahead.
    due_soon_days: int = Field(default=14, validation_alias="WSOA_DUE_SOON_DAYS")

    # Time limits wherever a socket is involved (seconds). Slack shows a failure when a request
    # is not acknowledged within 3 s: a command must answer (or give up, recording nothing)
    # within `answer_within`, which leaves room for the network.
    answer_within: float = Field(default=2.5, validation_alias="WSOA_ANSWER_WITHIN")
    # /healthz answers 503 when the database has not answered within this.
    health_timeout: float = Field(default=2.0, validation_alias="WSOA_HEALTH_TIMEOUT")
    db_connect_timeout: int = Field(default=3, validation_alias="WSOA_DB_CONNECT_TIMEOUT")
    # Any one statement, when no tighter request deadline applies (imports, ticks, migrations).
    db_statement_timeout: float = Field(default=30.0, validation_alias="WSOA_DB_STATEMENT_TIMEOUT")
    # Waiting for a free connection from the pool.
    db_pool_timeout: float = Field(default=3.0, validation_alias="WSOA_DB_POOL_TIMEOUT")
    # Threads answering HTTP requests (Slack's Bolt and the database calls run on them).
    http_threads: int = Field(default=32, validation_alias="WSOA_HTTP_THREADS")
    # Download links to kept board packs (Teams): signed with this secret, under the bot's
    # public base URL (which is also the Teams app's website, privacy and terms links).
    download_secret: str = Field(default="", validation_alias="WSOA_DOWNLOAD_SECRET")
    public_url: str = Field(default="", validation_alias="WSOA_PUBLIC_URL")

    # E-mail (bot/mail): an SMTP server and the address mail comes from, or GOV.UK Notify (its
    # API key, an e-mail template whose subject is ((subject)) and body ((body)), its API URL)
    smtp_url: str = Field(default="", validation_alias="WSOA_SMTP_URL")
    mail_from: str = Field(default="", validation_alias="WSOA_MAIL_FROM")
    notify_api_key: str = Field(default="", validation_alias="WSOA_NOTIFY_API_KEY")
    notify_template_id: str = Field(default="", validation_alias="WSOA_NOTIFY_TEMPLATE_ID")
    notify_url: str = Field(
        default="https://api.notifications.service.gov.uk", validation_alias="WSOA_NOTIFY_URL"
    )
    # Logs as one JSON object a line ("json") or plain lines ("plain")
    log_format: Literal["plain", "json"] = Field(
        default="plain", validation_alias="WSOA_LOG_FORMAT"
    )
    # GET /metrics answers only `Authorization: Bearer <this>` when it is set
    metrics_token: str = Field(default="", validation_alias="WSOA_METRICS_TOKEN")
    # Signs what the bot hands out and must recognise again (e-mails' unsubscribe links)
    secret_key: str = Field(default="", validation_alias="WSOA_SECRET_KEY")

    # Microsoft Teams: the bot's Entra app registration (application id, a client secret, and
    # the tenant it is registered in: single-tenant).
    teams_app_id: str | None = Field(default=None, validation_alias="TEAMS_APP_ID")
    teams_app_password: str | None = Field(default=None, validation_alias="TEAMS_APP_PASSWORD")
    teams_tenant_id: str | None = Field(default=None, validation_alias="TEAMS_TENANT_ID")
    # Local development and tests: nothing contacts a Microsoft service, inbound activities are
    # not authenticated (so only loopback is served). Wins over the three above when all are set.
    teams_dev: bool = Field(default=False, validation_alias="WSOA_TEAMS_DEV")
    # The instant this process takes as now (ISO 8601; UTC when no offset is given): a board
    # pack or digest rehearsed as of a given day, and a test's clock handed to a subprocess.
    # The clock then stands still: not for a bot that should keep time.
    as_of: datetime | None = Field(default=None, validation_alias="WSOA_AS_OF")

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            parts = (part.strip() for part in value.split(","))
            # Entra object ids are GUIDs, which Teams sends in lower case whatever the admin
            # centre shows; Slack ids are upper case and stay as typed.
            return frozenset(p.lower() if _GUID.match(p) else p for p in parts if p)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone, at start-up rather than at the first digest
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def slack_enabled(self) -> bool:
        """Slack is served: with one workspace's bot token, or installed in many (OAuth)."""
        return bool(self.slack_bot_token or self.slack_client_id)

    @property
    def hosting(self) -> bool:
        """A deployment that hosts many partnerships (Slack installs itself in any workspace
        that asks): a workspace or tenant bound to no plan sees none, whatever the database
        holds."""
        return bool(self.slack_client_id)

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url or self.notify_api_key)

    @property
    def teams_enabled(self) -> bool:
        """Teams is served when dev mode is on or the app registration is given."""
        return self.teams_dev or bool(self.teams_app_id)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
