"""Logging: plain lines for a terminal, or one JSON object a line (`WSOA_LOG_FORMAT=json`) for
a log collector. Every line written while a request is handled carries that request's
reference, the one an apology quotes, so a partner's "reference d080fc26" finds every line of
what happened."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_reference: ContextVar[str | None] = ContextVar("request_reference", default=None)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def new_reference() -> str:
    return uuid.uuid4().hex[:8]


def current_reference() -> str | None:
    return _reference.get()


@contextmanager
def referenced(reference: str | None = None) -> Iterator[str]:
    """Within the block, log lines (and apologies) carry `reference` (a new one by default)."""
    chosen = reference or new_reference()
    token = _reference.set(chosen)
    try:
        yield chosen
    finally:
        _reference.reset(token)


class _WithReference(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.reference = _reference.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the request's
    reference when there is one, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        reference = getattr(record, "reference", None)
        if reference:
            entry["reference"] = reference
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int, log_format: str = "plain") -> None:
    """The process's logging, once, from the command line."""
    handler = logging.StreamHandler()
    handler.addFilter(_WithReference())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
