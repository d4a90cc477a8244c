"""A service key's selection as pure functions: `parse_selection` canonicalises ids and
`kind:value` selectors and refuses unknown kinds; `selects` is the one match decision."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zohoauth.service import keys as k


@dataclass(frozen=True)
class Conn:
    id: str
    dc: str
    org_id: str
    zuid: str
    email: str


_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_label = st.text("abcxyz019", min_size=1, max_size=5)
_domain = st.builds(lambda a, b: f"{a}.{b}", _label, st.sampled_from(["com", "eu", "in", "co"]))
_email = st.builds(lambda u, d: f"{u}@{d}", _word, _domain)
_conns = st.builds(
    Conn,
    id=st.builds(lambda w: "conn_" + w, _word),
    dc=st.sampled_from(["us", "eu", "in", "au", "jp"]),
    org_id=st.sampled_from(["80000001", "80000002", "80000003"]),
    zuid=st.sampled_from(["1001", "1002", "1003"]),
    email=_email,
)


def _entries_for(c: Conn) -> list[str]:
    """Every selector that names `c`, in the forms a person might type them."""
    user, _, domain = c.email.partition("@")
    return [
        c.id,
        f"id:{c.id}",
        f"dc:{c.dc.upper()}",
        f"org:{c.org_id}",
        f"zuid:{c.zuid}",
        f"email:{user.upper()}@{domain}",
        f"DOMAIN:{domain.upper()}",
    ]


@given(_conns, st.data())
def test_every_selector_that_names_a_connection_selects_it(c: Conn, data: st.DataObject) -> None:
    entry = data.draw(st.sampled_from(_entries_for(c)))
    selection = k.parse_selection(entry)
    assert k.selects(selection, c)
    assert k.parse_selection(",".join(selection)) == selection  # canonical is a fixed point


@given(_conns, _conns, st.data())
def test_a_selection_is_the_union_of_its_entries(a: Conn, b: Conn, data: st.DataObject) -> None:
    entries = data.draw(st.lists(st.sampled_from(_entries_for(a) + _entries_for(b)), max_size=4))
    selection = k.parse_selection(entries)
    for c in (a, b):
        assert k.selects(selection, c) == (
            not selection or any(k.selects((e,), c) for e in selection)
        )


@given(_conns, _conns)
def test_a_selector_for_one_connection_says_no_to_a_different_one(a: Conn, b: Conn) -> None:
    """Each kind compares its own field exactly: only a connection sharing it is selected."""
    pairs = [
        (a.id, a.id == b.id),
        (f"dc:{a.dc}", a.dc == b.dc),
        (f"org:{a.org_id}", a.org_id == b.org_id),
        (f"zuid:{a.zuid}", a.zuid == b.zuid),
        (f"email:{a.email}", a.email.lower() == b.email.lower()),
        (f"domain:{a.email.partition('@')[2]}", a.email.split("@")[1] == b.email.split("@")[1]),
    ]
    for entry, same in pairs:
        assert k.selects(k.parse_selection(entry), b) == same, entry


@given(_conns)
def test_an_empty_selection_allows_every_connection(c: Conn) -> None:
    assert k.parse_selection("") == () == k.parse_selection(" , ,")
    assert k.selects((), c) and k.selects_id((), c.id) is True


@given(_conns, st.lists(st.builds(lambda w: "conn_" + w, _word), max_size=3))
def test_the_id_alone_decides_only_when_it_can(c: Conn, ids: list[str]) -> None:
    """`selects_id` never disagrees with `selects`: it answers None when a selector could
    match, so the caller looks the connection up."""
    for selection in (tuple(ids), (*ids, f"dc:{c.dc}"), (*ids, "org:nope")):
        decided = k.selects_id(selection, c.id)
        if decided is None:
            assert any(":" in e for e in selection)
        else:
            assert decided == k.selects(selection, c)


def test_a_subdomain_is_not_the_domain() -> None:
    c = Conn("conn_1", "us", "1", "2", "ava@eu.zylker.com")
    assert not k.selects(("domain:zylker.com",), c)
    assert k.selects(("domain:eu.zylker.com",), c)
    assert not k.selects(("domain:zylker.com",), Conn("conn_1", "us", "1", "2", "zylker.com"))


def test_entries_are_canonical_and_deduplicated() -> None:
    got = k.parse_selection(" conn_a , id:conn_a, DC:EU, email:Ava@Zylker.COM,dc:eu ")
    assert got == ("conn_a", "dc:eu", "email:ava@zylker.com")


@pytest.mark.parametrize(
    "entry", ["region:eu", "tag:billing", "org_id:8000", ":x", "http://x", "dc:", "email:nobody"]
)
def test_unknown_kinds_and_bad_values_name_the_accepted_forms(entry: str) -> None:
    with pytest.raises(ValueError, match="selector") as err:
        k.parse_selection(f"conn_ok,{entry}")
    assert k.SELECTION_FORMS in str(err.value)
    assert "dc:DC" in str(err.value) and "domain:DOMAIN" in str(err.value)


def test_a_key_record_uses_its_selection() -> None:
    key = k.ServiceKey("skey_1", "eu-sync", k.Scope.TOKEN, ("dc:eu",), 0.0)
    assert key.may_use(Conn("conn_x", "eu", "1", "2", "a@b.eu"))
    assert not key.may_use(Conn("conn_y", "us", "1", "2", "a@b.eu"))
