"""The Teams app package a tenant admin uploads: `manifest.json` and two icons, zipped.

The command list comes from the command registry, so the menu Teams shows cannot drift from
what the bot understands. Icons are drawn here (Pillow), so the package needs no binary files
in the repository.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

from bot.config import Settings
from bot.domain import UserError

# The newest published schema (not devPreview) in Microsoft's json-schemas repository that the
# tests validate against; `manifestVersion` must equal it.
MANIFEST_VERSION = "1.30"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.schema.json"
)
# That schema's limits on a bot's command menu.
MAX_COMMANDS = 12
COMMAND_TITLE_CHARS = 128
# The schema allows 4,000; the menu shows about a line, so say it in one.
COMMAND_DESCRIPTION_CHARS = 128
SCOPES = ["personal", "team", "groupChat"]

COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
COLOR_SIZE = 192
OUTLINE_SIZE = 32
ACCENT = "#1D4F91"
RAG_COLOURS = ("#D4351C", "#F47738", "#00703C")  # GOV.UK red, orange, green

# Used when WSOA_PUBLIC_URL is not set: a reserved name that can never resolve (RFC 2606).
PLACEHOLDER_URL = "https://wsoa.invalid/"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _app_version() -> str:
    try:
        return version("wsoa-bot")
    except PackageNotFoundError:
        return "0.1.0"


# Teams shows at most MAX_COMMANDS: the everyday ones come first, whatever the registry's order.
MENU_FIRST = ("help", "summary", "show", "update", "mine", "list", "history", "followup", "kpi")


def command_menu() -> list[dict[str, str]]:
    """The bot's commands as Teams shows them in its menu: the ones a lead uses most first, then
    the registry's order, as many as the schema allows (`help` lists every one)."""
    import bot.commands  # noqa: F401 (registers every verb)
    from bot.commands.registry import COMMANDS

    def rank(verb: str) -> int:
        return MENU_FIRST.index(verb) if verb in MENU_FIRST else len(MENU_FIRST)

    ordered = sorted(COMMANDS.values(), key=lambda c: rank(c.verb))
    menu = []
    for command in ordered[:MAX_COMMANDS]:
        description = f"{command.usage[0]}: {command.summary}"
        if len(description) > COMMAND_DESCRIPTION_CHARS:
            description = description[: COMMAND_DESCRIPTION_CHARS - 1].rstrip() + "…"
        menu.append({"title": command.verb[:COMMAND_TITLE_CHARS], "description": description})
    return menu


def manifest(settings: Settings) -> dict[str, Any]:
    """manifest.json for the bot registered as TEAMS_APP_ID."""
    app_id = (settings.teams_app_id or "").strip()
    if not app_id:
        raise UserError(
            "TEAMS_APP_ID is not set: set it to the application (client) ID of the bot's Entra "
            "app registration (docs/teams-setup.md, step 1)."
        )
    if not _GUID.match(app_id):
        raise UserError(f"TEAMS_APP_ID “{app_id[:60]}” is not an application ID (a GUID).")
    base = (settings.public_url or PLACEHOLDER_URL).rstrip("/") + "/"
    data: dict[str, Any] = {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": _app_version(),
        # One app, one bot: the app id is the bot's, so an admin sees one id everywhere.
        "id": app_id.lower(),
        "developer": {
            "name": "WSoA bot",
            "websiteUrl": base,
            "privacyUrl": base,
            "termsOfUseUrl": base,
        },
        "name": {"short": "WSoA", "full": "WSoA: SEND Written Statement of Action"},
        "description": {
            "short": "Run your SEND Written Statement of Action where partners already talk.",
            "full": (
                "Leads update the RAG rating and status of the actions they lead, answer advisers' "
                "follow-up questions and ask for summaries; channels get a digest before every "
                "board meeting and every week. History is append-only. The bot holds actions, "
                "ratings, notes, questions and answers only: never child-level or patient data."
            ),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id.lower(),
                "scopes": SCOPES,
                "isNotificationOnly": False,
                "supportsFiles": False,
                "commandLists": [{"scopes": SCOPES, "commands": command_menu()}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
    }
    host = urlsplit(base).hostname
    if settings.public_url and host:
        data["validDomains"] = [host]
    return data


def color_icon() -> bytes:
    """192×192, full colour: three RAG discs on the accent colour."""
    image = Image.new("RGBA", (COLOR_SIZE, COLOR_SIZE), ACCENT)
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(RAG_COLOURS):
        left = 24 + i * 50
        draw.ellipse((left, 70, left + 44, 114), fill=colour, outline="white", width=3)
    return _png(image)


def outline_icon() -> bytes:
    """32×32, white on transparent (Teams tints it): the same three discs as rings."""
    image = Image.new("RGBA", (OUTLINE_SIZE, OUTLINE_SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    for i in range(3):
        left = 2 + i * 10
        draw.ellipse((left, 11, left + 8, 19), outline=(255, 255, 255, 255), width=2)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def build_package(settings: Settings) -> bytes:
    """The zip: manifest.json, color.png and outline.png at its root."""
    data = manifest(settings)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr(COLOR_ICON, color_icon())
        archive.writestr(OUTLINE_ICON, outline_icon())
    return out.getvalue()


def write_package(settings: Settings, output: Path) -> Path:
    output.write_bytes(build_package(settings))
    return output
