"""zohoauth as a token service for backends in any language (docs/token-service.md).

`keys.py` service keys (pure), `ratelimit.py` a token bucket per key, `audit.py` the audit
record, `webhooks.py` signing (pure) and the delivery records, `service.py` `TokenService`,
which does the I/O and is what `ZohoAuth.service`, `zohoauth serve`'s /api/v1 and the CLI use.
"""

from __future__ import annotations

from .audit import AuditEntry
from .keys import NewServiceKey, Scope, ServiceKey
from .service import ServiceConfig, TokenService
from .webhooks import Delivery, NewWebhook, Webhook

__all__ = [
    "AuditEntry",
    "Delivery",
    "NewServiceKey",
    "NewWebhook",
    "Scope",
    "ServiceConfig",
    "ServiceKey",
    "TokenService",
    "Webhook",
]
