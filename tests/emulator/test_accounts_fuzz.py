"""Garbage in, never a 500 out: the emulator's Accounts routes under random and malformed input.

Hypothesis throws random parameters at the token, consent and revoke endpoints; the hand-written
cases send what real clients get wrong (JSON bodies, bad encodings, broken multipart, oversized
values, unknown DC prefixes), some of it over a raw socket so nothing is cleaned up on the way.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from zohoauth.emulator import BackgroundEmulator

from .test_accounts import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    SCOPE,
    ZOHO_JSON,
    register_client,
)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TOKEN_KEYS = (
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "refresh_token",
    "code_verifier",
    "scope",
)
AUTH_KEYS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "access_type",
    "prompt",
    "state",
    "code_challenge",
    "code_challenge_method",
    "email",
    "decision",
)

junk = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.text(min_size=4000, max_size=5000),
)
plausible = {
    "grant_type": st.sampled_from(["authorization_code", "refresh_token", "password", ""]),
    "client_id": st.sampled_from([CLIENT_ID, "1000.NOPE", ""]),
    "client_secret": st.sampled_from([CLIENT_SECRET, "wrong", ""]),
    "redirect_uri": st.sampled_from([REDIRECT_URI, "http://evil.example/", ""]),
    "response_type": st.sampled_from(["code", "token", ""]),
    "scope": st.sampled_from([SCOPE, "", ","]),
    "access_type": st.sampled_from(["online", "offline", "OFFLINE", "x"]),
    "code_challenge_method": st.sampled_from(["S256", "plain", "none"]),
    "decision": st.sampled_from(["accept", "reject", ""]),
    "email": st.sampled_from(["ava@zylker.com", "clara@brightwave.eu", "nobody@x.y", ""]),
}


def params_from(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    value = {k: st.one_of(plausible.get(k, junk), junk) for k in keys}
    known = st.fixed_dictionaries({}, optional=value)
    extra = st.dictionaries(st.text(min_size=1, max_size=20), junk, max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


VALID_AUTH = {
    "client_id": CLIENT_ID,
    "response_type": "code",
    "redirect_uri": REDIRECT_URI,
    "scope": SCOPE,
    "access_type": "offline",
    "state": "s",
    "email": "ava@zylker.com",
    "decision": "accept",
}
#: A valid consent with one or two parameters changed or dropped: reaches the redirect often.
near_valid_auth = st.builds(
    lambda changed, dropped: {
        k: v for k, v in {**VALID_AUTH, **changed}.items() if k not in dropped
    },
    st.dictionaries(st.sampled_from(AUTH_KEYS), junk, max_size=2),
    st.sets(st.sampled_from(AUTH_KEYS), max_size=1),
)

dc_paths = st.one_of(
    st.sampled_from(["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"]),
    st.sampled_from(["US", "ae", "xx", "_emulator", "..", "%00"]),
)


@pytest.fixture
def client_registered(admin: httpx.Client) -> httpx.Client:
    register_client(admin)
    # Every example may mint a Self Client code: far past Zoho's 10 codes per 10 minutes.
    admin.post("/_emulator/config", json={"grant_limits": False}).raise_for_status()
    return admin


@FUZZ
@given(params=params_from(TOKEN_KEYS), dc=dc_paths, in_query=st.booleans(), real=st.booleans())
def test_token_endpoint_never_fails_on_random_params(
    client_registered: httpx.Client, params: dict[str, str], dc: str, in_query: bool, real: bool
) -> None:
    admin = client_registered
    if real:  # sometimes a live Self Client code, so the deeper checks run too
        code = admin.post(
            "/_emulator/self-client/code", json={"client_id": CLIENT_ID, "email": "ava@zylker.com"}
        ).json()["code"]
        params = {**params, "code": code}
    url = f"/{dc}/accounts/oauth/v2/token"
    try:
        r = admin.post(url, params=params) if in_query else admin.post(url, data=params)
    except httpx.InvalidURL:
        reject()  # httpx itself refuses a query this long: nothing reached the emulator
    assert r.status_code < 500, r.text
    if in_query and len(r.request.url.raw_path) > 8190:
        # Past the HTTP server's request-line limit the request is refused before any route
        # (as at any real server); what matters is that it is not a 5xx.
        return
    if dc in {"us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"}:
        assert r.status_code == 200
        assert r.headers["content-type"] == ZOHO_JSON
        body = r.json()
        assert ("error" in body) != ("access_token" in body)


@FUZZ
@given(params=params_from(AUTH_KEYS), dc=dc_paths)
def test_consent_page_never_fails_or_redirects_on_random_params(
    client_registered: httpx.Client, params: dict[str, str], dc: str
) -> None:
    try:
        r = client_registered.get(f"/{dc}/accounts/oauth/v2/auth", params=params)
    except httpx.InvalidURL:
        reject()  # httpx itself refuses a query this long: nothing reached the emulator
    assert r.status_code in (200, 400, 404), r.text
    assert "location" not in r.headers


@FUZZ
@given(params=st.one_of(params_from(AUTH_KEYS), near_valid_auth), dc=dc_paths)
def test_consent_decision_redirects_only_to_the_registered_uri(
    client_registered: httpx.Client, params: dict[str, str], dc: str
) -> None:
    r = client_registered.post(f"/{dc}/accounts/oauth/v2/auth", data=params)
    assert r.status_code in (200, 302, 400, 404), r.text
    if r.status_code == 302:
        assert r.headers["location"].startswith(REDIRECT_URI + "?")
    else:
        assert "location" not in r.headers


@FUZZ
@given(params=params_from(("token", "token_type")), dc=dc_paths, newer=st.booleans())
def test_revoke_never_fails_on_random_params(
    client_registered: httpx.Client, params: dict[str, str], dc: str, newer: bool
) -> None:
    path = "revoke/token" if newer else "token/revoke"
    r = client_registered.post(f"/{dc}/accounts/oauth/v2/{path}", data=params)
    assert r.status_code in (400, 404), r.text


# -- hand-made garbage -----------------------------------------------------------------------

GARBAGE_BODIES = {
    "json": ({"content-type": "application/json"}, b'{"grant_type": "refresh_token"}'),
    "text": ({"content-type": "text/plain"}, b"grant_type=refresh_token"),
    "no content-type": ({}, b"grant_type=refresh_token"),
    "non-utf8 form": (
        {"content-type": "application/x-www-form-urlencoded"},
        b"grant_type=\xff\xfe&client_id=%ff%fe%80&code=\xc3\x28",
    ),
    "nul bytes": (
        {"content-type": "application/x-www-form-urlencoded"},
        b"grant_type=authorization_code&code=\x00\x00&client_id=%00",
    ),
    "odd charset": (
        {"content-type": "application/x-www-form-urlencoded; charset=klingon"},
        b"grant_type=x",
    ),
    "multipart without boundary": ({"content-type": "multipart/form-data"}, b"--x\r\n"),
    "broken multipart": (
        {"content-type": "multipart/form-data; boundary=zz"},
        b"--zz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--zz--\r\n",
    ),
    "truncated multipart": (
        {"content-type": "multipart/form-data; boundary=zz"},
        b'--zz\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefr',
    ),
    "multipart file field": (
        {"content-type": "multipart/form-data; boundary=zz"},
        b'--zz\r\nContent-Disposition: form-data; name="code"; filename="c.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nabc\r\n--zz--\r\n",
    ),
    "huge field": (
        {"content-type": "application/x-www-form-urlencoded"},
        b"grant_type=authorization_code&code=" + b"A" * (2 * 1024 * 1024),
    ),
    "too many fields": (
        {"content-type": "application/x-www-form-urlencoded"},
        b"&".join(b"f%d=1" % i for i in range(2000)),
    ),
}


@pytest.mark.parametrize(("headers", "body"), GARBAGE_BODIES.values(), ids=list(GARBAGE_BODIES))
def test_garbage_bodies_get_zoho_style_errors(
    client_registered: httpx.Client, headers: dict[str, str], body: bytes
) -> None:
    admin = client_registered
    r = admin.post("/us/accounts/oauth/v2/token", content=body, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == ZOHO_JSON
    assert "error" in r.json()
    for path in ("token/revoke", "revoke/token"):
        r = admin.post(f"/us/accounts/oauth/v2/{path}", content=body, headers=headers)
        assert r.status_code == 400
    r = admin.post("/us/accounts/oauth/v2/auth", content=body, headers=headers)
    assert r.status_code == 400
    assert "location" not in r.headers


def test_percent_encoded_invalid_utf8_in_the_query(client_registered: httpx.Client) -> None:
    r = client_registered.post("/us/accounts/oauth/v2/token?grant_type=%ff%fe&code=%c3%28")
    assert r.status_code == 200
    assert r.json()["error"] == "unsupported_grant_type"
    r = client_registered.get("/us/accounts/oauth/v2/auth?client_id=%ff%fe&scope=%80")
    assert r.status_code == 400


def test_a_very_long_query_string(client_registered: httpx.Client) -> None:
    long = "x" * 40_000
    r = client_registered.post("/us/accounts/oauth/v2/token", params={"grant_type": long})
    assert r.status_code < 500
    r = client_registered.get("/us/accounts/oauth/v2/auth", params={"state": long})
    assert r.status_code < 500
    assert "location" not in r.headers


def raw_status(emulator: BackgroundEmulator, request: bytes) -> int:
    """Send `request` byte for byte over a socket and return the response's status code."""
    host = urlsplit(emulator.url)
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "request_line",
    [
        b"POST /us/accounts/oauth/v2/token?grant_type=\xff\xfe&code=\xc3\x28 HTTP/1.1",
        b"GET /us/accounts/oauth/v2/auth?client_id=\xff&scope=\x80\x81 HTTP/1.1",
        b"POST /\xff\xfe/accounts/oauth/v2/token HTTP/1.1",
        b"POST /us/accounts/oauth/v2/token/revoke?token=\xff HTTP/1.1",
    ],
)
def test_raw_non_utf8_bytes_in_the_request_line(
    emulator: BackgroundEmulator, request_line: bytes
) -> None:
    body = b"grant_type=\xff"
    request = (
        request_line + b"\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    assert raw_status(emulator, request) < 500


@pytest.mark.parametrize("dc", ["mars", "US", "_emulator", "api", "accounts"])
def test_unknown_dc_prefixes_are_404(client_registered: httpx.Client, dc: str) -> None:
    admin = client_registered
    assert admin.post(f"/{dc}/accounts/oauth/v2/token").status_code == 404
    assert admin.post(f"/{dc}/accounts/oauth/v2/token/revoke").status_code == 404
    assert admin.post(f"/{dc}/accounts/oauth/v2/revoke/token").status_code == 404
    assert admin.get(f"/{dc}/accounts/oauth/v2/auth").status_code == 404
