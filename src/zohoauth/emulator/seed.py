"""The emulator's seed: orgs, users, clients and records, from the built-in default or a file.

A seed file is JSON with any of these keys (all optional; omitted ones take the default's):

    {"config":  {"access_token_ttl": 600, "grant_limits": false, ...},  # EmulatorConfig
     "clients": [{"client_id", "client_secret"?, "client_secrets"?: {"<dc>": secret},
                  "redirect_uris": [...], "name"?}],               # a secret: common or per DC
     "orgs":    [{"zgid", "company_name", "dc", "edition"?, "country_code"?, "currency"?,
                  "time_zone"?}],
     "users":   [{"email", "first_name", "last_name", "dc", "orgs": [zgid, ...], "zuid"?}],
     "records": {"<zgid>": {"Leads": [{...}, ...]}},       # explicit records
     "generate_records": 30}                               # generated per module per org

Generated records are deterministic (seeded by org), so tests and screenshots are stable.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .dcs import DATA_CENTERS
from .model import Client, Org, User
from .modules import MODULES
from .state import EmulatorState

#: The demo client, registered in every DC (Multi-DC on), for `zohoauth demo`.
DEMO_CLIENT_ID = "1000.DEMO0CLIENT0ZOHOAUTH0EMULATOR00"
DEMO_CLIENT_SECRET = "demo-secret-0123456789abcdef0123456789abcdef"  # emulator-only, not a secret
DEMO_REDIRECT_URIS = [
    f"http://{host}:{port}/redirect.html"
    for host in ("127.0.0.1", "localhost")
    for port in (8000, 8080)
]

DEFAULT_SEED: dict[str, Any] = {
    "clients": [
        {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "redirect_uris": DEMO_REDIRECT_URIS,
            "name": "zohoauth demo",
        }
    ],
    "orgs": [
        {"zgid": "80000001", "company_name": "Zylker Inc.", "dc": "us"},
        {"zgid": "80000002", "company_name": "Zylker Labs", "dc": "us", "edition": "Professional"},
        {"zgid": "80000003", "company_name": "Brightwave GmbH", "dc": "eu"},
        {"zgid": "80000004", "company_name": "Sunrise Traders", "dc": "in"},
        {"zgid": "80000005", "company_name": "Koala Freight", "dc": "au"},
        {"zgid": "80000006", "company_name": "Sakura Systems", "dc": "jp"},
        {"zgid": "80000007", "company_name": "Dragon Gate Trading", "dc": "cn"},
        {"zgid": "80000008", "company_name": "Maple Analytics", "dc": "ca"},
        {"zgid": "80000009", "company_name": "Oasis Holdings", "dc": "sa"},
        {
            "zgid": "80000010",
            "company_name": "Thames Ledger Ltd",
            "dc": "uk",
            "country_code": "GB",
            "currency": "GBP",
            "time_zone": "Europe/London",
        },
    ],
    "users": [
        # Ava belongs to two orgs: the multi-org case (X-CRM-ORG selects one).
        {
            "email": "ava@zylker.com",
            "first_name": "Ava",
            "last_name": "Chen",
            "dc": "us",
            "orgs": ["80000001", "80000002"],
        },
        {
            "email": "ben@zylker.com",
            "first_name": "Ben",
            "last_name": "Ortiz",
            "dc": "us",
            "orgs": ["80000001"],
            "role": "Manager",
            "profile": "Standard",
        },
        {
            "email": "clara@brightwave.eu",
            "first_name": "Clara",
            "last_name": "Vogel",
            "dc": "eu",
            "orgs": ["80000003"],
        },
        {
            "email": "dev@sunrise.in",
            "first_name": "Dev",
            "last_name": "Sharma",
            "dc": "in",
            "orgs": ["80000004"],
        },
        {
            "email": "ella@koalafreight.au",
            "first_name": "Ella",
            "last_name": "Mason",
            "dc": "au",
            "orgs": ["80000005"],
        },
        {
            "email": "haru@sakura.jp",
            "first_name": "Haru",
            "last_name": "Sato",
            "dc": "jp",
            "orgs": ["80000006"],
        },
        {
            "email": "li@dragongate.cn",
            "first_name": "Li",
            "last_name": "Wei",
            "dc": "cn",
            "orgs": ["80000007"],
        },
        {
            "email": "noah@maple.ca",
            "first_name": "Noah",
            "last_name": "Tremblay",
            "dc": "ca",
            "orgs": ["80000008"],
        },
        {
            "email": "omar@oasis.sa",
            "first_name": "Omar",
            "last_name": "Haddad",
            "dc": "sa",
            "orgs": ["80000009"],
        },
        # New users go last: zuids follow the list order, and tests know the earlier ones.
        {
            "email": "isla@thamesledger.co.uk",
            "first_name": "Isla",
            "last_name": "Davies",
            "dc": "uk",
            "orgs": ["80000010"],
        },
    ],
    "generate_records": 30,
}

_FIRST = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Mia",
    "Lucas",
    "Sofia",
    "Arjun",
    "Yuki",
    "Lena",
    "Mateo",
    "Chloe",
    "Ravi",
    "Hana",
    "Omar",
    "Zoe",
    "Ivan",
    "Amara",
    "Felix",
    "Nora",
)
_LAST = (
    "Smith",
    "Garcia",
    "Müller",
    "Kumar",
    "Tanaka",
    "Rossi",
    "Dubois",
    "Kim",
    "Silva",
    "Novak",
    "Hughes",
    "Okafor",
    "Larsen",
    "Moreau",
    "Patel",
    "Cohen",
    "Ali",
    "Berg",
)
_COMPANY = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
)
_CITY = (
    "Austin",
    "Berlin",
    "Chennai",
    "Sydney",
    "Osaka",
    "Shenzhen",
    "Toronto",
    "Riyadh",
    "London",
    "Paris",
    "Madrid",
    "Denver",
)


def zoho_time(moment: datetime) -> str:
    """Zoho's datetime format: ISO 8601 to the second, with an offset."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def make_client(data: dict[str, Any]) -> Client:
    """A client from its JSON description (seed file or `POST /_emulator/clients`).

    `client_secret` is common to all DCs; `client_secrets` maps DCs to their own secrets. At
    least one secret is needed. Raises ValueError saying what is wrong.
    """
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise ValueError("'client_id' must be a non-empty string")
    common = data.get("client_secret")
    if common is not None and (not isinstance(common, str) or not common):
        raise ValueError("'client_secret' must be a non-empty string")
    per_dc = data.get("client_secrets") or {}
    if not isinstance(per_dc, dict):
        raise ValueError('\'client_secrets\' must be an object of {"<dc>": "<secret>"}')
    for dc, secret in per_dc.items():
        if dc not in DATA_CENTERS:
            raise ValueError(
                f"'client_secrets' names unknown DC {dc!r}; known: {list(DATA_CENTERS)}"
            )
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"'client_secrets' of {dc!r} must be a non-empty string")
    if common is None and not per_dc:
        raise ValueError("'client_secret' (common to all DCs) or 'client_secrets' is required")
    uris = data.get("redirect_uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ValueError("'redirect_uris' must be a list of strings")
    for uri in uris:
        if not uri.startswith(("http://", "https://")):
            raise ValueError(f"redirect URI {uri!r} must start with http:// or https://")
    return Client(client_id, common, list(uris), str(data.get("name", "client")), dict(per_dc))


def load_seed(path: Path | None) -> dict[str, Any]:
    """The default seed, or the file at `path` laid over it. Raises ValueError with the reason."""
    if path is None:
        return DEFAULT_SEED
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"seed file {path} does not exist") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"seed file {path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"seed file {path} must hold a JSON object")
    return {**DEFAULT_SEED, **data}


