"""The token manager's in-process cache, and how much of it may be believed. No I/O here.

Three maps: connection id → `Connection` (connections change only by being deleted), credential
→ its current access token (`Entry`, shared by a user's org connections), and connection id →
the answer given last (`Served`, one dict lookup on the hot path).

Another process may end a connection at any moment (logout, `zohoauth tokens delete`, revoke,
reauth-required). The cache learns it in one of two ways (`TokenManager` decides which applies):

- `trusted` — a live change feed (PostgreSQL LISTEN/NOTIFY, `store/changes.py`) calls `forget`
  within milliseconds of the commit, so an entry is good until told otherwise;
- otherwise an answer confirmed more than `recheck_interval` seconds ago is confirmed again
  from the store (status + version, one indexed read) before it is served.

`generation` counts forgets: a store read that started before one must not put what it read
back into the cache (it may be the very entry just ended), so `remember`/`keep` take the
generation seen when the read began and ignore the write when it has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass

from .credentials import Connection, CredentialKey


@dataclass(frozen=True, slots=True)
class AccessToken:
    """What a CRM call needs: the token, where to send it, and which org."""

    token: str
    api_domain: str
    expires_at: float
    connection_id: str
    org_id: str
    dc: str

    def __repr__(self) -> str:  # never show the token
        return f"AccessToken(connection_id={self.connection_id!r}, dc={self.dc!r}, ...)"


@dataclass(frozen=True, slots=True)
class Entry:
    """A credential's access token as last read or refreshed, at the credential's `version`."""

    token: str
    api_domain: str
    expires_at: float
    version: int


@dataclass(slots=True)
class Served:
    """A connection's last answer; `checked`: when the store last confirmed it (clock time)."""

    answer: AccessToken
    version: int
    checked: float


class TokenCache:
    """The three maps, forgetting by connection or credential, and the generation count."""

    def __init__(self, max_connections: int = 100_000) -> None:
        self.max_connections = max_connections
        self.connections: dict[str, Connection] = {}
        self.tokens: dict[CredentialKey, Entry] = {}
        self.served: dict[str, Served] = {}
        self._by_key: dict[CredentialKey, set[str]] = {}
        self.generation = 0

    def remember(self, conn: Connection, generation: int) -> bool:
        """Cache a connection read when `generation` was current; False if it has moved on."""
        if generation != self.generation:
            return False
        if len(self.connections) >= self.max_connections:
            self.connections.clear()
            self.served.clear()
            self._by_key.clear()
        self.connections[conn.id] = conn
        self._by_key.setdefault(conn.credential, set()).add(conn.id)
        return True

    def keep(self, key: CredentialKey, entry: Entry, generation: int) -> None:
        """Cache a credential's token read or refreshed when `generation` was current."""
        if generation == self.generation:
            self.tokens[key] = entry

    def serve(self, answer: AccessToken, version: int, checked: float, generation: int) -> None:
        """Remember the answer for its connection (still cached, nothing forgotten since)."""
        if generation == self.generation and answer.connection_id in self.connections:
            self.served[answer.connection_id] = Served(answer, version, checked)

    def forget(self, connection_id: str | None = None, key: CredentialKey | None = None) -> None:
        """Drop a connection and/or every connection and token of a credential."""
        self.generation += 1
        if connection_id is not None:
            self.served.pop(connection_id, None)
            conn = self.connections.pop(connection_id, None)
            if conn is not None:
                ids = self._by_key.get(conn.credential)
                if ids is not None:
                    ids.discard(connection_id)
                    if not ids:
                        del self._by_key[conn.credential]
                        self.tokens.pop(conn.credential, None)
        if key is not None:
            self.tokens.pop(key, None)
            for cid in self._by_key.pop(key, ()):
                self.connections.pop(cid, None)
                self.served.pop(cid, None)

    def clear(self) -> None:
        """Drop everything (the change feed (re)connected: notices may have been missed)."""
        self.generation += 1
        self.connections.clear()
        self.tokens.clear()
        self.served.clear()
        self._by_key.clear()


__all__ = ["AccessToken", "Entry", "Served", "TokenCache"]
