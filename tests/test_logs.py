"""Redaction: tokens logged on purpose, through every kind of logger, come out masked."""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest
import structlog

from zohoauth.logs import configure_logging, redact, redact_text

from .support.tokens import zoho_token


def test_every_logger_masks_tokens(log_output: io.StringIO) -> None:
    tok, secret = zoho_token(), secrets.token_hex(20)
    structlog.get_logger("zohoauth.test").info(
        f"got {tok}", access_token=tok, nested={"refresh_token": tok, "x": [tok]}
    )
    logging.getLogger("httpx").info(
        'HTTP Request: POST %s "200"', f"https://accounts.zoho.com/oauth/v2/token?code={tok}"
    )
    logging.getLogger("some.library").warning("client_secret=%s&x=1", secret)
    logging.getLogger("any").error("header Authorization: Zoho-oauthtoken %s", tok)
    try:
        raise ValueError(f"boom {tok}")
    except ValueError:
        structlog.get_logger().exception("failed")
        logging.getLogger("std").exception("failed std")
    out = log_output.getvalue()
    assert tok not in out
    assert secret not in out
    # asyncio may log on its own at any moment (an unclosed session of an earlier test being
    # collected); the six lines written here are what this test counts.
    lines = [json.loads(line) for line in out.splitlines()]
    lines = [line for line in lines if line.get("logger") != "asyncio"]
    assert len(lines) == 6
    assert lines[0]["access_token"] == "***"
    assert "1000.***" in lines[0]["event"]
    assert "***" in lines[1]["event"]


def test_console_format_also_masks() -> None:
    buf = io.StringIO()
    configure_logging("console", "INFO", stream=buf)
    tok = zoho_token()
    structlog.get_logger().info("token", value=tok, client_secret="abc123")
    out = buf.getvalue()
    assert tok not in out
    assert "abc123" not in out
    assert "token" in out


@pytest.mark.parametrize(
    "text",
    [
        "code=abc&state=xyz",
        "Bearer abc.def",
        "Zoho-oauthtoken 1000.aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb",
        "refresh_token=zzz",
    ],
)
def test_redact_text_masks_parameters(text: str) -> None:
    out = redact_text(text)
    assert "***" in out
    for secret in ("abc", "xyz", "aaaaaaaa", "zzz"):
        if f"={secret}" in text or f" {secret}" in text:
            assert secret not in out


def test_redact_keeps_harmless_values() -> None:
    assert redact({"email": "a@b.c", "dc": "eu", "n": 3}) == {"email": "a@b.c", "dc": "eu", "n": 3}
    assert redact({"client_secret": "s", "empty_token": None}) == {
        "client_secret": "***",
        "empty_token": None,
    }


def test_httpx_request_lines_only_at_debug() -> None:
    """httpx announces every request at INFO; an INFO-level app does not log them."""
    buf = io.StringIO()
    configure_logging("json", "INFO", stream=buf)
    logging.getLogger("httpx").info("HTTP Request: GET https://www.zohoapis.com/crm/v8/org")
    logging.getLogger("httpx").warning("retrying")
    assert "HTTP Request" not in buf.getvalue()
    assert "retrying" in buf.getvalue()
    configure_logging("json", "DEBUG", stream=buf)
    logging.getLogger("httpx").info("HTTP Request: GET https://www.zohoapis.com/crm/v8/users")
    assert "crm/v8/users" in buf.getvalue()
    logging.getLogger().setLevel(logging.WARNING)


def test_aiosqlite_driver_calls_are_never_logged_even_at_debug() -> None:
    """aiosqlite logs each driver call at DEBUG with its parameters (ciphertexts, hashes,
    emails); `--log-level DEBUG` must not turn that on."""
    buf = io.StringIO()
    configure_logging("json", "DEBUG", stream=buf)
    try:
        logging.getLogger("aiosqlite").debug(
            "executing INSERT ... ('ciphertext', 'ava@zylker.com')"
        )
        logging.getLogger("zohoauth.test").debug("our own debug line")
        assert "ciphertext" not in buf.getvalue()
        assert "our own debug line" in buf.getvalue()
    finally:
        logging.getLogger().setLevel(logging.WARNING)
