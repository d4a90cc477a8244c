"""A service key's selection on a real store (SQLite, PostgreSQL, MariaDB) with users logged
in through the emulator in two DCs and three orgs: the listing's SQL selects exactly what the
pure rule (`keys.selects`) allows, a connection outside the selection is refused (and audited
as refused), and a selector covers a connection made after the key."""

from __future__ import annotations

import pytest

from zohoauth.emulator import BackgroundEmulator
from zohoauth.errors import ConfigError, ServiceScopeError
from zohoauth.service import keys as k

from ..support.zoho import login, make_auth, register_client

SELECTIONS = [
    "dc:eu",
    "dc:us",
    "org:80000001",
    "org:80000003,dc:eu",
    "email:BEN@zylker.com",
    "domain:zylker.com",
    "domain:brightwave.eu,org:80000001",
    "zuid:{clara_zuid}",
    "{ava_id},dc:eu",
    "{ava_id}",
    "dc:jp",
]


async def test_the_listing_and_every_check_agree_with_the_pure_rule(
    store_url: str, keys: str, emulator: BackgroundEmulator
) -> None:
    client = register_client(emulator.url)
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        ava = await login(auth, "ava@zylker.com")
        ben = await login(auth, "ben@zylker.com")
        clara = await login(auth, "clara@brightwave.eu")
        svc = auth.service
        everyone = (await svc.create_key("all", "admin")).record
        listed, _ = await svc.connections(everyone)
        conns = [i.connection for i in listed]
        assert {c.dc for c in conns} == {"us", "eu"} and len({c.org_id for c in conns}) >= 2
        for template in SELECTIONS:
            text = template.format(ava_id=ava.id, clara_zuid=clara.zuid)
            made = await svc.create_key(f"k-{text}", "admin", connections=tuple(text.split(",")))
            want = {c.id for c in conns if k.selects(made.record.connections, c)}
            page, _ = await svc.connections(made.record)
            assert {i.connection.id for i in page} == want, text
            for c in conns:
                header = f"Bearer {made.key}"
                if c.id in want:
                    assert (await svc.authenticate(header, "token", c.id)).id == made.record.id
                else:
                    with pytest.raises(ServiceScopeError, match="may not use this connection"):
                        await svc.authenticate(header, "token", c.id)
        eu = await svc.create_key("eu", "token", connections=("dc:eu",))
        assert [i.connection.id for i in (await svc.connections(eu.record))[0]] == [clara.id]
        assert ben.id not in {i.connection.id for i in (await svc.connections(eu.record))[0]}
        await svc.flush()
        refused = await svc.audit_log(key=eu.record.id)
        assert refused == []
        with pytest.raises(ServiceScopeError):
            await svc.authenticate(f"Bearer {eu.key}", "token", ava.id)
        with pytest.raises(ServiceScopeError):  # a connection that does not exist: same answer
            await svc.authenticate(f"Bearer {eu.key}", "token", "conn_doesnotexist")
        await svc.flush()
        rows = await svc.audit_log(key=eu.record.id)
        assert {(r.connection_id, r.action, r.outcome, r.detail) for r in rows} == {
            (ava.id, "token", "forbidden", "connection not allowed"),
            ("conn_doesnotexist", "token", "forbidden", "connection not allowed"),
        }


async def test_a_selector_covers_connections_made_after_the_key(
    store_url: str, keys: str, emulator: BackgroundEmulator
) -> None:
    client = register_client(emulator.url)
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        svc = auth.service
        made = await svc.create_key("zylker", "token", connections=("domain:zylker.com",))
        assert (await svc.connections(made.record))[0] == []
        ben = await login(auth, "ben@zylker.com")
        await login(auth, "clara@brightwave.eu")
        page, _ = await svc.connections(made.record)
        assert [i.connection.id for i in page] == [ben.id]
        assert (await svc.authenticate(f"Bearer {made.key}", "token", ben.id)).name == "zylker"
        assert (await svc.token(made.record, ben.id)).token
        await auth.logout(ben.id)
        with pytest.raises(ServiceScopeError):  # gone: no longer selected
            await svc.authenticate(f"Bearer {made.key}", "token", ben.id)


async def test_the_stored_selection_is_canonical_and_listed(
    store_url: str, keys: str, emulator: BackgroundEmulator
) -> None:
    client = register_client(emulator.url)
    async with make_auth(emulator.url, store_url, keys, client) as auth:
        svc = auth.service
        await svc.create_key("mixed", connections=("conn_a", "DC:EU", "email:Ava@Zylker.com"))
        [key] = await svc.list_keys()
        assert key.connections == ("conn_a", "dc:eu", "email:ava@zylker.com")
        with pytest.raises(ConfigError, match="unknown connection selector 'region:'"):
            await svc.create_key("bad", connections=("region:eu",))
        assert [x.name for x in await svc.list_keys()] == ["mixed"]
