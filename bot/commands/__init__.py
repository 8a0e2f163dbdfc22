"""The `/wsoa` commands. Importing this package registers every verb."""

from bot.commands import (
    boardpack,
    editing,
    followups,
    kpis,
    meetings,
    people,
    priorities,
    publishing,
    reading,
    redact,
    reports,
    updating,
)
from bot.commands.registry import COMMANDS, execute

__all__ = [
    "COMMANDS",
    "boardpack",
    "editing",
    "execute",
    "followups",
    "kpis",
    "meetings",
    "people",
    "priorities",
    "publishing",
    "reading",
    "redact",
    "reports",
    "updating",
]
