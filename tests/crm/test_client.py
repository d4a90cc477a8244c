"""CRMClient against the emulator over real HTTP: records, pagination, orgs, search, metadata."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.crm import EmulatorTokens, Login, RequestLog, org_ids
from zohoauth import criteria as c
from zohoauth.crm import CRMClient
from zohoauth.datacenters import DataCenterRegistry
from zohoauth.errors import DataCenterError, InvalidDataError, RecordNotFoundError


@pytest.fixture
async def crm(ava: Login) -> AsyncIterator[CRMClient]:
    async with CRMClient(EmulatorTokens(ava), "ava") as client:
        yield client


def unique(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def test_metadata_user_and_org(crm: CRMClient) -> None:
    modules = {m["api_name"] for m in await crm.modules()}
    assert {"Leads", "Contacts", "Deals", "Accounts"} <= modules
    fields = {f["api_name"] for f in await crm.fields("Leads")}
    assert {"Last_Name", "Email"} <= fields
    assert (await crm.current_user())["email"] == "ava@zylker.com"
    assert (await crm.org())["company_name"]


async def test_crud_round_trip_with_per_record_results(crm: CRMClient) -> None:
    name = unique("Crud")
    results = await crm.create(
        "Leads",
        [
            {"Last_Name": name, "Email": f"{name}@x.example"},
            {"First_Name": "no last name"},  # fails alone: MANDATORY_NOT_FOUND, not raised
            {"Last_Name": name + "b"},
        ],
    )
    assert [r["status"] for r in results] == ["success", "error", "success"]
    assert results[1]["code"] == "MANDATORY_NOT_FOUND"
    assert results[1]["details"]["api_name"] == "Last_Name"
    rid = results[0]["details"]["id"]

    record = await crm.get_record("Leads", rid, ["Last_Name", "Email"])
    assert record["id"] == rid
    assert record["Last_Name"] == name

    updated = await crm.update("Leads", [{"id": rid, "Company": "Zylker"}])
    assert updated[0]["code"] == "SUCCESS"
    assert (await crm.get_record("Leads", rid))["Company"] == "Zylker"

    upserted = await crm.upsert(
        "Leads",
        [
            {"Last_Name": name, "Email": f"{name}@x.example", "City": "Austin"},
            {"Last_Name": unique("Ups"), "Email": f"{unique()}@x.example"},
        ],
        duplicate_check_fields=["Email"],
    )
    assert [u["details"].get("id") == rid for u in upserted] == [True, False]
    assert [u.get("action") for u in upserted] == ["update", "insert"]

    deleted = await crm.delete("Leads", [rid])
    assert deleted[0]["code"] == "SUCCESS"
    with pytest.raises(RecordNotFoundError) as info:
        await crm.get_record("Leads", rid)
    assert rid in str(info.value)


async def test_all_failing_batch_is_returned_not_raised(crm: CRMClient) -> None:
    results = await crm.create("Leads", [{"First_Name": "a"}, {"First_Name": "b"}])
    assert [r["code"] for r in results] == ["MANDATORY_NOT_FOUND"] * 2


async def test_writes_go_in_batches_of_100_in_input_order(ava: Login) -> None:
    log = RequestLog()
    async with log.client() as http, CRMClient(EmulatorTokens(ava), "ava", http=http) as crm:
        tag = unique("Bulk")
        results = await crm.create("Leads", [{"Last_Name": f"{tag}-{i}"} for i in range(250)])
        assert [r.method for r in log.requests] == ["POST"] * 3
        assert len(results) == 250
        ids = [r["details"]["id"] for r in results]
        assert len(set(ids)) == 250
        for i in (0, 99, 100, 249):
            assert (await crm.get_record("Leads", ids[i]))["Last_Name"] == f"{tag}-{i}"

        log.requests.clear()
        deleted = await crm.delete("Leads", ids)
        assert [r.method for r in log.requests] == ["DELETE"] * 3
        assert [d["details"]["id"] for d in deleted] == ids


async def test_update_without_an_id_fails_before_sending(ava: Login) -> None:
    tokens = EmulatorTokens(ava)
    async with CRMClient(tokens, "ava") as crm:
        with pytest.raises(InvalidDataError, match="record id"):
            await crm.update("Leads", [{"id": "1"}, {"Last_Name": "no id"}])
        with pytest.raises(InvalidDataError, match="record id"):
            await crm.delete("Leads", ["123", "12;DROP"])
        assert await crm.create("Leads", []) == []
    assert tokens.calls == 0


async def test_iter_records_crosses_2000_with_page_token(ava: Login) -> None:
    """>2,000 records: `page` up to 2,000, then `page_token` (never both in one request)."""
    log = RequestLog()
    async with log.client() as http, CRMClient(EmulatorTokens(ava), "ava", http=http) as crm:
        tag = unique("Page")
        created = await crm.create("Contacts", [{"Last_Name": f"{tag}-{i}"} for i in range(2100)])
        assert all(r["status"] == "success" for r in created)
        total = await crm.count("Contacts")
        assert total > 2100

        log.requests.clear()
        seen = [r["id"] async for r in crm.iter_records("Contacts", ["Last_Name"])]
    assert len(seen) == total
    assert len(set(seen)) == total
    assert {r["details"]["id"] for r in created} <= set(seen)

    params = log.params()
    assert all(not ("page" in p and "page_token" in p) for p in params)
    numbered = [int(p["page"]) for p in params if "page" in p]
    assert numbered == list(range(1, 11))  # 10 x 200 = the first 2,000
    assert sum("page_token" in p for p in params) == len(params) - 10 >= 1


async def test_list_records_one_page_and_limit(ava: Login) -> None:
    log = RequestLog()
    async with log.client() as http, CRMClient(EmulatorTokens(ava), "ava", http=http) as crm:
        page = await crm.list_records("Leads", ["Last_Name"], per_page=5, sort_order="asc")
        assert len(page.data) == 5
        assert page.more_records
        assert page.as_dict() == {"data": page.data, "info": page.info}
        second = await crm.list_records("Leads", ["Last_Name"], per_page=5, page=2)
        assert not {r["id"] for r in second.data} & {r["id"] for r in page.data}
        if page.next_page_token:
            by_token = await crm.list_records(
                "Leads",
                ["Last_Name"],
                per_page=5,
                sort_order="asc",
                page_token=page.next_page_token,
            )
            assert by_token.data
        with pytest.raises(ValueError, match="not both"):
            await crm.list_records("Leads", ["Last_Name"], page=2, page_token="x")

        log.requests.clear()
        few = [r async for r in crm.iter_records("Leads", ["Last_Name"], limit=7)]
        assert len(few) == 7
        assert [p["per_page"] for p in log.params()] == ["7"]
        assert [r async for r in crm.iter_records("Leads", ["Last_Name"], limit=0)] == []


async def test_two_org_user_reaches_each_org_with_x_crm_org(
    admin: httpx.Client, ava: Login
) -> None:
    first, second = org_ids(admin, "ava@zylker.com")
    log = RequestLog()
    async with (
        log.client() as http,
        CRMClient(EmulatorTokens(ava, first), "ava-1", http=http) as crm1,
        CRMClient(EmulatorTokens(ava, second), "ava-2", http=http) as crm2,
    ):
        assert (await crm1.org())["zgid"] == first
        assert (await crm2.org())["zgid"] == second
        name = unique("Org2")
        rid = (await crm2.create("Leads", [{"Last_Name": name}]))[0]["details"]["id"]
        assert (await crm2.get_record("Leads", rid))["Last_Name"] == name
        with pytest.raises(RecordNotFoundError):
            await crm1.get_record("Leads", rid)
        assert [r async for r in crm1.search("Leads", criteria=c.equals("Last_Name", name))] == []
    assert {r.headers["x-crm-org"] for r in log.requests} == {first, second}


async def test_no_org_header_without_an_org(ava: Login) -> None:
    log = RequestLog()
    async with log.client() as http, CRMClient(EmulatorTokens(ava), "ava", http=http) as crm:
        await crm.org()
    assert "x-crm-org" not in log.requests[0].headers
    assert log.requests[0].headers["authorization"].startswith("Zoho-oauthtoken 1000.")


async def test_search_criteria_word_email_and_count(crm: CRMClient) -> None:
    name = unique("Srch") + r" (Jr), a\b"
    email = f"{unique()}@search.example"
    await crm.create("Leads", [{"Last_Name": name, "Email": email, "Company": "Acme"}])

    found = [r async for r in crm.search("Leads", criteria=c.equals("Last_Name", name))]
    assert [r["Last_Name"] for r in found] == [name]
    expr = c.equals("Email", email) & c.starts_with("Last_Name", name[:8])
    assert [r["Email"] async for r in crm.search("Leads", criteria=expr)] == [email]
    assert len([r async for r in crm.search("Leads", email=email)]) == 1
    assert email in [r.get("Email") async for r in crm.search("Leads", word=name[:14])]
    assert await crm.count("Leads", criteria=c.equals("Email", email)) == 1
    assert await crm.count("Leads") >= 1
    page = await crm.search_page("Leads", email=email, fields=["Email"])
    assert [r["Email"] for r in page.data] == [email]

    # nothing matches: Zoho's 204 with an empty body is no records, not an error
    nobody = f"{unique()}@nobody.example"
    assert [r async for r in crm.search("Leads", email=nobody)] == []
    assert (await crm.search_page("Leads", email=nobody)).data == []
    assert await crm.count("Leads", email=nobody) == 0


async def test_search_needs_exactly_one_parameter(crm: CRMClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        crm.search("Leads")
    with pytest.raises(ValueError, match="word= and email="):
        crm.search("Leads", word="a", email="b@c.d")
    with pytest.raises(ValueError, match="exactly one"):
        await crm.count("Leads", word="a", phone="1")


async def test_registry_refuses_an_api_domain_outside_the_dc(
    admin: httpx.Client, ava: Login
) -> None:
    endpoints = admin.get("/_emulator/endpoints").json()
    registry = DataCenterRegistry.from_endpoints(endpoints)
    log = RequestLog()
    wrong = EmulatorTokens(ava, api_domain=endpoints["eu"]["api_domain"])
    async with log.client() as http:
        async with CRMClient(wrong, "ava", http=http, registry=registry) as crm:
            with pytest.raises(DataCenterError, match="not an API host"):
                await crm.org()
        assert log.requests == []
        async with CRMClient(EmulatorTokens(ava), "ava", http=http, registry=registry) as crm:
            assert (await crm.org())["zgid"]
