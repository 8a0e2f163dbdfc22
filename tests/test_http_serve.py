"""`wsoa serve --http` under uvicorn: one port for everything, and a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from bot.runtime import Runtime
from tests.http_process import SIGNING_SECRET, serving
from tests.slack_requests import SlackClientSim
from tests.slack_standin import SlackStandIn


def test_sigterm_stops_serve_cleanly_after_answering(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    with SlackStandIn() as standin, serving(database_url, standin.url, tmp_path / "log") as bot:
        sim = SlackClientSim(bot.url, SIGNING_SECRET, standin)
        answer = sim.slash("help", user_id="U0DEMOPM")
        assert answer.status == 200 and "summary" in answer.text
        started = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        code = bot.process.wait(timeout=15)
        took = time.monotonic() - started
        log = bot.log()

    assert code == 0, log
    assert took < 10, f"stopped after {took:.1f} s"
    assert "Traceback" not in log, log