def apply_seed(state: EmulatorState, seed: dict[str, Any]) -> None:
    """Load `seed` into an empty `state`."""
    if seed.get("config"):
        # Over the config the emulator was started with (reset re-applies it: idempotent).
        state.base_config = state.base_config.with_overrides(seed["config"])
        state.config = state.base_config
    for c in seed.get("clients", []):
        state.add_client(make_client(c))
    users = seed.get("users", [])
    for o in seed.get("orgs", []):
        if o["dc"] not in DATA_CENTERS:
            raise ValueError(f"org {o['zgid']} names unknown DC {o['dc']!r}")
        members = [u for u in users if o["zgid"] in u.get("orgs", [])]
        primary = members[0] if members else {"email": "admin@example.com"}
        state.add_org(
            Org(
                zgid=str(o["zgid"]),
                id=f"{o['zgid']}000000026002",
                company_name=o["company_name"],
                dc=o["dc"],
                domain_name=f"org{o['zgid']}",
                primary_email=primary["email"],
                primary_zuid="",
                edition=o.get("edition", "Enterprise"),
                time_zone=o.get("time_zone", "GMT"),
                currency=o.get("currency", "USD"),
                country_code=o.get("country_code", "US"),
            )
        )
    for n, u in enumerate(users):
        if u["dc"] not in DATA_CENTERS:
            raise ValueError(f"user {u['email']} names unknown DC {u['dc']!r}")
        zuid = str(u.get("zuid") or 90_000_000 + n + 1)
        user = User(
            zuid=zuid,
            email=u["email"],
            first_name=u.get("first_name", ""),
            last_name=u.get("last_name", u["email"].split("@")[0]),
            dc=u["dc"],
            orgs=[str(z) for z in u.get("orgs", [])],
            role=u.get("role", "CEO"),
            profile=u.get("profile", "Administrator"),
        )
        for zgid in user.orgs:
            if zgid not in state.orgs:
                raise ValueError(f"user {u['email']} names unknown org {zgid}")
            if state.orgs[zgid].dc != user.dc:
                raise ValueError(
                    f"user {u['email']} (dc {user.dc}) cannot join org {zgid} "
                    f"in dc {state.orgs[zgid].dc}"
                )
            user.crm_user_ids[zgid] = state.next_id()
            if not state.orgs[zgid].primary_zuid:
                state.orgs[zgid].primary_zuid = zuid
        state.add_user(user)
    for zgid in state.orgs:
        for module in MODULES:
            state.records[(zgid, module)] = {}
    count = int(seed.get("generate_records", 0))
    for zgid in state.orgs:
        _generate(state, zgid, count)
    for zgid, modules in (seed.get("records") or {}).items():
        for module, rows in modules.items():
            for row in rows:
                rec = dict(row)
                rec.setdefault("id", state.next_id())
                state.records[(str(zgid), module)][str(rec["id"])] = rec


