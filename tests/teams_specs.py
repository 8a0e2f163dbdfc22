"""Where Microsoft's published schemas are: `shared/specs/teams/` beside the checkout (CI), or
beside the main checkout when this is a git worktree of it. Tests skip, saying so, without them."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    found = [ROOT.parent / "shared"]
    dot_git = ROOT / ".git"
    if dot_git.is_file():
        # A worktree's `.git` names `<main>/.git/worktrees/<name>`.
        pointer = dot_git.read_text(encoding="utf-8").strip().removeprefix("gitdir:").strip()
        found.append(Path(pointer).resolve().parents[2].parent / "shared")
    return found


def specs_dir() -> Path:
    for shared in _candidates():
        if (shared / "specs" / "teams").is_dir():
            return shared / "specs" / "teams"
    pytest.skip(
        "Microsoft's schemas are not here: shared/specs/teams/ is expected beside the checkout "
        f"(looked in {', '.join(str(c) for c in _candidates())})"
    )


@cache
def _card_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (specs_dir() / "adaptive-card-1.5.0.schema.json").read_text(encoding="utf-8")
    )
    return loaded


def card_validator() -> Any:
    from jsonschema import Draft6Validator

    return Draft6Validator(_card_schema())


def without_msteams(card: dict[str, Any]) -> dict[str, Any]:
    """The card as the 1.5 schema sees it: Teams' own `msteams` property is outside it."""
    stripped = copy.deepcopy(card)
    stripped.pop("msteams", None)
    return stripped


_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def card_errors(card: dict[str, Any]) -> list[str]:
    """Why a card is not a valid Adaptive Card of version 1.5 or lower (empty when it is)."""
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in card_validator().iter_errors(without_msteams(card))
    ]
    version = _VERSION.match(str(card.get("version", "")))
    if not version or (int(version[1]), int(version[2])) > (1, 5):
        problems.append(f"version {card.get('version')!r} is not 1.5 or lower")
    return problems
