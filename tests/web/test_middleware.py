"""The pure ASGI middleware (web/middleware.py): the access log, and what it refuses."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from zohoauth.logs import configure_logging, escape_control

from ..support.web import Browser, LiveApp


@pytest.fixture
def log_to() -> Iterator[Callable[[str], io.StringIO]]:
    """`log_to("console" | "json")` → the buffer every log line of the process goes to."""

    def configure(fmt: str) -> io.StringIO:
        buf = io.StringIO()
        configure_logging(fmt, "INFO", stream=buf)
        return buf

    yield configure
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "zohoauth"]
    root.setLevel(logging.WARNING)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("/api/records/Leads", "/api/records/Leads"),
        ("/Müller café", "/Müller café"),
        ("/\r\nfake", "/\\r\\nfake"),
        ("/\x1b[2Jgone", "/\\x1b[2Jgone"),
        ("/a\x08b\x7f\x85", "/a\\x08b\\x7f\\x85"),
        ("/\u2028\u202eevil", "/\\u2028\\u202eevil"),
        ("/back\\slash", "/back\\\\slash"),
    ],
)
def test_escape_control_keeps_text_on_one_printable_line(text: str, escaped: str) -> None:
    assert escape_control(text) == escaped


# A CR LF that would start a forged log line; an ANSI escape that would clear the terminal of
# whoever reads the console log; a backspace that would hide characters.
HOSTILE = {
    "/%0d%0afake": "/\\r\\nfake",
    "/%1b%5b2Jcleared": "/\\x1b[2Jcleared",
    "/a%08b": "/a\\x08b",
}


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_control_characters_in_paths_are_escaped_in_the_access_log(
    live: LiveApp,
    browser: Callable[[], Browser],
    log_to: Callable[[str], io.StringIO],
    fmt: str,
) -> None:
    b = browser()
    logs = log_to(fmt)
    for path in HOSTILE:
        assert b.get(path).status_code == 404
    b.get("/healthz")  # the last line: everything before it is written
    text = logs.getvalue()
    assert not any(c in text for c in "\r\x1b\x08"), repr(text)
    lines = text.splitlines()
    access = [line for line in lines if "zohoauth.web.access" in line]
    assert len(access) == len(HOSTILE) + 1  # one line per request, none split in two
    assert not any(line.startswith("fake") for line in lines)
    if fmt == "json":
        paths = [json.loads(line)["path"] for line in access]
        assert paths == [*HOSTILE.values(), "/healthz"]
    else:
        for escaped in HOSTILE.values():
            assert f"path={escaped} " in text or f"path='{escaped}'" in text
