"""`wsoa console`: the `/wsoa` commands at a terminal, or one a line on stdin."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from bot.commands import execute
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.context import CONSOLE_CHANNEL, Caller


def run_line(runtime: Runtime, user_id: str, line: str) -> str:
    text = line.strip()
    if text.startswith("/wsoa"):
        text = text.removeprefix("/wsoa").strip()
    caller = Caller(user_id=user_id, channel_id=CONSOLE_CHANNEL, source="console")
    return render_text(execute(runtime, caller, text))


def run_console(
    runtime: Runtime,
    user_id: str,
    lines: Iterable[str] | None = None,
    out: TextIO = sys.stdout,
    banner: str | None = None,
) -> None:
    interactive = lines is None and sys.stdin.isatty()
    if interactive and banner:
        print(banner, file=out)
    source: Iterable[str] = lines if lines is not None else _stdin_lines(interactive)
    for line in source:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.strip().lower() in ("quit", "exit"):
            break
        print(run_line(runtime, user_id, line), file=out, flush=True)


def _stdin_lines(interactive: bool) -> Iterable[str]:
    if not interactive:
        yield from sys.stdin
        return
    while True:
        try:
            yield input("wsoa> ")
        except EOFError:
            print()
            return
