"""uvicorn around the app: `run` for `wsoa serve` (graceful stop on SIGTERM and Ctrl-C, in
the main thread), `start_in_thread` / `RunningServer.stop` for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

# Requests in flight get this long to finish after SIGTERM before connections are closed:
# longer than any command's deadline.
GRACEFUL_SECONDS = 10


def make_server(app: ASGIApp, host: str, port: int) -> uvicorn.Server:
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
    return uvicorn.Server(config)


def run(app: ASGIApp, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C; uvicorn finishes requests in flight, then returns."""
    make_server(app, host, port).run()


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
