"""The store: the models, the database, and the hash chain every history row is linked into
(imported here so its session events are registered wherever the store is used)."""

from bot.store import chain as chain
