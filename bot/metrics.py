"""What an operator watches: `GET /metrics` in Prometheus' text format (prometheus-client).

One registry per runtime (no process-wide state filled at import): HTTP requests by surface
and status with their latency, commands, buttons and forms by surface, name and outcome with
theirs, scheduled deliveries by kind and outcome, database errors by kind, and the connection
pool's use. Labels hold only names the bot itself defines (a surface, a registered command, a
delivery kind, an exception's class): never a user's text, an id or a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric
    from sqlalchemy import Engine

# Slack wants an answer within 3 s: buckets around that, and the slow tail of files.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

# Request paths → surface, by prefix; anything else is "other".
SURFACES = (
    ("/slack/", "slack"),
    ("/api/messages", "teams"),
    ("/healthz", "health"),
    ("/metrics", "metrics"),
    ("/files/", "files"),
    ("/progress/", "pages"),
    ("/plans", "pages"),
    ("/sign-in", "pages"),
    ("/sign-out", "pages"),
    ("/unsubscribe/", "pages"),
    ("/accessibility", "pages"),
    ("/assets/", "pages"),
)


def surface_of(path: str) -> str:
    return next((surface for prefix, surface in SURFACES if path.startswith(prefix)), "other")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests = Counter(
            "wsoa_http_requests",
            "HTTP requests answered, by surface and status code",
            ["surface", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "wsoa_http_request_seconds",
            "Time to answer an HTTP request, by surface",
            ["surface"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.commands = Counter(
            "wsoa_commands",
            "Commands, buttons and forms run, by surface, name and outcome (ok, refused, error)",
            ["surface", "command", "outcome"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "wsoa_command_seconds",
            "Time to run a command, button or form, by surface and name",
            ["surface", "command"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "wsoa_deliveries",
            "Scheduled deliveries (digests, reminders, e-mails) by kind and outcome",
            ["kind", "outcome"],
            registry=registry,
        )
        self.database_errors = Counter(
            "wsoa_database_errors",
            "Database errors by kind (the error's class; 'pool timeout' when no connection "
            "was free in time)",
            ["kind"],
            registry=registry,
        )

    def command(self, surface: str, name: str) -> Callable[[str], None]:
        """Call the result with the outcome when the command is done."""
        started = time.perf_counter()

        def done(outcome: str) -> None:
            self.commands.labels(surface, name, outcome).inc()
            self.command_seconds.labels(surface, name).observe(time.perf_counter() - started)

        return done

    def delivery(self, key: str, outcome: str) -> None:
        # a delivery's key begins with its kind: `board-digest:…`, `notice:…`
        self.deliveries.labels(key.split(":", 1)[0], outcome).inc()

    def database_error(self, kind: str) -> None:
        self.database_errors.labels(kind).inc()

    def watch_pool(self, engine: Engine) -> None:
        """The pool's size and the connections in use, read when scraped."""
        self.registry.register(_PoolCollector(engine))

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _PoolCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        pool: Any = self.engine.pool
        for name, what, read in (
            ("wsoa_db_pool_size", "Connections the pool keeps", "size"),
            ("wsoa_db_pool_in_use", "Connections checked out now", "checkedout"),
            ("wsoa_db_pool_overflow", "Connections beyond the pool's size now", "overflow"),
        ):
            method = getattr(pool, read, None)
            if callable(method):
                yield GaugeMetricFamily(name, what, value=float(method()))
