"""The one HTTP app: each adapter's routes, and `GET /healthz`, under a production WSGI server
(waitress). Which adapters and routes there are is decided in bot/serve.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.runtime import Runtime

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
HTTP_THREADS = 8

Server = BaseWSGIServer | MultiSocketServer


def database_answers(runtime: Runtime) -> bool:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("health check: the database does not answer: %s", error)
        return False
    return True


def make_wsgi_app(routes: Mapping[str, WSGIApplication], runtime: Runtime) -> WSGIApplication:
    """`routes` maps a path (`/slack/events`) to the adapter's WSGI app; anything else is 404."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            healthy = database_answers(runtime)
            body = b"ok\n" if healthy else b"database unavailable\n"
            start_response(
                "200 OK" if healthy else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            )
            return [body]
        route = routes.get(str(path))
        if route is None:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found\n"]
        return route(environ, start_response)

    return wsgi


def make_http_server(wsgi: WSGIApplication, host: str, port: int) -> Server:
    """A waitress server; port 0 picks a free one (`server.effective_port`)."""
    return create_server(wsgi, host=host, port=port, threads=HTTP_THREADS)


def start_http_server(
    wsgi: WSGIApplication, host: str, port: int
) -> tuple[Server, threading.Thread]:
    """The server running on a daemon thread (tests, benchmarks); `stop_http_server` ends it."""
    server = make_http_server(wsgi, host, port)
    thread = threading.Thread(target=server.run, name="wsoa-http", daemon=True)
    thread.start()
    return server, thread


def stop_http_server(server: Server, thread: threading.Thread) -> None:
    if isinstance(server, BaseWSGIServer):
        # Close from inside the server's loop, woken by its trigger: closing from outside is
        # only noticed at the loop's next one-second timeout.
        # (The type stubs do not describe the trigger or the loop's map.)
        running = cast(Any, server)
        running.trigger.pull_trigger(lambda: wasyncore.close_all(running._map))
    else:
        server.close()
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()
