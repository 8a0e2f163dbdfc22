"""Settings, read once from the environment and passed down; nothing else reads os.environ."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
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

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
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
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
