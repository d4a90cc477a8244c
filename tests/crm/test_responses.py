"""Pure decisions of the CRM client: error mapping, redaction, checks, next page (back-off:
tests/test_retry.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tokens import zoho_token
from zohoauth.crm._params import (
    MAX_PAGED_RECORDS,
    check_fields,
    check_id,
    check_module,
    chunks,
    list_params,
    next_page,
    search_param,
)
from zohoauth.crm._responses import error_from_response, redact, scope_hint
from zohoauth.errors import (
    CRMError,
    InvalidDataError,
    InvalidModuleError,
    InvalidTokenError,
    NoPermissionError,
    RateLimitedError,
    RecordNotFoundError,
    ScopeMismatchError,
    ZohoUnavailableError,
)

TOKEN = zoho_token()


def envelope(code: str, message: str = "m", **details: Any) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "INVALID_TOKEN", InvalidTokenError),
        (401, "AUTHENTICATION_FAILURE", InvalidTokenError),
        (401, "OAUTH_SCOPE_MISMATCH", ScopeMismatchError),
        (400, "INVALID_MODULE", InvalidModuleError),
        (400, "INVALID_DATA", InvalidDataError),
        (400, "MANDATORY_NOT_FOUND", InvalidDataError),
        (400, "REQUIRED_PARAM_MISSING", InvalidDataError),
        (400, "LIMIT_EXCEEDED", InvalidDataError),
        (400, "DUPLICATE_DATA", InvalidDataError),
        (429, "TOO_MANY_REQUESTS", RateLimitedError),
        (403, "NO_PERMISSION", NoPermissionError),
        (500, "INTERNAL_ERROR", CRMError),
        (405, "INVALID_REQUEST_METHOD", CRMError),
    ],
)
def test_envelope_maps_to_the_error_tree(status: int, code: str, cls: type[CRMError]) -> None:
    body = envelope(code, "zoho says", param_name="fields")
    err = error_from_response(status, body, method="GET", path="Leads")
    assert type(err) is cls
    assert isinstance(err, CRMError)
    assert (err.code, err.status, err.details) == (code, status, {"param_name": "fields"})


def test_scope_mismatch_says_to_log_in_again_with_the_scope() -> None:
    err = error_from_response(
        401, envelope("OAUTH_SCOPE_MISMATCH"), method="GET", path="settings/modules"
    )
    assert "log in again" in str(err)
    assert "ZohoCRM.settings.modules.READ" in str(err)
    assert "ZohoCRM.modules.Deals" in scope_hint("Deals/search")
    assert scope_hint("users") == "ZohoCRM.users.READ"
    assert scope_hint("org") == "ZohoCRM.org.READ"


def test_invalid_data_about_the_path_id_is_record_not_found() -> None:
    by_index = envelope("INVALID_DATA", "the id given seems to be invalid", resource_path_index=1)
    err = error_from_response(400, by_index, method="GET", path="Leads/1", record_id="1")
    assert isinstance(err, RecordNotFoundError)
    assert "1" in str(err)
    # the same code about a parameter is bad input, even on a by-id call
    param = envelope("INVALID_DATA", "invalid data", param_name="fields")
    err = error_from_response(400, param, method="GET", path="Leads/1", record_id="1")
    assert type(err) is InvalidDataError
    # without an id in the URL it is never "not found"
    err = error_from_response(400, by_index, method="GET", path="Leads")
    assert type(err) is InvalidDataError


def test_one_item_data_array_is_read_as_the_envelope() -> None:
    body = {"data": [envelope("INVALID_DATA", "the id given seems to be invalid", id="9")]}
    err = error_from_response(400, body, method="PUT", path="Leads/9", record_id="9")
    assert isinstance(err, RecordNotFoundError)


def test_5xx_without_envelope_is_unavailable_and_odd_bodies_are_handled() -> None:
    assert isinstance(
        error_from_response(502, None, method="GET", path="Leads"), ZohoUnavailableError
    )
    err = error_from_response(418, None, method="GET", path="Leads")
    assert type(err) is CRMError
    assert "no JSON" in str(err)
    err = error_from_response(400, ["x"], method="GET", path="Leads")
    assert type(err) is CRMError
    weird = {"code": 7, "message": None, "details": "x"}
    err = error_from_response(400, weird, method="GET", path="Leads")
    assert type(err) is CRMError
    assert err.details == {}


def test_tokens_never_reach_a_message() -> None:
    body = envelope("INVALID_DATA", f"bad value {TOKEN} and secret-xyz")
    err = error_from_response(400, body, method="GET", path="Leads", secret="secret-xyz")
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err)
    assert "secret-xyz" not in str(err)
    assert "[redacted]" in str(err)
    assert redact(f"x {TOKEN} y") == "x [redacted] y"
    assert redact("nothing here", "") == "nothing here"


def test_long_zoho_messages_are_cut() -> None:
    err = error_from_response(400, envelope("INVALID_DATA", "x" * 5000), method="GET", path="L")
    assert len(str(err)) < 400


@pytest.mark.parametrize("name", ["Leads", "Price_Books", "CustomModule1"])
def test_module_names_pass(name: str) -> None:
    assert check_module(name) == name


@pytest.mark.parametrize("name", ["", "../org", "Leads/1", "Leads?x=1", "1Leads", "Lé", "a" * 101])
def test_bad_module_names_raise_before_any_request(name: str) -> None:
    with pytest.raises(InvalidModuleError, match="module API name") as info:
        check_module(name)
    assert info.value.code == "INVALID_MODULE"


def test_ids_must_be_ascii_digits() -> None:
    assert check_id("5725767000000524001") == "5725767000000524001"
    assert check_id(42) == "42"
    for bad in ["", "12a", "../1", "1 ", "١٢", "²", None, True, 1.5, "9" * 31]:
        with pytest.raises(InvalidDataError, match="record id"):
            check_id(bad)


def test_fields_search_params_chunks() -> None:
    assert check_fields(["Last_Name", "Email", "$currency_symbol", "Owner.id"]) == (
        "Last_Name,Email,$currency_symbol,Owner.id"
    )
    assert check_fields("A,B") == "A,B"
    with pytest.raises(ValueError, match="field API name"):
        check_fields(["Last Name"])
    assert [len(c) for c in chunks(list(range(250)), 100)] == [100, 100, 50]
    assert list(chunks([], 100)) == []
    assert search_param(None, "acme", None, None, required=True) == ("word", "acme")
    assert search_param(None, None, None, None, required=False) == ("", "")
    with pytest.raises(ValueError, match="exactly one"):
        search_param(None, None, None, None, required=True)
    with pytest.raises(ValueError, match="criteria= and word="):
        search_param("(A:equals:1)", "x", None, None, required=True)
    with pytest.raises(ValueError, match="empty"):
        search_param(None, None, " ", None, required=True)


def test_list_params_check_their_input() -> None:
    assert list_params(["A"], 200, "Created_Time", "asc") == {
        "fields": "A",
        "per_page": 200,
        "sort_by": "Created_Time",
        "sort_order": "asc",
    }
    with pytest.raises(ValueError, match="fields is required"):
        list_params([], 200, None, None)
    with pytest.raises(ValueError, match="per_page"):
        list_params(["A"], 201, None, None)
    with pytest.raises(ValueError, match="sort_order"):
        list_params(["A"], 10, None, "up")


def test_next_page_uses_numbers_up_to_2000_then_tokens() -> None:
    more = {"more_records": True, "next_page_token": "tok"}
    assert next_page(1, 200, more, strict=True) == (2, None)
    assert next_page(9, 200, more, strict=True) == (10, None)  # records 1801..2000
    assert next_page(10, 200, more, strict=True) == (None, "tok")  # 2001.. needs the token
    assert next_page(None, 200, more, strict=True) == (None, "tok")
    # per_page not dividing 2,000: switch before a page would cross the limit
    assert next_page(13, 150, more, strict=True) == (None, "tok")
    assert next_page(12, 150, more, strict=True) == (13, None)
    assert next_page(3, 200, {"more_records": False}, strict=True) is None
    assert MAX_PAGED_RECORDS == 2000


def test_next_page_without_a_token_past_2000() -> None:
    with pytest.raises(CRMError, match="next_page_token"):
        next_page(10, 200, {"more_records": True}, strict=True)
    assert next_page(10, 200, {"more_records": True}, strict=False) is None
