"""Who and where: the `users` and `org` endpoints.

The official SDK calls `users?type=CurrentUser` and `org` right after a code exchange: it keys
its token store by `users[0].email` and `org[0].zgid`. Shapes follow Zoho's OpenAPI spec
(users.json, org.json) and Zoho's samples (docs/zoho-reference.md §6.1, §Org).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ..model import Org, User
from . import errors
from .auth import ORG_READ, USERS_READ, require_scope
from .call import Call, choice_param, int_param, list_param
from .errors import json_response, no_content

_ROLE_IDS: Final = {"CEO": "0000015966", "Manager": "0000015969"}
_PROFILE_IDS: Final = {"Administrator": "0000015972", "Standard": "0000015975"}
_CREATED: Final = "2026-01-01T09:00:00+00:00"
#: country code -> (country name, locale)
_COUNTRIES: Final = {
    "US": ("United States", "en_US"),
    "DE": ("Germany", "de_DE"),
    "IN": ("India", "en_IN"),
    "AU": ("Australia", "en_AU"),
    "JP": ("Japan", "ja_JP"),
    "CN": ("China", "zh_CN"),
    "CA": ("Canada", "en_CA"),
    "SA": ("Saudi Arabia", "ar_SA"),
    "GB": ("United Kingdom", "en_GB"),
}
#: ISO currency -> (name, symbol, locale)
_CURRENCIES: Final = {
    "USD": ("US Dollar", "$", "en_US"),
    "EUR": ("Euro", "€", "de_DE"),
    "INR": ("Indian Rupee", "₹", "en_IN"),
    "AUD": ("Australian Dollar", "A$", "en_AU"),
    "JPY": ("Japanese Yen", "¥", "ja_JP"),
    "CNY": ("Chinese Yuan", "¥", "zh_CN"),
    "CAD": ("Canadian Dollar", "CA$", "en_CA"),
    "SAR": ("Saudi Riyal", "SAR", "ar_SA"),
    "GBP": ("Pound Sterling", "£", "en_GB"),
}
#: `users?type=` values [docs/zoho-reference.md §6.1] and whether each lists all
#: (active, confirmed) members.
_ALL_TYPES: Final = ("AllUsers", "ActiveUsers", "ConfirmedUsers", "ActiveConfirmedUsers")
_ADMIN_TYPES: Final = ("AdminUsers", "ActiveConfirmedAdmins")
_NOBODY_TYPES: Final = ("DeactiveUsers", "NotConfirmedUsers", "DeletedUsers")
USER_TYPES: Final = (*_ALL_TYPES, *_ADMIN_TYPES, *_NOBODY_TYPES, "CurrentUser")


def _role(zgid: str, name: str, table: dict[str, str]) -> dict[str, str]:
    return {"name": name, "id": f"{zgid}0{table.get(name, '0000015999')}"}


def user_body(user: User, org: Org) -> dict[str, Any]:
    """A CRM user as users.json describes it, in `org` (mixed key case as at Zoho)."""
    _, locale = _COUNTRIES.get(org.country_code, _COUNTRIES["US"])
    crm_id = user.crm_user_ids.get(org.zgid, user.zuid)
    primary = {"name": "Admin", "id": f"{org.zgid}0000000001"}
    return {
        "id": crm_id,
        "zuid": user.zuid,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "role": _role(org.zgid, user.role, _ROLE_IDS),
        "profile": _role(org.zgid, user.profile, _PROFILE_IDS),
        "status": "active",
        "confirm": True,
        "category": "regular_user",
        "locale": locale,
        "language": locale,
        "country_locale": locale,
        "country": org.country_code,
        "time_zone": org.time_zone,
        "offset": 0,
        "date_format": "MMM d, yyyy",
        "time_format": "hh:mm a",
        "decimal_separator": "Period",
        "name_format__s": "Salutation,First Name,Last Name",
        "sort_order_preference__s": "First Name,Last Name",
        "default_tab_group": "0",
        "personal_account": False,
        "sandboxDeveloper": False,
        "microsoft": False,
        "Isonline": False,
        "phone": None,
        "mobile": None,
        "city": None,
        "street": None,
        "state": None,
        "zip": None,
        "fax": None,
        "website": None,
        "alias": None,
        "signature": None,
        "dob": None,
        "created_time": _CREATED,
        "Modified_Time": _CREATED,
        "created_by": primary,
        "Modified_By": primary,
    }


async def users(call: Call) -> Response:
    require_scope(call.caller, *USERS_READ)
    kind = choice_param(call.params, "type", "AllUsers", USER_TYPES)
    org = call.caller.org
    if kind == "CurrentUser":
        members = [call.caller.user]
    elif kind in _NOBODY_TYPES:
        members = []  # every emulated user is active and confirmed
    else:
        members = [u for u in call.state.users.values() if org.zgid in u.orgs]
        if kind in _ADMIN_TYPES:
            members = [u for u in members if u.profile == "Administrator"]
    ids = list_param(call.params, "ids")
    if ids is not None:
        wanted = set(ids)
        members = [u for u in members if u.crm_user_ids.get(org.zgid) in wanted]
    per_page = int_param(call.params, "per_page", 200)
    page = int_param(call.params, "page", 1)
    if per_page > 200:
        raise errors.limit_exceeded("Record count exceeded", param_name="per_page", limit=200)
    start = (page - 1) * per_page
    chosen = members[start : start + per_page]
    if not chosen:
        return no_content()
    info = {
        "per_page": per_page,
        "count": len(chosen),
        "page": page,
        "more_records": start + len(chosen) < len(members),
    }
    return json_response({"users": [user_body(u, org) for u in chosen], "info": info})


async def user(call: Call) -> Response:
    """`users/{id}`: one member of the org by CRM user id; 204 when unknown [docs/zoho-reference.md
    §Current user]."""
    require_scope(call.caller, *USERS_READ)
    org = call.caller.org
    for u in call.state.users.values():
        if u.crm_user_ids.get(org.zgid) == call.record_id and org.zgid in u.orgs:
            return json_response({"users": [user_body(u, org)]})
    return no_content()


def org_body(state_org: Org, primary_email: str) -> dict[str, Any]:
    country, _ = _COUNTRIES.get(state_org.country_code, (state_org.country_code, "en_US"))
    iso = state_org.currency
    name, symbol, locale = _CURRENCIES.get(iso, (iso, iso, "en_US"))
    return {
        "country": country,
        "photo_id": None,
        "city": None,
        "description": None,
        "mc_status": False,
        "gapps_enabled": False,
        "translation_enabled": False,
        "street": None,
        "domain_name": state_org.domain_name,
        "alias": None,
        "currency": f"{name} - {iso}",
        "id": state_org.id,
        "state": None,
        "fax": None,
        "zip": None,
        "employee_count": "10",
        "website": f"https://{state_org.domain_name}.example",
        "currency_symbol": symbol,
        "mobile": None,
        "currency_locale": locale,
        "primary_zuid": state_org.primary_zuid,
        "zia_portal_id": None,
        "time_zone": state_org.time_zone,
        "zgid": state_org.zgid,
        "country_code": state_org.country_code,
        "deletable_org_account": False,
        "license_details": {
            "paid_expiry": "2027-01-01T00:00:00+00:00",
            "users_license_purchased": 10,
            "trial_type": None,
            "trial_expiry": None,
            "paid": True,
            "paid_type": state_org.edition,
            "trial_action": "",
        },
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "phone": "",
        "company_name": state_org.company_name,
        "privacy_settings": False,
        "primary_email": primary_email,
        "iso_code": iso,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "max_per_page": 200,
        "ezgid": f"z{state_org.zgid}",
        "call_icon": "",
        "oauth_presence": True,
        "zia_zgid": int(state_org.zgid) if state_org.zgid.isdecimal() else 0,
        "checkin_preferences": {"restricted_event_types": None},
        "type": state_org.type,
        "created_time": _CREATED,
    }


async def org(call: Call) -> Response:
    require_scope(call.caller, *ORG_READ)
    found = call.caller.org
    return json_response({"org": [org_body(found, found.primary_email)]})
