"""The `/wsoa` commands. Importing this package registers every verb."""

from bot.commands import (
    boardpack,
    followups,
    kpis,
    meetings,
    priorities,
    reading,
    reports,
    updating,
)
from bot.commands.registry import COMMANDS, execute

__all__ = [
    "COMMANDS",
    "boardpack",
    "execute",
    "followups",
    "kpis",
    "meetings",
    "priorities",
    "reading",
    "reports",
    "updating",
]
