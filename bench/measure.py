"""Timing signed slash commands over HTTP, and the processes that answer them.

A reply is visible when Slack could show it: for an answer in the acknowledgement, when the
HTTP response arrives; for an answer sent through the `response_url` instead, when the
stand-in has recorded that post. Either way the clock starts before the request is signed.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

from tests.slack_requests import SlackClientSim
from tests.slack_standin import SlackStandIn

# How long a reply may take before the request counts as failed (Slack's own limit is 3 s for
# the acknowledgement; a reply through the response_url may come later, but not this late).
REPLY_TIMEOUT = 30.0
APOLOGY = "Sorry, something went wrong"


@dataclass(frozen=True)
class Sample:
    ms: float
    ok: bool
    why: str = ""


class BenchClient(SlackClientSim):
    """A SlackClientSim whose response_urls carry a prefix, so the replies of clients running
    side by side (each with its own counter) cannot be mistaken for one another."""

    def __init__(
        self, base_url: str, signing_secret: str, standin: SlackStandIn, prefix: str
    ) -> None:
        super().__init__(base_url, signing_secret, standin, timeout=REPLY_TIMEOUT)
        self.prefix = prefix

    def _response_url(self, kind: str) -> str:
        return super()._response_url(f"{self.prefix}{kind}")


def timed_slash(
    client: BenchClient, text: str, user_id: str, channel_id: str, expect: str
) -> Sample:
    """Send `/wsoa text` and time it until the reply is visible. The reply must contain
    `expect`, so that a refusal or an apology is never timed as if it were the answer."""
    started = time.perf_counter()
    try:
        result = client.slash(text, user_id=user_id, channel_id=channel_id)
    except (OSError, URLError) as error:
        return Sample(_ms(started), False, f"no answer: {error}")
    if result.status != 200:
        return Sample(_ms(started), False, f"HTTP {result.status}")
    shown = _reply_text(result.body)
    if not shown:
        # Nothing in the acknowledgement: the reply comes through the response_url.
        name, standin = client.last_response_name, client.standin
        assert name is not None and standin is not None
        deadline = started + REPLY_TIMEOUT
        while True:
            posts = standin.response_posts(name)
            if posts:
                shown = _reply_text(posts[0].body)
                break
            if time.perf_counter() > deadline:
                return Sample(_ms(started), False, "no reply through the response_url")
            time.sleep(0.001)
    elapsed = _ms(started)
    if APOLOGY in shown:
        return Sample(elapsed, False, "the bot apologised (an error on its side)")
    if expect.lower() not in shown.lower():
        return Sample(elapsed, False, f"unexpected reply: {shown[:160]!r}")
    return Sample(elapsed, True)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _reply_text(body: bytes) -> str:
    """The text and blocks of a message payload, as one string to search; "" when none."""
    if not body.strip():
        return ""
    try:
        payload = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
    if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
        return ""
    return json.dumps(payload, ensure_ascii=False)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A server subprocess on 127.0.0.1:port, its output going to `log`."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_memory_mb(self) -> float:
        """VmHWM: the most resident memory the process has held since it started."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return math.nan

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGTERM: `wsoa serve` turns it into a clean stop (scheduler, connections).
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    name: str, argv: list[str], env: dict[str, str], port: int, log: Path, timeout: float = 120
) -> Server:
    """Start `argv` and wait until GET /healthz answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (OSError, URLError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not answer /healthz in {timeout:.0f} s")
        time.sleep(0.1)