def _owner(state: EmulatorState, zgid: str) -> dict[str, str]:
    org = state.orgs[zgid]
    user = state.users.get(org.primary_zuid)
    if user is None:
        return {"name": "Admin", "id": f"{zgid}0000000001", "email": org.primary_email}
    return {"name": user.full_name, "id": user.crm_user_ids[zgid], "email": user.email}


def _generate(state: EmulatorState, zgid: str, count: int) -> None:
    rng = random.Random(int(zgid))  # deterministic per org
    owner = _owner(state, zgid)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    org = state.orgs[zgid]
    accounts: list[dict[str, Any]] = []
    for module in ("Accounts", "Leads", "Contacts", "Deals"):
        for i in range(count):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            company = f"{rng.choice(_COMPANY)} {rng.choice(('Corp', 'Ltd', 'GmbH', 'Inc', 'Co'))}"
            city = rng.choice(_CITY)
            created = start + timedelta(hours=7 * i + rng.randint(0, 6), minutes=rng.randint(0, 59))
            rec: dict[str, Any] = {
                "id": state.next_id(),
                "Owner": owner,
                "Created_Time": zoho_time(created),
                "Modified_Time": zoho_time(created + timedelta(days=rng.randint(0, 30))),
                "Created_By": {"name": owner["name"], "id": owner["id"]},
                "Modified_By": {"name": owner["name"], "id": owner["id"]},
            }
            slug = f"{first}.{last}{i}".lower().replace("ü", "u")
            if module == "Accounts":
                rec.update(
                    Account_Name=f"{company} {city}",
                    Phone=f"+1 555 01{i:02d}",
                    Website=f"https://{company.split()[0].lower()}{i}.example",
                    Industry=rng.choice(("Technology", "Finance", "Retail")),
                    Account_Type="Customer",
                    Employees=rng.randint(5, 5000),
                    Annual_Revenue=float(rng.randint(1, 900) * 10_000),
                    Billing_City=city,
                    Billing_Country=org.country_code,
                )
                accounts.append(rec)
            elif module == "Leads":
                rec.update(
                    First_Name=first,
                    Last_Name=last,
                    Company=company,
                    Email=f"{slug}@{company.split()[0].lower()}.example",
                    Phone=f"+1 555 02{i:02d}",
                    City=city,
                    Lead_Status="Not Contacted",
                    Lead_Source=rng.choice(("Web Download", "Cold Call", "Partner")),
                    Annual_Revenue=float(rng.randint(1, 500) * 1000),
                    No_of_Employees=rng.randint(1, 900),
                    Email_Opt_Out=False,
                )
            elif module == "Contacts":
                acct = rng.choice(accounts) if accounts else None
                rec.update(
                    First_Name=first,
                    Last_Name=last,
                    Title="Buyer",
                    Email=f"{slug}@contact.example",
                    Phone=f"+1 555 03{i:02d}",
                    Mailing_City=city,
                    Account_Name={"name": acct["Account_Name"], "id": acct["id"]} if acct else None,
                )
            else:
                acct = rng.choice(accounts) if accounts else None
                rec.update(
                    Deal_Name=f"{company} renewal {i}",
                    Stage=rng.choice(("Qualification", "Needs Analysis", "Closed Won")),
                    Amount=float(rng.randint(1, 200) * 500),
                    Closing_Date=(created + timedelta(days=45)).date().isoformat(),
                    Probability=rng.choice((10, 20, 40, 60, 90)),
                    Account_Name={"name": acct["Account_Name"], "id": acct["id"]} if acct else None,
                )
            state.records[(zgid, module)][rec["id"]] = rec
