"""The audit log's record: who (service key), which connection, when, what, and the outcome.

Never a token: `detail` holds at most a method and a CRM path (`GET crm/v8/Leads -> 200`).
Rows are written in batches by `TokenService` about once a second, off the request path, and
on shutdown; `zohoauth audit` reads them and `zohoauth audit prune` deletes old ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AuditEntry:
    key_id: str
    key_name: str
    connection_id: str | None
    action: str  # token, refresh, proxy, delete, read
    outcome: str  # "ok", or the error code the caller got
    at: float
    detail: str = ""
    id: str = field(default_factory=lambda: secrets.token_hex(16))

    def row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": self.at,
            "key_id": self.key_id,
            "key_name": self.key_name[:128],
            "connection_id": self.connection_id,
            "action": self.action,
            "outcome": self.outcome[:64],
            "detail": self.detail[:255],
        }


__all__ = ["AuditEntry"]
