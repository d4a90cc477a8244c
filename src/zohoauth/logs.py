"""Structured logs (structlog) with a redaction processor that no token can slip past.

Every line — ours, and stdlib loggers' such as httpx's and uvicorn's, routed through the same
processors — passes `redact()`, which masks Zoho-shaped tokens and codes (`1000.<hex>.<hex>`),
values of sensitive keys (`access_token`, `client_secret`, `Authorization`, ...), and such
parameters inside URLs. Redaction is the last line of defense: the code also never logs them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

#: Zoho tokens, codes and refresh tokens: `1000.<hex>.<hex>` (docs/zoho-reference.md §1).
ZOHO_TOKEN = re.compile(r"1000\.[0-9a-fA-F]{8,}\.[0-9a-fA-F]{8,}")
_PARAM = re.compile(
    r"(?i)\b(code|token|access_token|refresh_token|client_secret|code_verifier|state"
    r"|password)=([^&\s\"']+)"
)
_AUTH_HEADER = re.compile(r"(?i)(Zoho-oauthtoken|Bearer|Basic)\s+[^\s\"',]+")
SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "token",
        "code",
        "client_secret",
        "secret",
        "password",
        "authorization",
        "code_verifier",
        "state",
        "encryption_keys",
        "session_secret",
        "metrics_token",
        "key",
        "cookie",
        "set-cookie",
    }
)
MASK = "***"


def get_logger(name: str) -> Any:
    """A structlog logger for library code that writes through stdlib `logging`.

    Unlike `structlog.get_logger()`, it does not print to stdout when the app never configured
    structlog: records go to the stdlib logger `name`, so they are silent below WARNING by
    default and follow the app's logging setup (or `configure_logging()`) otherwise. Every
    event is redacted before it leaves.
    """
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_processor,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )


def redact_text(text: str) -> str:
    """Mask anything token-like inside free text."""
    text = ZOHO_TOKEN.sub("1000.***", text)
    text = _PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape_control(text: str) -> str:
    """`text` safe to put on one log line: control characters, line and paragraph separators
    and invisible format characters (bidi overrides, ...) as escapes (`\\r`, `\\x1b`,
    `\\u202e`), backslashes doubled so an escape can't be faked; other text kept as is.

    For text a client chose, such as a request's path: a raw CR LF would forge a log line, an
    ANSI escape would drive the terminal of whoever reads the console log."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    if c in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def redact(value: Any, key: str | None = None) -> Any:
    """Mask a value (recursively), by its key's name and by its shape."""
    if key is not None and key.lower() in SENSITIVE_KEYS and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return (
            type(value)(redact(v) for v in value)
            if not isinstance(value, set)
            else [redact(v) for v in value]
        )
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact_processor(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact every key except the structural ones."""
    for k in list(event_dict):
        if k in ("level", "timestamp", "logger", "_record", "_from_structlog"):
            continue
        event_dict[k] = redact(event_dict[k], None if k == "event" else k)
    return event_dict


def _format_exc_redacted(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    if "exception" in event_dict:
        event_dict["exception"] = redact_text(str(event_dict["exception"]))
    return event_dict


def configure_logging(
    fmt: str = "console",
    level: str | int = "INFO",
    stream: TextIO | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Route structlog and stdlib logging through one redacting pipeline.

    `fmt`: "console" (for people) or "json" (one object per line, for machines).
    `defaults`: fields every line carries unless it has its own, even lines logged from other
    threads where context variables don't reach (a CLI run's request id).
    """
    fixed = dict(defaults or {})

    def add_defaults(
        logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for k, v in fixed.items():
            event_dict.setdefault(k, v)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,  # request_id from the web app
        add_defaults,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _format_exc_redacted,
        redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared[:-1], _redact_foreign, redact_processor],
        # Library loggers (`get_logger`) arrive with only their own short chain: give their
        # lines the same level, logger, time and defaults as every other line.
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _fill_missing,
            add_defaults,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("zohoauth")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "zohoauth"]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # httpx/httpcore announce every request at INFO: one line per CRM call, which costs ~4% of
    # the web app's CPU per request (bench/web_load.py profile) and says nothing the access log
    # and the CRM metrics don't. Kept when the app asks for DEBUG.
    noisy = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(noisy)
    # aiosqlite logs every driver call at DEBUG with the statement's parameters (ciphertexts,
    # service-key hashes, emails): never wanted, not even at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


_STAMP = structlog.processors.TimeStamper(fmt="iso", utc=True)


def _fill_missing(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Level, logger name and timestamp, where the line's own chain did not add them."""
    if "level" not in event_dict and method and not method.startswith("__"):
        event_dict["level"] = "warning" if method == "warn" else method
    if "logger" not in event_dict and isinstance(logger, logging.Logger):
        event_dict["logger"] = logger.name
    if "timestamp" not in event_dict:
        _STAMP(logger, method, event_dict)
    return event_dict


def _redact_foreign(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """stdlib records: the message was %-formatted already; redact the result."""
    record = event_dict.get("_record")
    if record is not None and record.args:
        event_dict["event"] = record.getMessage()
    return event_dict
