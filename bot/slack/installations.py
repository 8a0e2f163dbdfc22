"""Slack installed in many workspaces: Bolt's own OAuth flow, with its installations and OAuth
states kept in the bot's database (tables from the bot's migrations: bot/store/models.py) and
every token encrypted at rest under WSOA_SECRET_KEY with `cryptography`'s Fernet.

WSOA_SECRET_KEY holds one Fernet key, or several separated by commas, newest first: tokens are
encrypted with the first and read with any, so a key is rotated by putting the new one first,
running `wsoa secrets rotate` (which re-encrypts every token with it), then removing the old.
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine, MetaData, Table, select, update

from bot.addresses import Address
from bot.config import Settings
from bot.domain import UserError
from bot.replies import Reply
from bot.senders import DeliveryRefused
from bot.slack.client import make_client
from bot.slack.sender import SlackSender
from bot.slack.tables import (
    slack_bots_table,
    slack_installations_table,
    slack_oauth_states_table,
)

log = logging.getLogger(__name__)

# what marks a stored value as encrypted: a token stored before encryption was turned on (or by
# hand) reads as it is, and `wsoa secrets rotate` encrypts it
MARK = "fernet:"
INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = ("bot_token", "bot_refresh_token")
# an OAuth state is good for this long: the install takes a person a minute or two
STATE_SECONDS = 600


class BadSecretKey(UserError):
    pass


def token_cipher(secret_key: str) -> MultiFernet:
    """WSOA_SECRET_KEY's keys, newest first; refused in words when one is not a Fernet key."""
    keys = [k.strip() for k in secret_key.split(",") if k.strip()]
    if not keys:
        raise BadSecretKey(
            "WSOA_SECRET_KEY is needed to keep Slack tokens encrypted: make one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key()'
            '.decode())"`.'
        )
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as bad:
        raise BadSecretKey(
            "WSOA_SECRET_KEY must be Fernet keys (32 random bytes, URL-safe base64), "
            "separated by commas when rotating."
        ) from bad


def seal(cipher: MultiFernet, value: str | None) -> str | None:
    if value is None or value.startswith(MARK):
        return value
    return MARK + cipher.encrypt(value.encode()).decode()


def unseal(cipher: MultiFernet, value: str | None) -> str | None:
    if value is None or not value.startswith(MARK):
        return value
    try:
        return cipher.decrypt(value[len(MARK) :].encode()).decode()
    except InvalidToken:
        log.error("a stored Slack token cannot be decrypted with WSOA_SECRET_KEY's keys")
        return None


def _sealed(cipher: MultiFernet, entity: Any, fields: tuple[str, ...]) -> Any:
    found = copy.copy(entity)
    for name in fields:
        setattr(found, name, seal(cipher, getattr(found, name, None)))
    return found


def _unsealed(cipher: MultiFernet, entity: Any, fields: tuple[str, ...]) -> Any:
    if entity is None:
        return None
    for name in fields:
        setattr(entity, name, unseal(cipher, getattr(entity, name, None)))
    return entity


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store on the bot's own tables, sealing every token it writes and
    opening every token it reads."""

    def __init__(self, engine: Engine, client_id: str, cipher: MultiFernet) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.cipher = cipher

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return slack_installations_table(metadata, table_name)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return slack_bots_table(metadata, table_name)

    def create_tables(self) -> None:
        raise RuntimeError("the bot's migrations create these tables")

    def save(self, installation: Installation) -> None:
        super().save(_sealed(self.cipher, installation, INSTALLATION_TOKENS))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(_sealed(self.cipher, bot, BOT_TOKENS))

    def find_bot(self, **kwargs: Any) -> Bot | None:
        return _unsealed(self.cipher, super().find_bot(**kwargs), BOT_TOKENS)

    def find_installation(self, **kwargs: Any) -> Installation | None:
        return _unsealed(self.cipher, super().find_installation(**kwargs), INSTALLATION_TOKENS)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None, **kwargs: Any) -> None:
        """A revoked bot token (`tokens_revoked`) ends the workspace's installation too: the app
        asks for no user scopes, so an installation holds nothing but that token, and Bolt,
        which authorises from the installation first, would go on using it."""
        super().delete_bot(enterprise_id=enterprise_id, team_id=team_id, **kwargs)
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class StateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store on the bot's own table: each state is issued for one
    install and consumed (deleted) by its callback, so it works once."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(expiration_seconds=STATE_SECONDS, engine=engine)

    @classmethod
    def build_oauth_states_table(cls, metadata: MetaData, table_name: str) -> Table:
        return slack_oauth_states_table(metadata, table_name)

    def create_tables(self) -> None:
        raise RuntimeError("the bot's migrations create this table")


def rotate(engine: Engine, cipher: MultiFernet) -> int:
    """Every stored token encrypted again with the first key (and any stored in the clear,
    encrypted): how many values were written."""
    metadata = MetaData()
    written = 0
    with engine.begin() as connection:
        for table, fields in (
            (slack_installations_table(metadata), INSTALLATION_TOKENS),
            (slack_bots_table(metadata), BOT_TOKENS),
        ):
            for row in connection.execute(select(table.c.id, *(table.c[f] for f in fields))):
                values = {}
                for name in fields:
                    stored = row._mapping[name]
                    if stored is None:
                        continue
                    plain = unseal(cipher, stored)
                    if plain is None:
                        raise BadSecretKey(
                            "A stored token cannot be read with WSOA_SECRET_KEY's keys: keep "
                            "the old key in the list while rotating."
                        )
                    values[name] = MARK + cipher.encrypt(plain.encode()).decode()
                if values:
                    connection.execute(update(table).where(table.c.id == row.id).values(values))
                    written += len(values)
    return written


class InstalledSlackSender:
    """The scheduler's Slack sender when Slack is installed in many workspaces: each post goes
    with the bot token of the workspace its address names (rotated first when the app rotates
    tokens and this one is near its end)."""

    platform = "slack"
    prefix = "/wsoa "

    def __init__(self, settings: Settings, store: EncryptedInstallationStore) -> None:
        self.settings = settings
        self.store = store
        self._senders: dict[str, SlackSender] = {}
        self._lock = threading.Lock()

    def token_for(self, workspace: str) -> str | None:
        """The workspace's bot token; refreshed first (and saved, installation and bot alike,
        as Bolt does for a request) when the app rotates tokens and this one is near its end.
        Enterprise Grid installations are not looked up here (see the README)."""
        installation = self.store.find_installation(enterprise_id=None, team_id=workspace)
        if installation is None:
            return None
        if installation.bot_refresh_token and self.settings.slack_client_secret:
            rotator = TokenRotator(
                client_id=self.store.client_id,
                client_secret=self.settings.slack_client_secret,
                client=make_client(self.settings, token=""),
            )
            rotated = rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=120
            )
            if rotated is not None:
                self.store.save(rotated)
                installation = rotated
        token = installation.bot_token
        return str(token) if token else None

    def _sender(self, address: Address) -> SlackSender:
        token = self.token_for(address.workspace)
        if token is None:
            raise DeliveryRefused(
                f"the bot is not installed in the Slack workspace {address.workspace} (any more)"
            )
        with self._lock:
            # one per workspace, made again when its token has changed
            found = self._senders.get(address.workspace)
            if found is None or found.client.token != token:
                found = SlackSender(make_client(self.settings, token=token))
                self._senders[address.workspace] = found
            return found

    def send(self, reply: Reply, address: Address, key: str) -> str:
        return self._sender(address).send(reply, address, key)

    def find_sent(self, address: Address, key: str, since: datetime) -> str | None:
        return self._sender(address).find_sent(address, key, since)
