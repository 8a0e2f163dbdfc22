"""The floor: the least any `/wsoa` answer can cost on this machine and this server stack.

A bare Bolt app, built with the bot's own App settings (signing-secret verification, the same
Web API client, listener threads and middleware Bolt adds by default), with one `/wsoa`
listener that only acknowledges with a short text. It is served by the bot's own
`make_http_server` (uvicorn and the bot's one HTTP app, the same guards and `/healthz`),
so what separates a command's time from the floor's is the bot's work and nothing else. Keep
the App options here in step with `bot.slack.app.build_app`, or that stops being true.

    python -m bench.floor --port 3100   (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_bolt import Ack, App

from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.app import LISTENER_THREADS
from bot.slack.client import make_client
from bot.slack.serve import make_http_server

FLOOR_TEXT = "ok"


def build_floor_app(settings: Settings) -> App:
    app = App(
        name="wsoa-floor",
        client=make_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="floor-listener"
        ),
    )

    def acknowledge(ack: Ack) -> None:
        ack(text=FLOOR_TEXT)

    app.command("/wsoa")(acknowledge)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    if not settings.slack_signing_secret or not settings.slack_bot_token:
        parser.error("SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN must be set, as for the bot")
    # `/healthz` wants a current schema, and the replay guard a table: a throwaway SQLite file.
    with tempfile.TemporaryDirectory(prefix="wsoa-floor-") as folder:
        database = f"sqlite:///{Path(folder) / 'floor.db'}"
        runtime = Runtime.start(settings.model_copy(update={"database_url": database}))
        server = make_http_server(build_floor_app(settings), runtime, args.host, args.port)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
