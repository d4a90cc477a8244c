"""Every hot-path statement is an index lookup on every engine (O(log n), not a table scan).

Structural, not timed: the database's own EXPLAIN must name an index for each statement.
Timing lives in bench/.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from zohoauth.store import queries as q
from zohoauth.store.sql import SQLTokenStore

from ..support.store import key, login

HOT_PATH = {
    "connection_with_credential": lambda cid: q.CONNECTION_WITH_CREDENTIAL.params(
        connection_id=cid
    ),
    "credential_by_key": lambda _cid: q.CREDENTIAL_BY_KEY.params(q.key_params(key("5"))),
    "find_by_email": lambda _cid: q.find_connections("user5@example.com", None, None),
    "find_by_email_and_org": lambda _cid: q.find_connections("user5@example.com", "5", None),
    "find_by_org": lambda _cid: q.find_connections(None, "5", None),
    "acquire_lease": lambda _cid: q.acquire_lease(key("5"), "w", 1.0, 60.0),
    "save_refreshed": lambda _cid: q.save_refreshed(key("5"), "w", 3, 1.0, key_id="k"),
    "release_lease": lambda _cid: q.release_lease(key("5"), "w"),
    "credentials_page": lambda _cid: q.credentials_page(key("5"), 100),
}


def _uses_index(dialect: str, plan: list[Any]) -> bool:
    if dialect == "sqlite":  # rows: (id, parent, notused, detail)
        details = [str(row[-1]) for row in plan]
        return all(not d.startswith("SCAN") or "USING" in d for d in details)
    if dialect == "postgresql":
        lines = [str(row[0]) for row in plan]
        return not any("Seq Scan" in line for line in lines)
    # MySQL/MariaDB EXPLAIN: `type` ALL is a full scan; `key` names the index used.
    return all(row._mapping["type"] != "ALL" for row in plan)


async def test_hot_path_statements_use_indexes(store: SQLTokenStore) -> None:
    for i in range(20):
        orgs = ((str(i), "A"), (str(100 + i), "B"))  # realistic selectivity: few rows per org
        conns = await login(store, key(str(i)), f"user{i}@example.com", orgs)
    connection_id = conns[0].id
    dialect = store.dialect
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    async with store.engine.connect() as conn:
        if dialect == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))  # tiny tables: judge the plan
        for name, build in HOT_PATH.items():
            sql = str(
                build(connection_id).compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                )
            )
            plan = (await conn.execute(text(explain + sql))).all()
            assert _uses_index(dialect, plan), (name, sql, plan)
