"""The background refresher: tokens kept fresh off the request path, broken grants found before
a user meets them (`zohoauth worker`, `zohoauth serve --refresher`).

`plan.py` decides (pure: when each credential is due, Zoho's limits, back-off), `claims.py`
claims due rows and hands them back (`FOR UPDATE SKIP LOCKED`, the request path's lease),
`worker.py` is the loop. The refresh itself is `TokenManager.refresh_leased`, the request
path's own. See docs/scaling.md for how far one database goes.
"""

from __future__ import annotations

from .plan import RefresherConfig
from .worker import BatchResult, Refresher, RefresherStats

__all__ = ["BatchResult", "Refresher", "RefresherConfig", "RefresherStats"]
