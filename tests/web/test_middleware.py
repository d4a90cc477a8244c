"""The pure ASGI middleware (web/middleware.py): the access log, and what it refuses."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zohoauth import ConfigError, Settings
from zohoauth.emulator import BackgroundEmulator
from zohoauth.logs import configure_logging, escape_control
from zohoauth.web.middleware import LOOPBACK, trusted_hosts

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


# -- trusted hosts ------------------------------------------------------------------------------


def test_by_default_only_the_redirect_uris_host_and_loopback_are_served(
    live: LiveApp, browser: Callable[[], Browser]
) -> None:
    """DNS rebinding (evil.example resolving to the app's address) and Host-header poisoning
    get a 400 in our JSON shape; the probes answer whatever the Host."""
    b = browser()
    port = live.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
        assert b.get("/api/session", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "[::2]"):
        resp = b.get("/api/session", headers={"Host": host})
        assert resp.status_code == 400, host
        assert resp.json()["error"] == "bad_host"
        assert "ZOHOAUTH_TRUSTED_HOSTS" in resp.json()["message"]
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-content-type-options"] == "nosniff"  # our headers all the same
    for probe in ("/healthz", "/readyz"):  # load balancers ask by address
        assert b.get(probe, headers={"Host": "10.0.0.5:8000"}).status_code == 200


def test_trusted_hosts_setting(emulator: BackgroundEmulator, tmp_path: Path) -> None:
    settings = Settings.load(trusted_hosts="app.example, *.corp.example")
    with LiveApp(emulator.url, f"sqlite:///{tmp_path / 'web.db'}", settings=settings) as app:
        b = app.browser(headers={"Host": "app.example"})
        try:
            for host in ("app.example", "APP.example:443", "crm.corp.example"):
                assert b.get("/api/session", headers={"Host": host}).status_code == 200, host
            for host in (f"127.0.0.1:{app.port}", "corp.example", "evil.example"):
                assert b.get("/api/session", headers={"Host": host}).status_code == 400, host
        finally:
            b.close()


@pytest.mark.parametrize(
    ("setting", "redirect_uri", "hosts"),
    [
        ("", "https://crm.example.com/redirect.html", ["crm.example.com", *LOOPBACK]),
        ("", "http://127.0.0.1:8000/redirect.html", LOOPBACK),
        ("", "https://[2001:db8::1]/redirect.html", ["[2001:db8::1]", *LOOPBACK]),
        (
            "a.example, *.b.example",
            "https://crm.example.com/redirect.html",
            ["a.example", "*.b.example"],
        ),
        ("*", "https://crm.example.com/redirect.html", ["*"]),
    ],
)
def test_trusted_hosts_default_to_the_redirect_uris_host_and_loopback(
    setting: str, redirect_uri: str, hosts: list[str]
) -> None:
    assert trusted_hosts(setting, redirect_uri) == hosts


def test_a_malformed_trusted_hosts_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="ZOHOAUTH_TRUSTED_HOSTS"):
        Settings.load(trusted_hosts="app.*.example")
