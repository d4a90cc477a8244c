"""Capture what zohoauth's loggers emit (they write through stdlib logging, see logs.get_logger)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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
