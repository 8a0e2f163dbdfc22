"""`wsoa teams package`: a zip a tenant admin can upload, valid against Microsoft's schema."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import bot.commands  # noqa: F401 (registers every verb)
from bot.cli import main
from bot.commands.registry import COMMANDS
from bot.config import Settings
from bot.teams import package
from tests.teams_specs import specs_dir

APP_ID = "00000000-1111-4222-8333-444444444444"


def manifest_schema(version: str) -> dict[str, Any]:
    path = specs_dir() / "manifest" / f"MicrosoftTeams.v{version}.schema.json"
    assert path.is_file(), f"{path.name} is not a published schema version"
    text = path.read_text(encoding="utf-8")
    # Python's `re` has no \p{L} (one Office add-in pattern uses it): widen it to letters, as
    # shared/specs/README.md says.
    text = text.replace(r"\\p{L}", "A-Za-z\\u00C0-\\uFFFF")
    schema: dict[str, Any] = json.loads(text)
    return schema


def assert_valid(data: dict[str, Any]) -> None:
    from jsonschema import Draft4Validator

    match = re.fullmatch(
        r"https://developer\.microsoft\.com/json-schemas/teams/v(\d+\.\d+)/"
        r"MicrosoftTeams\.schema\.json",
        data["$schema"],
    )
    assert match, data["$schema"]
    version = match[1]
    assert data["manifestVersion"] == version
    assert tuple(int(p) for p in version.split(".")) >= (1, 16)
    schema = manifest_schema(version)
    Draft4Validator.check_schema(schema)
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:200]}"
        for e in Draft4Validator(schema).iter_errors(data)
    ]
    assert errors == []


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_validates_and_holds_the_icons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("WSOA_PUBLIC_URL", "https://wsoa.torbay.example/")
    out = tmp_path / "wsoa.zip"

    assert main(["teams", "package", "-o", str(out)]) == 0

    assert "Wrote" in capsys.readouterr().out
    files = read_zip(out)
    assert set(files) == {"manifest.json", "color.png", "outline.png"}
    data = json.loads(files["manifest.json"])
    assert_valid(data)
    assert data["bots"][0]["botId"] == APP_ID
    assert {"personal", "team", "groupChat"} <= set(data["bots"][0]["scopes"])
    assert data["validDomains"] == ["wsoa.torbay.example"]
    assert data["developer"]["privacyUrl"] == "https://wsoa.torbay.example/"

    color = Image.open(io.BytesIO(files["color.png"]))
    assert (color.format, color.size) == ("PNG", (192, 192))
    outline = Image.open(io.BytesIO(files["outline.png"]))
    assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")
    raw = outline.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    # White on transparent: every visible pixel is white, and the background is transparent.
    assert all(pixel[:3] == (255, 255, 255) for pixel in pixels if pixel[3])
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)


def test_the_command_menu_is_the_registry() -> None:
    menu = package.command_menu()
    assert menu[0]["title"] == "help"
    assert len(menu) == min(len(COMMANDS), package.MAX_COMMANDS)
    assert {item["title"] for item in menu} <= set(COMMANDS)
    if len(COMMANDS) <= package.MAX_COMMANDS:
        assert {item["title"] for item in menu} == set(COMMANDS)
    for item in menu:
        assert len(item["description"]) <= package.COMMAND_DESCRIPTION_CHARS
    assert any(item["description"].startswith("update REF") for item in menu)


def test_a_menu_past_the_schema_limit_is_cut_not_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.commands.registry import Command

    many = dict(COMMANDS)
    for n in range(20):
        many[f"extra{n}"] = Command(
            verb=f"extra{n}",
            usage=["extra " + "x" * 300],
            summary="y" * 300,
            handler=lambda c, a: None,  # type: ignore[arg-type,return-value]
        )
    monkeypatch.setattr("bot.commands.registry.COMMANDS", many)
    data = package.manifest(Settings(TEAMS_APP_ID=APP_ID))
    assert len(data["bots"][0]["commandLists"][0]["commands"]) == package.MAX_COMMANDS
    assert_valid(data)


def test_without_a_public_url_the_links_are_placeholders_and_it_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    monkeypatch.delenv("WSOA_PUBLIC_URL", raising=False)
    out = tmp_path / "wsoa.zip"
    assert main(["teams", "package", "-o", str(out)]) == 0
    assert "WSOA_PUBLIC_URL is not set" in capsys.readouterr().err
    data = json.loads(read_zip(out)["manifest.json"])
    assert_valid(data)
    assert "validDomains" not in data


@pytest.mark.parametrize("app_id", ["", "not-a-guid"])
def test_without_a_valid_app_id_it_refuses_and_writes_nothing(
    app_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", app_id)
    out = tmp_path / "wsoa.zip"
    assert main(["teams", "package", "-o", str(out)]) == 2
    assert "TEAMS_APP_ID" in capsys.readouterr().err
    assert not out.exists()
