"""`wsoa console`: the `/wsoa` commands at a terminal, or one a line on stdin."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from bot.commands import execute
from bot.render.text import render_text
from bot.runtime import Runtime
from bot.services.context import CONSOLE_CHANNEL, Caller


def run_line(runtime: Runtime, user_id: str, line: str, plan: str | None = None) -> str:
    """One command as `user_id` (a user id on any platform, or an e-mail), in `plan` (a slug;
    optional while the database holds one plan)."""
    text = line.strip()
    for invocation in ("/wsoa", "wsoa"):
        if text.lower().startswith(invocation + " ") or text.lower() == invocation:
            text = text[len(invocation) :].strip()
            break
    caller = Caller(
        user_id=user_id,
        channel_id=CONSOLE_CHANNEL,
        source="console",
        email=user_id.lower() if "@" in user_id else None,
        plan_slug=plan,
    )
    return render_text(execute(runtime, caller, text))


def run_console(
    runtime: Runtime,
    user_id: str,
    lines: Iterable[str] | None = None,
    out: TextIO = sys.stdout,
    banner: str | None = None,
    plan: str | None = None,
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
        print(run_line(runtime, user_id, line, plan), file=out, flush=True)


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
