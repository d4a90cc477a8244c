"""Who logged in: the current user and their org, asked of CRM right after the code exchange.

The official SDK does the same two calls (docs/zoho-reference.md §6.1, §10) but keys users by
`email:zgid`; we key credentials by the immutable `zuid` and keep email and org name as
attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .credentials import OrgInfo
from .errors import LoginError, TokenRejectedError, TransportError, ZohoUnavailableError

if TYPE_CHECKING:
    from ._http import ZohoHTTP


@dataclass(frozen=True, slots=True)
class Identity:
    zuid: str
    email: str
    full_name: str
    org: OrgInfo


async def _get(http: ZohoHTTP, url: str, token: str, org_id: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    if org_id:
        headers["X-CRM-ORG"] = org_id
    try:
        resp = await http.request("GET", url, headers=headers)
    except TransportError as exc:
        raise ZohoUnavailableError(
            f"could not reach Zoho CRM ({exc.reason}) — try again later"
        ) from exc
    if resp.status >= 500:
        raise ZohoUnavailableError(f"Zoho CRM answered HTTP {resp.status} — try again later")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status != 200 or not isinstance(body, dict):
        code = body.get("code") if isinstance(body, dict) else None
        if resp.status == 401 and code != "OAUTH_SCOPE_MISMATCH":
            raise TokenRejectedError(
                f"Zoho CRM rejected the access token (HTTP 401{', ' + str(code) if code else ''})",
                code=str(code or ""),
            )
        hint = (
            "; the login must grant ZohoCRM.users.READ and ZohoCRM.org.READ"
            if code == "OAUTH_SCOPE_MISMATCH"
            else ""
        )
        raise LoginError(
            f"could not identify the user at Zoho CRM (HTTP {resp.status}"
            f"{', ' + str(code) if code else ''}){hint}"
        )
    return body


async def fetch_org(
    http: ZohoHTTP, api_domain: str, token: str, org_id: str | None = None
) -> OrgInfo:
    """The org the token works in (the default one, or `org_id` via X-CRM-ORG)."""
    body = await _get(http, f"{api_domain}/crm/v8/org", token, org_id)
    orgs = body.get("org")
    if not isinstance(orgs, list) or not orgs or not isinstance(orgs[0], dict):
        raise LoginError("Zoho CRM's org answer had no org; is CRM enabled for this account?")
    org = orgs[0]
    zgid = str(org.get("zgid") or org.get("id") or "")
    if not zgid:
        raise LoginError("Zoho CRM's org answer had no org id")
    return OrgInfo(org_id=zgid, org_name=str(org.get("company_name") or ""))


async def current_user(http: ZohoHTTP, api_domain: str, token: str) -> tuple[str, str, str]:
    """(zuid, email, full name) of the token's user: `GET users?type=CurrentUser`
    (docs/zoho-reference.md §6.1)."""
    body = await _get(http, f"{api_domain}/crm/v8/users?type=CurrentUser", token)
    users = body.get("users")
    if not isinstance(users, list) or not users or not isinstance(users[0], dict):
        raise LoginError("Zoho CRM did not return the current user")
    user = users[0]
    zuid, email = str(user.get("zuid") or ""), str(user.get("email") or "")
    if not zuid or not email:
        raise LoginError("Zoho CRM's current user had no zuid or email")
    return zuid, email, str(user.get("full_name") or "")


async def identify(http: ZohoHTTP, api_domain: str, token: str) -> Identity:
    """`GET users?type=CurrentUser` and `GET org` (docs/zoho-reference.md §6.1, §6.2)."""
    zuid, email, full_name = await current_user(http, api_domain, token)
    org = await fetch_org(http, api_domain, token)
    return Identity(zuid=zuid, email=email, full_name=full_name, org=org)
