"""`save_logins`: a batch of logins in one transaction, with `save_login`'s meaning row by row."""

from __future__ import annotations

from zohoauth.credentials import Login, OrgInfo
from zohoauth.errors import StoreError
from zohoauth.store.sql import SQLTokenStore

from ..support.store import API_DOMAIN, SCOPES, key, login, new_tokens


async def test_batch_inserts_new_users_and_updates_known_ones_in_order(
    store: SQLTokenStore,
) -> None:
    [known] = await login(store, key("1"), "one@example.com")
    first, later = new_tokens(), new_tokens()
    batch = [
        Login(
            key("1"),
            "one@example.com",
            new_tokens(),
            API_DOMAIN,
            SCOPES,
            (OrgInfo("6000001", "Acme"),),
        ),
        Login(key("2"), "two@example.com", first, API_DOMAIN, SCOPES, (OrgInfo("6000002", "B"),)),
        Login(
            key("3"),
            "three@example.com",
            new_tokens(),
            API_DOMAIN,
            (),
            (OrgInfo("6000003", "C"), OrgInfo("6000004", "D")),
        ),
        Login(key("2"), "Two@Example.com", later, API_DOMAIN, SCOPES, (OrgInfo("6000002", "B2"),)),
    ]
    saved = await store.save_logins(batch)
    assert not any(isinstance(s, StoreError) for s in saved)
    conns = [s for s in saved if not isinstance(s, StoreError)]
    assert conns[0][0].id == known.id  # a re-login keeps the connection id
    assert [c.org_id for c in conns[2]] == ["6000003", "6000004"]
    assert conns[3][0].id == conns[1][0].id  # the later row updated the earlier one's
    two = await store.get_credential(key("2"))
    assert two is not None
    assert two.tokens == later and two.email == "Two@Example.com"
    got = await store.get_connection(conns[3][0].id)
    assert got is not None and got.org_name == "B2"
    assert len(await store.find_connections()) == 4


async def test_a_batch_that_fails_is_saved_one_by_one(store: SQLTokenStore) -> None:
    too_long = "x" * 400  # longer than the email column: the batch (and that login) fail
    batch = [
        Login(key("1"), "ok@example.com", new_tokens(), API_DOMAIN, SCOPES, (OrgInfo("1", "A"),)),
        Login(key("2"), too_long, new_tokens(), API_DOMAIN, SCOPES, (OrgInfo("2", "B"),)),
    ]
    saved = await store.save_logins(batch)
    if store.dialect == "sqlite":  # SQLite does not enforce VARCHAR lengths
        assert not any(isinstance(s, StoreError) for s in saved)
        return
    assert not isinstance(saved[0], StoreError)
    assert isinstance(saved[1], StoreError)
    assert await store.get_credential(key("1")) is not None
    assert await store.get_credential(key("2")) is None
