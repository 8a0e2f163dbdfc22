"""Teams settings, read once from the environment and passed down.

Kept apart from `bot.config.Settings` until the neutral core lands; they belong there."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TeamsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # The bot's Entra app registration: its application (client) id, a client secret, and the
    # tenant it is registered in (single-tenant).
    app_id: str | None = Field(default=None, validation_alias="TEAMS_APP_ID")
    app_password: str | None = Field(default=None, validation_alias="TEAMS_APP_PASSWORD")
    tenant_id: str | None = Field(default=None, validation_alias="TEAMS_TENANT_ID")
    # Local development and tests: nothing contacts a Microsoft service. Wins over the three
    # above when all are set.
    dev: bool = Field(default=False, validation_alias="WSOA_TEAMS_DEV")
    # The bot's public base URL: the app's website, privacy and terms links.
    public_url: str | None = Field(default=None, validation_alias="WSOA_PUBLIC_URL")
