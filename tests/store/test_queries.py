"""Every SQL statement of the store is built in `store/queries.py`, and the prebuilt ones bind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy.sql.expression import Executable

import zohoauth.store
from zohoauth.store import queries as q

STORE = Path(zohoauth.store.__file__).parent
#: SQLAlchemy's statement constructors; only queries.py (and the migrations' DDL) use them.
CONSTRUCTORS = {"select", "insert", "update", "delete", "text", "table", "bindparam"}


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in sorted(STORE.rglob("*.py"))
        if p.name != "queries.py" and "migrations" not in p.parts
    ],
    ids=lambda p: p.name,
)
def test_no_other_store_module_builds_a_statement(path: Path) -> None:
    imported = {
        alias.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
    }
    assert imported & CONSTRUCTORS == set()


PREBUILT = {
    name: value
    for name, value in vars(q).items()
    if name.isupper() and isinstance(value, Executable) and name in q.__all__
}


@pytest.mark.parametrize("name", sorted(PREBUILT))
def test_prebuilt_statements_take_their_values_as_bind_parameters(name: str) -> None:
    """Built once at import, so nothing call-specific may be baked in: every value a
    prebuilt statement compares with is a named bind parameter, not a literal."""
    compiled = PREBUILT[name].compile()
    baked = {
        key: bind.value
        for key, bind in compiled.binds.items()
        if not bind.expanding and bind.value is not None and not bind.required
    }
    assert baked == {}
