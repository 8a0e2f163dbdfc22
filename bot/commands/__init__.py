"""The `/wsoa` commands. Importing this package registers every verb."""

from bot.commands import followups, kpis, meetings, reading, updating
from bot.commands.registry import COMMANDS, execute

__all__ = ["COMMANDS", "execute", "followups", "kpis", "meetings", "reading", "updating"]
