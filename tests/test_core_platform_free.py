"""The core speaks no platform: services, commands, plans, board packs, the store and the
scheduler hold no Slack or Teams ids, mention syntax or message formats, and import no adapter.
What a platform's user ids and mentions look like, and how its people are reached, each adapter
declares to bot/platforms.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import platforms
from bot.addresses import Address

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "bot/services",
    "bot/commands",
    "bot/plans",
    "bot/boardpack",
    "scheduler",
    "bot/domain.py",
    "bot/replies.py",
    "bot/presenters.py",
    "bot/impact.py",
    "bot/runtime.py",
    "bot/privacy.py",
    "bot/platforms.py",
    "bot/addresses.py",
    "bot/senders.py",
    "bot/store/models.py",
    "bot/store/queries.py",
    "bot/store/db.py",
    "bot/render/layout.py",
    "bot/render/text.py",
]
# Words that name a platform as data, not behaviour: the surface a change came through
# (bot/domain.py `Surface`) and the platform an address routes to (bot/addresses.py).
ALLOWED = {("bot/domain.py", "slack"), ("bot/domain.py", "teams")}
ALLOWED |= {("bot/addresses.py", "slack"), ("bot/addresses.py", "teams")}
PLATFORM_WORDS = re.compile(r"slack|teams|\baad\b|<@|\[UW]", re.I)
ADAPTERS = re.compile(r"^(bot\.(slack|teams|http)|slack_|microsoft_teams)")


def _core_files() -> list[Path]:
    found: list[Path] = []
    for entry in CORE:
        path = ROOT / entry
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def _platform_talk(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    name = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings or (name, node.value) in ALLOWED:
                continue
            if PLATFORM_WORDS.search(node.value):
                found.append(f"{name}:{node.lineno} {node.value[:60]!r}")
        if isinstance(node, ast.ImportFrom | ast.Import):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"{name}:{node.lineno} imports {m}" for m in modules if ADAPTERS.match(m)]
    return found


def test_no_core_module_names_a_platform_or_imports_an_adapter() -> None:
    files = _core_files()
    assert len(files) > 60  # the list above still finds the core
    talk = [line for path in files for line in _platform_talk(path)]
    assert talk == []


def test_the_scan_finds_platform_talk_where_there_is_some(tmp_path: Path) -> None:
    # The check above can fail: the adapters' own declarations are what it would catch.
    talk = _platform_talk(ROOT / "bot/slack/handles.py") + _platform_talk(
        ROOT / "bot/teams/handles.py"
    )
    assert any("'slack'" in line for line in talk) and any("'teams'" in line for line in talk)


def test_each_adapter_declares_how_its_people_are_named_and_reached() -> None:
    assert {p.platform for p in platforms.registered()} >= {"slack", "teams"}
    slack = platforms.handle_of("<@U012AB|sam>")
    assert slack is not None and (slack.platform, slack.user_id, slack.vouched) == (
        "slack",
        "U012AB",
        True,
    )
    teams = platforms.handle_of("6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B")
    assert teams is not None and (teams.user_id, teams.vouched) == (
        "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        False,
    )
    assert platforms.handle_of("Sam Jones") is None
    assert platforms.address_for(slack) == Address(platform="slack", conversation="U012AB")
    # An AAD id alone opens no Teams chat: the bot needs the person's `29:` id and region.
    assert platforms.address_for(teams) is None
