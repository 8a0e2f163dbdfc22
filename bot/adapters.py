"""Every chat adapter's declarations to the core (how its platform names and reaches people):
imported by each entry point before anything reads a plan or a command."""

import bot.slack.handles
import bot.teams.handles  # noqa: F401
