"""Search and count over HTTP: criteria, email, phone, word."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Crm

PEOPLE = [
    {
        "Last_Name": "Burns, B",
        "First_Name": "Bo",
        "Email": "bo@burns.example",
        "Phone": "+1 (555) 010-2030",
        "City": "Austin",
        "No_of_Employees": 10,
        "Annual_Revenue": 1000.0,
        "Lead_Source": "Partner",
    },
    {
        "Last_Name": "Burnside",
        "First_Name": "Al",
        "Email": "al@side.example",
        "City": "Berlin",
        "No_of_Employees": 50,
        "Annual_Revenue": 5000.0,
        "Lead_Source": "Cold Call",
        "Email_Opt_Out": True,
    },
    {
        "Last_Name": "(Paren)",
        "First_Name": "Pat",
        "City": "Chennai",
        "No_of_Employees": 90,
        "Description": "Likes ZEBRAS and llamas",
    },
]


@pytest.fixture
def people(crm: Crm) -> dict[str, str]:
    """Three known Leads in a fresh org (the seeded ones are deleted): name -> id."""
    ids = [r["id"] for r in crm.http.get("Leads", params={"fields": "Last_Name"}).json()["data"]]
    crm.http.delete("Leads", params={"ids": ",".join(ids)}).raise_for_status()
    created = crm.http.post("Leads", json={"data": PEOPLE}).json()["data"]
    return {p["Last_Name"]: c["details"]["id"] for p, c in zip(PEOPLE, created, strict=True)}


def _names(crm: Crm, **params: Any) -> list[str]:
    r = crm.http.get("Leads/search", params={"fields": "Last_Name", **params})
    if r.status_code == 204:
        assert r.content == b""
        return []
    assert r.status_code == 200, r.text
    return sorted(rec["Last_Name"] for rec in r.json()["data"])


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Last_Name:equals:burnside)", ["Burnside"]),
        (r"(Last_Name:equals:Burns\, B)", ["Burns, B"]),
        (r"(Last_Name:equals:\(Paren\))", ["(Paren)"]),
        ("(Last_Name:starts_with:Burn)", ["Burns, B", "Burnside"]),
        ("(Last_Name:not_equal:Burnside)", ["(Paren)", "Burns, B"]),
        ("(City:in:Austin,Chennai)", ["(Paren)", "Burns, B"]),
        ("(No_of_Employees:greater_than:10)", ["(Paren)", "Burnside"]),
        ("(No_of_Employees:less_equal:50)", ["Burns, B", "Burnside"]),
        ("(No_of_Employees:between:20,90)", ["(Paren)", "Burnside"]),
        ("(Annual_Revenue:greater_equal:1000)", ["Burns, B", "Burnside"]),
        ("(Email_Opt_Out:equals:true)", ["Burnside"]),
        ("(Lead_Source:equals:${EMPTY})", ["(Paren)"]),
        ("((Last_Name:starts_with:Burn)and(City:equals:Berlin))", ["Burnside"]),
        ("((City:equals:Austin)or(City:equals:Chennai))", ["(Paren)", "Burns, B"]),
        (
            "((City:equals:Austin) or ((No_of_Employees:equals:50)and(First_Name:equals:Al)))",
            ["Burns, B", "Burnside"],
        ),
        (
            "(City:equals:Austin)and(First_Name:equals:Bo)or(City:equals:Chennai)",
            ["(Paren)", "Burns, B"],
        ),
        ("Last_Name:equals:Burnside", ["Burnside"]),
        ("(Last_Name:equals:Nobody)", []),
    ],
)
def test_criteria(crm: Crm, people: dict[str, str], criteria: str, expected: list[str]) -> None:
    assert _names(crm, criteria=criteria) == expected


def test_criteria_on_ids_owner_and_dates(crm: Crm, people: dict[str, str]) -> None:
    assert _names(crm, criteria=f"(id:equals:{people['Burnside']})") == ["Burnside"]
    assert len(_names(crm, criteria="(Owner:equals:ava@zylker.com)")) == 3
    assert len(_names(crm, criteria="(Created_Time:greater_than:2000-01-01T00:00:00+00:00)")) == 3


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        ("(Nope:equals:x)", "INVALID_QUERY"),
        ("(Last_Name:greater_than:x)", "INVALID_QUERY"),
        ("(Last_Name:sounds_like:x)", "INVALID_QUERY"),
        ("(No_of_Employees:equals:many)", "INVALID_QUERY"),
        ("(No_of_Employees:between:1)", "INVALID_QUERY"),
        ("((Last_Name:equals:x)", "INVALID_QUERY"),
        ("(Last_Name:equals:x))", "INVALID_QUERY"),
        ("(Last_Name:equals:x)xor(City:equals:y)", "INVALID_QUERY"),
        ("(Last_Name:equals:a(b)", "INVALID_QUERY"),
        ("(Last_Name)", "INVALID_QUERY"),
        ("()", "INVALID_QUERY"),
        ("or".join(["(City:equals:x)"] * 11), "LIMIT_EXCEEDED"),
    ],
)
def test_bad_criteria(crm: Crm, criteria: str, code: str) -> None:
    r = crm.http.get("Leads/search", params={"criteria": criteria})
    assert r.status_code == 400
    assert r.json()["code"] == code


def test_ten_conditions_are_fine(crm: Crm) -> None:
    r = crm.http.get("Leads/search", params={"criteria": "or".join(["(City:equals:x)"] * 10)})
    assert r.status_code == 204


def test_email_phone_word(crm: Crm, people: dict[str, str]) -> None:
    assert _names(crm, email="BO@burns.example") == ["Burns, B"]
    assert _names(crm, email="bo@burns") == []
    assert _names(crm, phone="555-010-2030") == ["Burns, B"]
    assert _names(crm, phone="15550102030") == ["Burns, B"]
    assert _names(crm, word="zebras") == ["(Paren)"]
    assert _names(crm, word="BURN") == ["Burns, B", "Burnside"]
    assert crm.http.get("Leads/search", params={"phone": "abc"}).status_code == 400


def test_search_needs_exactly_one_filter(crm: Crm) -> None:
    none = crm.http.get("Leads/search")
    assert none.status_code == 400
    assert none.json()["code"] == "REQUIRED_PARAM_MISSING"
    two = crm.http.get("Leads/search", params={"word": "a", "email": "a@b.c"})
    assert two.status_code == 400
    assert two.json()["code"] == "AMBIGUITY_DURING_PROCESSING"


def test_search_pages_and_fields(crm: Crm) -> None:
    body = crm.http.get("Leads/search", params={"word": "e", "per_page": 3, "page": 2}).json()
    assert body["info"] == {"per_page": 3, "count": 3, "page": 2, "more_records": True}
    assert "Owner" in body["data"][0]  # every field without `fields`
    narrow = crm.http.get("Leads/search", params={"word": "e", "fields": "Email"}).json()["data"]
    assert set(narrow[0]) == {"id", "Email"}
    assert crm.http.get("Leads/search", params={"word": "e", "page": 11}).status_code == 400


def test_count(crm: Crm, people: dict[str, str]) -> None:
    assert crm.http.get("Leads/actions/count").json() == {"count": 3}
    assert crm.http.get("Leads/actions/count", params={"word": "burn"}).json() == {"count": 2}
    crit = crm.http.get("Leads/actions/count", params={"criteria": "(City:equals:Nowhere)"})
    assert crit.json() == {"count": 0}
    assert crm.http.get("Deals/actions/count").json() == {"count": 30}


def test_deep_nesting_is_refused_not_crashed(crm: Crm) -> None:
    deep = "(" * 5000 + "Last_Name:equals:x" + ")" * 5000
    r = crm.http.get("Leads/search", params={"criteria": deep})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_QUERY"
    ok = "(" * 20 + "Last_Name:equals:x" + ")" * 20
    assert crm.http.get("Leads/search", params={"criteria": ok}).status_code == 204
