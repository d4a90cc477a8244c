"""Small builders for the store's tests: token sets, keys and logins."""

from __future__ import annotations

import time

from zohoauth.credentials import Connection, CredentialKey, Login, OrgInfo, TokenSet
from zohoauth.store.sql import SQLTokenStore

from .tokens import zoho_token

CLIENT_ID = "1000.TESTCLIENT0000000000000000000"
API_DOMAIN = "https://www.zohoapis.com"
SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.READ")


def new_tokens(expires_in: float = 3600) -> TokenSet:
    return TokenSet(zoho_token(), zoho_token(), time.time() + expires_in)


def key(zuid: str = "700000001", dc: str = "us", client_id: str = CLIENT_ID) -> CredentialKey:
    return CredentialKey(client_id, dc, zuid)


async def login(
    store: SQLTokenStore,
    k: CredentialKey,
    email: str = "ada@example.com",
    orgs: tuple[tuple[str, str], ...] = (("6000001", "Acme"),),
    tokens: TokenSet | None = None,
) -> list[Connection]:
    org_infos = tuple(OrgInfo(org_id, name) for org_id, name in orgs)
    return await store.save_login(
        Login(k, email, tokens or new_tokens(), API_DOMAIN, SCOPES, org_infos)
    )
