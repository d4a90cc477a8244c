"""Logs in tests: capture what zohoauth's loggers emit, or run the app's whole logging setup
into a buffer and undo it afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zohoauth.logs import configure_logging


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        event = dict(msg) if isinstance(msg, dict) else {"event": record.getMessage()}
        event.setdefault("log_level", record.levelname.lower())
        self.events.append(event)


@contextmanager
def capture_logs(name: str = "zohoauth") -> Iterator[list[dict[str, Any]]]:
    """Every event logged under `name` at any level, as dicts (like structlog's capture_logs)."""
    logger = logging.getLogger(name)
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def reset_logging() -> None:
    """Undo `configure_logging`: drop its root handler, put the root level back to WARNING."""
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "zohoauth"]
    root.setLevel(logging.WARNING)


@contextmanager
def json_logs(level: str = "DEBUG") -> Iterator[io.StringIO]:
    """Logging set up as an app sets it up (JSON lines, redaction, every logger) into a buffer."""
    buf = io.StringIO()
    configure_logging("json", level, stream=buf)
    try:
        yield buf
    finally:
        reset_logging()
