"""`wsoa serve --http` in its own process, for what must be measured from outside: its memory,
its log, its answers while something else holds the database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def peak_rss_kb(self) -> int:
        """VmHWM: the most resident memory the process has held so far."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    database_url: str, slack_api_url: str, log_path: Path, **env: str
) -> Iterator[ServeProcess]:
    port = free_port()
    environment = {
        **os.environ,
        "WSOA_DATABASE_URL": database_url,
        "SLACK_API_URL": slack_api_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "WSOA_ADMINS": "U0DEMOPM",
        **env,
    }
    command = [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = ServeProcess(process=process, port=port, log_path=log_path)
    try:
        _wait_until_healthy(served)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(served: ServeProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"wsoa serve exited:\n{served.log()}")
        try:
            with urllib.request.urlopen(f"{served.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"wsoa serve did not become healthy:\n{served.log()}")
