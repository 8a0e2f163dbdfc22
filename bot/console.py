"""`wsoa console`: the `/wsoa` commands at a terminal, or one a line on stdin."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.commands import execute
from bot.commands.registry import failure_apology
from bot.domain import Surface
from bot.render.text import render_text
from bot.replies import Reply
from bot.runtime import Runtime
from bot.services.context import CONSOLE_CHANNEL, Caller


def run_line(runtime: Runtime, user_id: str, line: str, plan: str | None = None) -> str:
    """One command as `user_id` (a user id on any platform, or an e-mail), in `plan` (a slug;
    optional while the database holds one plan)."""
    return rendered(reply_for(runtime, user_id, line, plan))


def rendered(reply: Reply) -> str:
    """The reply as text; if it cannot be rendered, the apology with its reference, as on
    every surface."""
    try:
        return render_text(reply)
    except Exception:
        return render_text(failure_apology("rendering a reply as text"))


def reply_for(runtime: Runtime, user_id: str, line: str, plan: str | None = None) -> Reply:
    text = line.strip()
    for invocation in ("/wsoa", "wsoa"):
        if text.lower().startswith(invocation + " ") or text.lower() == invocation:
            text = text[len(invocation) :].strip()
            break
    caller = Caller(
        user_id=user_id,
        channel_id=CONSOLE_CHANNEL,
        source=Surface.CONSOLE,
        email=user_id.lower() if "@" in user_id else None,
        plan_slug=plan,
    )
    return execute(runtime, caller, text)


def save_files(reply: Reply, folder: Path) -> list[Path]:
    """A reply's files written to `folder` (a name already there gets -1, -2 … so nothing is
    overwritten)."""
    saved = []
    for attachment in reply.files:
        name = Path(attachment.filename).name  # never a path out of the folder
        path = folder / name
        n = 0
        while path.exists():
            n += 1
            path = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        path.write_bytes(attachment.data)
        saved.append(path)
    return saved


def run_console(
    runtime: Runtime,
    user_id: str,
    lines: Iterable[str] | None = None,
    out: TextIO = sys.stdout,
    banner: str | None = None,
    plan: str | None = None,
    folder: Path | None = None,
) -> None:
    """Each line's reply printed; its files (a board pack, a chart) saved in `folder`, the
    working folder unless given, and where they went said."""
    interactive = lines is None and sys.stdin.isatty()
    if interactive and banner:
        print(banner, file=out)
    source: Iterable[str] = lines if lines is not None else _stdin_lines(interactive)
    for line in source:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.strip().lower() in ("quit", "exit"):
            break
        reply = reply_for(runtime, user_id, line, plan)
        text = rendered(reply)
        for path in save_files(reply, folder or Path.cwd()):
            text += f"\nSaved {path.name} to {path.resolve()}"
        print(text, file=out, flush=True)


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
