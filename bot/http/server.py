"""uvicorn around the app: `run` for `wsoa serve` (graceful stop on SIGTERM and Ctrl-C, in
the main thread), `start_in_thread` / `RunningServer.stop` for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

# Requests in flight get this long to finish after SIGTERM before connections are closed:
# longer than any command's deadline, and inside the 10 s a replica has to stop in.
GRACEFUL_SECONDS = 8


class _Server(uvicorn.Server):
    """uvicorn's server, telling `on_exit` the moment SIGTERM (or Ctrl-C) arrives: the
    scheduler hands its waiting deliveries back while requests in flight finish."""

    on_exit: Callable[[], object] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.on_exit is not None and not self.should_exit:
            threading.Thread(target=self.on_exit, name="wsoa-stopping", daemon=True).start()
        super().handle_exit(sig, frame)


def make_server(
    app: ASGIApp, host: str, port: int, on_exit: Callable[[], object] | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # The bot's own logging stays as configured; one line per request would bury it.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
    )
    server = _Server(config)
    server.on_exit = on_exit
    return server


def run(app: ASGIApp, host: str, port: int, on_exit: Callable[[], object] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; uvicorn stops taking requests and finishes those in
    flight (within GRACEFUL_SECONDS), then returns. `on_exit` is told at once."""
    make_server(app, host, port, on_exit).run()


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=GRACEFUL_SECONDS + 5)


def start_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """The server on a daemon thread, listening when this returns; port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = make_server(app, host, sock.getsockname()[1])
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wsoa-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.01)
    return RunningServer(server=server, thread=thread, port=sock.getsockname()[1])
