"""The emulator's admin API, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

DCS = {"us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"}


def test_health(admin: httpx.Client) -> None:
    assert admin.get("/_emulator/health").json() == {"status": "ok"}


def test_endpoints_list_every_dc_under_its_own_prefix(admin: httpx.Client) -> None:
    eps = admin.get("/_emulator/endpoints").json()
    assert set(eps) == DCS
    base = str(admin.base_url).rstrip("/")
    for dc, ep in eps.items():
        assert ep["accounts_server"] == f"{base}/{dc}/accounts"
        assert ep["api_domain"] == f"{base}/{dc}/api"
    assert len({ep["accounts_server"] for ep in eps.values()}) == len(DCS)


def test_endpoints_say_where_each_dcs_users_sign_in(admin: httpx.Client) -> None:
    """Multi-DC logins start at the US accounts server; China's at its own (a separate Zoho)."""
    eps = admin.get("/_emulator/endpoints").json()
    for dc, ep in eps.items():
        china = dc == "cn"
        assert set(ep) == {"accounts_server", "api_domain", "login_dc", "multi_dc"}
        assert ep["login_dc"] == ("cn" if china else "us")
        assert ep["multi_dc"] is not china
    assert eps["uk"]["accounts_server"].endswith("/uk/accounts")
    assert eps["uk"]["api_domain"].endswith("/uk/api")


def test_seeded_users_span_dcs_and_one_user_has_two_orgs(admin: httpx.Client) -> None:
    users = admin.get("/_emulator/users").json()["users"]
    assert {u["dc"] for u in users} == DCS  # a user (and an org) in every DC
    assert any(len(u["orgs"]) == 2 for u in users)
    for u in users:
        assert u["email"]
        assert u["zuid"]
        assert u["orgs"]


def test_the_uk_and_china_users(admin: httpx.Client) -> None:
    """Earlier users keep their zuids (zuids follow the seed's order); UK's comes last."""
    users = {u["email"]: u for u in admin.get("/_emulator/users").json()["users"]}
    uk, cn = users["isla@thamesledger.co.uk"], users["li@dragongate.cn"]
    assert (uk["dc"], uk["zuid"]) == ("uk", "90000010")
    assert uk["orgs"] == [{"id": "80000010", "company_name": "Thames Ledger Ltd"}]
    assert (cn["dc"], cn["zuid"]) == ("cn", "90000007")
    assert cn["orgs"] == [{"id": "80000007", "company_name": "Dragon Gate Trading"}]
    assert users["ava@zylker.com"]["zuid"] == "90000001"


def test_register_client_validates_input(admin: httpx.Client) -> None:
    ok = admin.post(
        "/_emulator/clients",
        json={"client_id": "1000.TEST", "client_secret": "s", "redirect_uris": ["http://x/cb"]},
    )
    assert ok.status_code == 201
    bad = admin.post(
        "/_emulator/clients",
        json={"client_id": "1000.X", "client_secret": "s", "redirect_uris": ["ftp://x"]},
    )
    assert bad.status_code == 400
    assert "http://" in bad.json()["message"]
    assert admin.post("/_emulator/clients", content=b"{nope").status_code == 400
    assert admin.post("/_emulator/clients", json={"client_secret": "s"}).status_code == 400


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({}, "'client_secret' (common to all DCs) or 'client_secrets' is required"),
        ({"client_secrets": {}}, "or 'client_secrets' is required"),
        ({"client_secrets": ["eu"]}, "must be an object"),
        ({"client_secrets": {"mars": "x"}}, "unknown DC 'mars'"),
        ({"client_secrets": {"eu": ""}}, "of 'eu' must be a non-empty string"),
        ({"client_secret": "", "client_secrets": {"eu": "x"}}, "non-empty string"),
    ],
)
def test_register_client_validates_secrets(
    admin: httpx.Client, secrets: dict[str, object], message: str
) -> None:
    r = admin.post("/_emulator/clients", json={"client_id": "1000.X", **secrets})
    assert r.status_code == 400
    assert message in r.json()["message"]


def test_register_client_with_per_dc_secrets(admin: httpx.Client) -> None:
    r = admin.post(
        "/_emulator/clients",
        json={
            "client_id": "1000.PD",
            "client_secrets": {"uk": "u", "cn": "c"},
            "redirect_uris": [],
        },
    )
    assert r.status_code == 201
    assert r.json() == {"client_id": "1000.PD", "redirect_uris": [], "per_dc_secrets": ["cn", "uk"]}


def test_clock_only_moves_forward(admin: httpx.Client) -> None:
    first = admin.post("/_emulator/clock", json={"advance_seconds": 100}).json()
    assert first["offset_seconds"] == 100
    assert admin.post("/_emulator/clock", json={"advance_seconds": -1}).status_code == 400
    assert admin.post("/_emulator/clock", json={"advance_seconds": "x"}).status_code == 400
    assert admin.get("/_emulator/stats").json()["clock_offset"] == 100


def test_reset_restores_the_seed_and_clock(admin: httpx.Client) -> None:
    admin.post("/_emulator/clock", json={"advance_seconds": 50})
    admin.post("/_emulator/reset")
    assert admin.get("/_emulator/stats").json()["clock_offset"] == 0


@pytest.mark.parametrize(
    "body",
    [{"target": "dns"}, {"target": "api", "dc": "mars"}, {"target": "api", "error_rate": 2}],
)
def test_faults_reject_bad_input(admin: httpx.Client, body: dict[str, object]) -> None:
    assert admin.post("/_emulator/faults", json=body).status_code == 400


def test_outage_fault_fails_only_its_target_and_dc(admin: httpx.Client) -> None:
    admin.post("/_emulator/faults", json={"target": "api", "dc": "eu", "outage": True})
    down = admin.get("/eu/api/crm/v8/org")
    assert down.status_code == 500
    assert down.json()["code"] == "INTERNAL_ERROR"
    assert admin.get("/us/api/crm/v8/org").status_code != 500
    admin.post("/_emulator/faults", json={"target": "api", "dc": "eu"})  # clears it
    assert admin.get("/eu/api/crm/v8/org").status_code != 500


def test_self_client_code_needs_known_client_and_email(admin: httpx.Client) -> None:
    r = admin.post("/_emulator/self-client/code", json={"client_id": "nope", "email": "x@y"})
    assert r.status_code == 404
    users = admin.get("/_emulator/users").json()["users"]
    eu = next(u for u in users if u["dc"] == "eu")
    admin.post(
        "/_emulator/clients",
        json={"client_id": "1000.SC", "client_secret": "s", "redirect_uris": []},
    )
    r = admin.post(
        "/_emulator/self-client/code",
        json={"client_id": "1000.SC", "email": eu["email"], "scope": "ZohoCRM.modules.ALL"},
    )
    body = r.json()
    assert body["location"] == "eu"
    assert body["accounts_server"].endswith("/eu/accounts")
    assert body["code"].startswith("1000.")
