"""RAG shown only by a cell's fill colour, as many Excel trackers do.

A fill is read by its hue: near red is red, orange or yellow is amber (trackers use yellow for
amber), green is green and blue means complete. White, greys, black and the palest tints say
nothing.
Theme colours are looked up in the workbook's own theme, so a custom palette reads as it shows.
"""

from __future__ import annotations

import colorsys
import re
from typing import Any
from xml.etree import ElementTree

from openpyxl.styles.colors import COLOR_INDEX

from bot.domain import Rag

# What a fill means: a rating, or "complete" (blue), or None.
Colour = Rag | str | None
COMPLETE = "complete"

_MIN_SATURATION = 0.15  # Excel's pale "Good" and "Bad" fills are about 0.2
_MIN_VALUE = 0.35
_DRAWINGML = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
# openpyxl numbers theme colours lt1, dk1, lt2, dk2, accent1…6, hlink, folHlink; the theme XML
# lists dk1 before lt1 and dk2 before lt2.
_THEME_ORDER = (
    "lt1",
    "dk1",
    "lt2",
    "dk2",
    "accent1",
    "accent2",
    "accent3",
    "accent4",
    "accent5",
    "accent6",
    "hlink",
    "folHlink",
)


def theme_colours(theme_xml: bytes | str | None) -> list[str]:
    """The workbook theme's colours as RRGGBB, in openpyxl's theme index order."""
    if not theme_xml:
        return []
    try:
        root = ElementTree.fromstring(theme_xml)
    except ElementTree.ParseError:
        return []
    scheme = root.find(f".//{_DRAWINGML}clrScheme")
    if scheme is None:
        return []
    found: dict[str, str] = {}
    for slot in scheme:
        name = slot.tag.removeprefix(_DRAWINGML)
        for colour in slot:
            rgb = colour.get("val") if colour.tag.endswith("srgbClr") else colour.get("lastClr")
            if rgb:
                found[name] = rgb
    return [found.get(name, "") for name in _THEME_ORDER]


def fill_meaning(fill: Any, theme: list[str]) -> Colour:
    """What a cell's fill says: Rag, COMPLETE, or None for no fill or a neutral one."""
    if fill is None or getattr(fill, "fill_type", None) in (None, "none"):
        return None
    colour = getattr(fill, "fgColor", None)
    rgb = _rgb(colour, theme)
    if rgb is None and getattr(fill, "fill_type", None) != "solid":
        rgb = _rgb(getattr(fill, "bgColor", None), theme)
    return colour_meaning(rgb) if rgb else None


def colour_meaning(rgb: str) -> Colour:
    """`FF0000` → red, `FFC000` → amber, `FFFF00` → amber, `00B050` → green, `0070C0` → done."""
    rgb = rgb[-6:]
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", rgb):
        return None
    red, green, blue = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, saturation, value = colorsys.rgb_to_hsv(red, green, blue)
    if saturation < _MIN_SATURATION or value < _MIN_VALUE:
        return None
    degrees = hue * 360
    if degrees < 15 or degrees >= 335:
        return Rag.RED
    if degrees < 70:
        return Rag.AMBER
    if degrees < 170:
        return Rag.GREEN
    if degrees < 260:
        return COMPLETE
    return None


def _rgb(colour: Any, theme: list[str]) -> str | None:
    if colour is None:
        return None
    kind = getattr(colour, "type", None)
    if kind == "rgb" and isinstance(colour.rgb, str):
        # "00000000" is openpyxl's "no colour"; an alpha of 00 on a real colour is common.
        return None if colour.rgb in ("00000000", "FFFFFFFF") else colour.rgb
    if kind == "indexed" and isinstance(colour.indexed, int):
        if 0 <= colour.indexed < len(COLOR_INDEX) and colour.indexed not in (64, 65):
            return str(COLOR_INDEX[colour.indexed])
        return None
    if kind == "theme" and isinstance(colour.theme, int):
        rgb = theme[colour.theme] if 0 <= colour.theme < len(theme) else ""
        return _tinted(rgb, float(colour.tint or 0)) if rgb else None
    return None


def _tinted(rgb: str, tint: float) -> str:
    """Excel's tint: towards white when positive, towards black when negative."""
    channels = [int(rgb[i : i + 2], 16) for i in (0, 2, 4)]
    if tint > 0:
        channels = [round(c + (255 - c) * tint) for c in channels]
    elif tint < 0:
        channels = [round(c * (1 + tint)) for c in channels]
    return "".join(f"{c:02X}" for c in channels)
