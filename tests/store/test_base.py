"""The `TokenStore` protocol declares exactly what callers use, and `SQLTokenStore` has it all.

mypy proves both statically (callers are typed against the protocol; `store/sql.py` assigns
`SQLTokenStore` to `type[TokenStore]`); these tests say the same at run time, so a method
added to the store and called from outside without the protocol fails here too.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import zohoauth
from zohoauth.store.base import TokenStore
from zohoauth.store.sql import SQLTokenStore

SRC = Path(zohoauth.__file__).parent

#: SQL-only members, used only by code that constructs the SQLTokenStore itself: the CLI's
#: key commands (their store comes from `cli.tokens.open_store`), `doctor`'s checks, and the
#: token service and the background refresher's claims, which run their own statements on the
#: store's engine (they need SQLTokenStore: `ZohoAuth.service` and `ZohoAuth.refresher` check).
CONCRETE_ONLY = {
    "count_by_key_id": {"cli/keys.py", "ops/checks.py"},
    "keyring": {"cli/keys.py", "service/service.py", "refresher/claims.py"},
    "url": {"ops/checks.py"},
    "engine": {"service/service.py", "refresher/claims.py"},
    "guard": {"service/service.py", "refresher/claims.py"},
    "clock": {"service/service.py"},
}


def _protocol_members() -> set[str]:
    members = vars(TokenStore).items()
    return {n for n, v in members if inspect.isfunction(v) and not n.startswith("_")}


def _store_uses() -> dict[str, set[str]]:
    """member -> modules (relative to the package) that use `<something>store.<member>`,
    outside the store package itself and the emulator."""
    uses: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(("store/", "emulator/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value).endswith("store"):
                uses.setdefault(node.attr, set()).add(rel)
    return uses


def test_callers_use_only_what_the_protocol_declares() -> None:
    uses = _store_uses()
    undeclared = {m: mods for m, mods in uses.items() if m not in _protocol_members()}
    assert set(undeclared) <= set(CONCRETE_ONLY), undeclared
    for member, modules in undeclared.items():
        assert modules <= CONCRETE_ONLY[member], (member, modules)


def test_the_protocol_claims_nothing_that_no_caller_uses() -> None:
    uses = _store_uses()
    assert {m for m in _protocol_members() if m not in uses} == set()


def test_sql_token_store_has_every_member_with_the_same_parameters() -> None:
    for name in _protocol_members():
        declared = inspect.signature(getattr(TokenStore, name))
        implemented = inspect.signature(getattr(SQLTokenStore, name))
        assert list(implemented.parameters) == list(declared.parameters), name
        for param, spec in declared.parameters.items():
            got = implemented.parameters[param]
            assert (got.kind, got.default, got.annotation) == (
                spec.kind,
                spec.default,
                spec.annotation,
            ), (name, param)
        assert implemented.return_annotation == declared.return_annotation, name
