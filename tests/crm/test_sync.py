"""SyncCRMClient: the blocking facade, from a plain function, from threads, and inside a loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.crm import EmulatorTokens, Login
from zohoauth import criteria as c
from zohoauth.crm.sync import SyncCRMClient
from zohoauth.errors import RecordNotFoundError
from zohoauth.manager import AccessToken

pytestmark = pytest.mark.timeout(60)


def test_plain_script_use(ava: Login) -> None:
    tokens = EmulatorTokens(ava)
    with SyncCRMClient(tokens, "ava") as crm:
        assert "ava" in repr(crm)
        assert crm.current_user()["email"] == "ava@zylker.com"
        assert crm.org()["zgid"]
        assert any(m["api_name"] == "Leads" for m in crm.modules())
        assert any(f["api_name"] == "Last_Name" for f in crm.fields("Leads"))
        made = crm.create("Leads", [{"Last_Name": "Sync One", "Email": "sync1@x.example"}])
        rid = made[0]["details"]["id"]
        assert crm.get_record("Leads", rid)["Last_Name"] == "Sync One"
        assert crm.update("Leads", [{"id": rid, "City": "Oslo"}])[0]["code"] == "SUCCESS"
        ups = crm.upsert(
            "Leads", [{"Last_Name": "Sync One", "Email": "sync1@x.example"}], ["Email"]
        )
        assert ups[0]["details"]["id"] == rid
        assert [
            r["id"] for r in crm.search("Leads", criteria=c.equals("Email", "sync1@x.example"))
        ] == [rid]
        assert crm.search_page("Leads", email="sync1@x.example").data[0]["id"] == rid
        assert crm.count("Leads", email="sync1@x.example") == 1
        page = crm.list_records("Leads", ["Last_Name"], per_page=3)
        assert len(page.data) == 3
        every = list(crm.iter_records("Leads", ["Last_Name"]))
        assert len(every) == crm.count("Leads")
        assert crm.delete("Leads", [rid])[0]["code"] == "SUCCESS"
        with pytest.raises(RecordNotFoundError):
            crm.get_record("Leads", rid)
        with pytest.raises(ValueError, match="exactly one"):
            crm.search("Leads")
    assert tokens.calls > 0


def test_many_threads_share_one_client(ava: Login) -> None:
    with SyncCRMClient(EmulatorTokens(ava), "ava") as crm:
        expected = crm.count("Leads")

        def work(i: int) -> tuple[int, int, str]:
            n = crm.count("Leads")
            rows = list(crm.iter_records("Leads", ["Last_Name"], per_page=7, limit=20))
            return n, len(rows), threading.current_thread().name

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(work, range(32)))
    assert {n for n, _, _ in results} == {expected}
    assert {k for _, k, _ in results} == {20}
    assert len({name for _, _, name in results}) > 1


def test_works_from_a_thread_running_its_own_event_loop(ava: Login) -> None:
    with SyncCRMClient(EmulatorTokens(ava), "ava") as crm:

        async def inside() -> str:
            return str(crm.org()["zgid"])  # blocks this loop briefly, but cannot deadlock

        assert asyncio.run(inside())


def test_breaking_out_of_an_iterator_and_closing(ava: Login) -> None:
    crm = SyncCRMClient(EmulatorTokens(ava), "ava")
    for i, _ in enumerate(crm.iter_records("Leads", ["Last_Name"], per_page=2)):
        if i == 2:
            break
    crm.close()
    crm.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        crm.org()


class ReentrantTokens(EmulatorTokens):
    """A token provider that uses the blocking client itself, i.e. from the client's loop."""

    crm: SyncCRMClient | None = None

    async def access_token(
        self, connection_id: str, *, stale: str | None = None, verify: bool = False
    ) -> AccessToken:
        assert self.crm is not None
        self.crm.org()
        return await super().access_token(connection_id, stale=stale)


def test_a_call_from_the_clients_own_loop_is_refused_not_a_deadlock(ava: Login) -> None:
    tokens = ReentrantTokens(ava)
    with SyncCRMClient(tokens, "ava") as crm:
        tokens.crm = crm
        with pytest.raises(RuntimeError, match="own event loop"):
            crm.org()


def test_bad_arguments_raise_and_leave_no_thread(ava: Login) -> None:
    before = threading.active_count()
    with pytest.raises(TypeError, match="http"):
        SyncCRMClient(EmulatorTokens(ava), "ava", http=None)
    with pytest.raises(TypeError):
        SyncCRMClient(EmulatorTokens(ava), "ava", no_such_option=1)
    assert threading.active_count() == before
