"""Fuzzing the CRM over HTTP: no path, parameter, header or body ever gets a 5xx.

Every answer is either 204/304 with an empty body or JSON: Zoho's error envelope, or a body
with `data` / `users` / `org` / `modules` / `fields` / `count`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from .conftest import Crm

SEGMENTS = [
    "Leads", "Contacts", "Deals", "Accounts", "leads", "Tickets", "users", "org", "settings",
    "modules", "fields", "search", "upsert", "actions", "count", "5725767000000070001", "0",
    "", "%", "?", "#", "é", "😀", "-1",
]  # fmt: skip
PARAMS = [
    "fields", "per_page", "page", "page_token", "sort_by", "sort_order", "ids", "criteria",
    "email", "phone", "word", "module", "type", "status", "cvid",
]  # fmt: skip
FIELDS = ["Last_Name", "Email", "No_of_Employees", "Annual_Revenue", "Email_Opt_Out", "Owner",
          "Account_Name", "Date_of_Birth", "Stage", "Deal_Name", "id", "Lead_Status"]  # fmt: skip
CRITERIA_ALPHABET = "()\\,:Last_Nameequalsstarts_withinbetween0123456789 andor${EMPTY}é"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=6)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda data, dup: json.dumps({"data": data, "duplicate_check_fields": dup}).encode(),
        st.lists(records | json_values, max_size=5) | json_values,
        st.none() | st.lists(st.sampled_from(FIELDS) | st.text(max_size=5), max_size=3),
    ),
)
param_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "201",
            "2000",
            "1e3",
            "asc",
            "desc",
            "id",
            "Created_Time",
            "Last_Name,Email",
            ",".join(FIELDS),
            "CurrentUser",
            "Leads",
            "null",
        ]
    ),
    st.text(alphabet=CRITERIA_ALPHABET, max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code in (204, 304) or response.request.method == "HEAD":
        assert response.content == b""
        return
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body: dict[str, Any] = response.json()
    if response.status_code >= 400 and "data" not in body:
        assert set(body) == {"code", "details", "message", "status"}
        assert body["status"] == "error"
    else:
        assert set(body) & {"data", "users", "org", "modules", "fields", "count"}, body


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    segments=st.lists(st.sampled_from(SEGMENTS) | st.text(max_size=12), min_size=0, max_size=4),
    params=st.dictionaries(st.sampled_from(PARAMS) | st.text(max_size=6), param_values, max_size=5),
    body=bodies,
    headers=st.fixed_dictionaries(
        {},
        optional={
            "X-CRM-ORG": st.sampled_from(["80000001", "80000002", "80000003", "", "x" * 300]),
            "If-Modified-Since": st.text(max_size=30).filter(lambda s: s.isprintable()),
            "Content-Type": st.sampled_from(["application/json", "text/plain", "x/y; charset=zz"]),
        },
    ),
)
def test_nothing_gets_a_5xx(
    crm: Crm,
    method: str,
    segments: list[str],
    params: dict[str, str],
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    # Dot segments would leave the API prefix (URL normalisation): not CRM requests.
    assume(not any(segment in (".", "..") for segment in segments))
    path = "/".join(quote(segment, safe="") for segment in segments)
    sent = {k: v.encode("ascii", "replace").decode().strip() for k, v in headers.items()}
    response = crm.http.request(method, path, params=params, content=body, headers=sent)
    _check(response)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(criteria=st.text(alphabet=CRITERIA_ALPHABET, max_size=80) | st.text(max_size=40))
def test_criteria_parser_never_fails_badly(crm: Crm, criteria: str) -> None:
    for path in ("Leads/search", "Deals/actions/count"):
        _check(crm.http.get(path, params={"criteria": criteria}))
