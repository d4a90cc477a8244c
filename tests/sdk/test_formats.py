"""The official SDK's token formats read, and each row's import decided, without I/O."""

from __future__ import annotations

import pytest

from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import SDKFormatError
from zohoauth.sdk._formats import (
    CSV_COLUMNS,
    ImportPolicy,
    RowPlan,
    RowResult,
    SDKRow,
    parse_csv,
    plan_row,
    rows_from_db,
)

NOW = 1_800_000_000.0
LATER_MS = str(int((NOW + 3600) * 1000))
HEADER = ",".join(CSV_COLUMNS)
REGISTRY = DataCenterRegistry.zoho()


def row(**values: str) -> SDKRow:
    base = dict(
        line=2,
        id="1",
        user_name="ada@example.com:6000001",
        client_id="1000.ME",
        client_secret="row-secret",
        refresh_token="1000.r.r",
        access_token="1000.a.a",
        grant_token="",
        expiry_time=LATER_MS,
        redirect_uri="",
        api_domain="https://www.zohoapis.eu",
    )
    base.update(values)
    return SDKRow(**base)  # type: ignore[arg-type]


def test_ten_and_nine_column_files() -> None:
    rows, problems = parse_csv(
        f"{HEADER}\n1,a@x.io:7,c,s,r,a,g,{LATER_MS},,https://www.zohoapis.com\n\n"
    )
    assert problems == []
    assert (rows[0].email, rows[0].org_id, rows[0].api_domain) == (
        "a@x.io",
        "7",
        "https://www.zohoapis.com",
    )
    old = ",".join(CSV_COLUMNS[:9])
    rows, problems = parse_csv(f"{old}\n1,a@x.io,c,s,r,a,g,1,\n2,b@x.io,c,s,r,a,g,1,,d,e\n")
    assert rows[0].api_domain == "" and rows[0].org_id == ""
    assert problems == [RowResult(3, "b@x.io", "skipped", "has 11 columns, not 9")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("id,user_name\n", "not the official SDK's header"),
        ('{"a": 1}', "not the official SDK's header"),
    ],
)
def test_not_the_format(text: str, says: str) -> None:
    with pytest.raises(SDKFormatError, match=says):
        parse_csv(text)


def test_db_rows_may_lack_api_domain() -> None:
    [got] = rows_from_db([("5", "a@x.io:9", "c", "s", "r", "a", None, "1", None, None)])
    assert (got.line, got.id, got.api_domain, got.grant_token) == (1, "5", "", "")


@pytest.mark.parametrize(
    ("user_name", "email", "org_id"),
    [
        ("ada@example.com:6000001", "ada@example.com", "6000001"),
        ("ada@example.com", "ada@example.com", ""),
        ("", "", ""),
        ("odd:name:x", "odd:name:x", ""),
    ],
)
def test_user_names(user_name: str, email: str, org_id: str) -> None:
    r = row(user_name=user_name)
    assert (r.email, r.org_id) == (email, org_id)


def test_a_usable_row_keeps_its_token_and_needs_no_secret() -> None:
    plan = plan_row(row(), REGISTRY, ImportPolicy(), NOW)
    assert isinstance(plan, RowPlan)
    assert (plan.dc, plan.access_usable, plan.secret) == ("eu", True, None)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"refresh_token": "", "grant_token": "1000.g.g"}, "grant token only; log in instead"),
        ({"refresh_token": ""}, "no refresh token; log in instead"),
        ({"client_id": ""}, "no client_id"),
        ({"api_domain": "https://www.zohoapis.evil.example"}, "not an API host"),
        ({"api_domain": ""}, "pass --dc"),
        ({"expiry_time": "1"}, "needs the client secret"),
        ({"expiry_time": "soon"}, "needs the client secret"),
        ({"access_token": ""}, "needs the client secret"),
    ],
)
def test_rows_that_cannot_be_imported_say_why(values: dict[str, str], reason: str) -> None:
    result = plan_row(row(**values), REGISTRY, ImportPolicy(), NOW)
    assert isinstance(result, RowResult) and result.outcome == "skipped"
    assert reason in result.detail


def test_secret_policy() -> None:
    expired = row(expiry_time="1")
    mine = ImportPolicy(client_id="1000.ME", client_secret="configured")
    plan = plan_row(expired, REGISTRY, mine, NOW)
    assert isinstance(plan, RowPlan) and plan.secret == "configured"
    unset = ImportPolicy(client_id="1000.ME")
    plan = plan_row(expired, REGISTRY, unset, NOW)
    assert isinstance(plan, RowPlan) and plan.secret == "row-secret"
    other = ImportPolicy(client_id="1000.OTHER", client_secret="configured")
    assert isinstance(plan_row(expired, REGISTRY, other, NOW), RowResult)
    asked = ImportPolicy(client_id="1000.OTHER", use_row_secrets=True)
    plan = plan_row(expired, REGISTRY, asked, NOW)
    assert isinstance(plan, RowPlan) and plan.secret == "row-secret"
    assert "row-secret" not in repr(plan) and "configured" not in repr(mine)


def test_dc_option_fills_only_missing_api_domains() -> None:
    policy = ImportPolicy(dc="in")
    plan = plan_row(row(api_domain=""), REGISTRY, policy, NOW)
    assert isinstance(plan, RowPlan)
    assert (plan.dc, plan.api_domain, plan.dc_from_option) == (
        "in",
        "https://www.zohoapis.in",
        True,
    )
    plan = plan_row(row(), REGISTRY, policy, NOW)
    assert isinstance(plan, RowPlan) and (plan.dc, plan.dc_from_option) == ("eu", False)
