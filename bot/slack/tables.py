"""The tables Slack's installation and OAuth state stores (slack_sdk's SQLAlchemy stores) keep
when the bot is installed in many workspaces: defined once here, created by the bot's migration
0020 (never by their `create_all`), with token columns wide enough for tokens encrypted at rest
(bot/slack/installations.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, MetaData, String, Table
from sqlalchemy.sql import func

SLACK_TOKEN_CHARS = 1000


def slack_installations_table(metadata: MetaData, name: str = "slack_installations") -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("enterprise_url", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(SLACK_TOKEN_CHARS)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(SLACK_TOKEN_CHARS)),
        Column("bot_token_expires_at", DateTime),
        Column("user_id", String(32), nullable=False),
        Column("user_token", String(SLACK_TOKEN_CHARS)),
        Column("user_scopes", String(1000)),
        Column("user_refresh_token", String(SLACK_TOKEN_CHARS)),
        Column("user_token_expires_at", DateTime),
        Column("incoming_webhook_url", String(SLACK_TOKEN_CHARS)),
        Column("incoming_webhook_channel", String(200)),
        Column("incoming_webhook_channel_id", String(200)),
        Column("incoming_webhook_configuration_url", String(200)),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        Column("token_type", String(32)),
        Column("installed_at", DateTime, nullable=False, default=func.now()),
        Index(f"{name}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )


def slack_bots_table(metadata: MetaData, name: str = "slack_bots") -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(SLACK_TOKEN_CHARS)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(SLACK_TOKEN_CHARS)),
        Column("bot_token_expires_at", DateTime),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        Column("installed_at", DateTime, nullable=False, default=func.now()),
        Index(f"{name}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )


def slack_oauth_states_table(metadata: MetaData, name: str = "slack_oauth_states") -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("state", String(200), nullable=False),
        Column("expire_at", DateTime, nullable=False),
    )


def slack_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """The three tables, in `metadata`: what migration 0020 creates."""
    return (
        slack_installations_table(metadata),
        slack_bots_table(metadata),
        slack_oauth_states_table(metadata),
    )
