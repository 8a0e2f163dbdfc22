"""The `/wsoa` commands. Importing this package registers every verb."""

from bot.commands import followups, meetings, reading, updating
from bot.commands.registry import COMMANDS, execute

__all__ = ["COMMANDS", "execute", "followups", "meetings", "reading", "updating"]
