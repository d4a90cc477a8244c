"""For apps on Zoho's official Python SDK (`pip install 'zohoauth[sdk]'`).

    from zohoauth.sdk import ZohoAuthTokenStore

`ZohoAuthTokenStore` (in `token_store`) is the SDK's `TokenStore` on zohoauth's encrypted store;
it needs the SDK installed, so it is imported on first use and the SDK's file formats
(`_formats`) and the importer behind `zohoauth tokens import-sdk` (`_importer`) work without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .token_store import ZohoAuthTokenStore

__all__ = ["ZohoAuthTokenStore"]


def __getattr__(name: str) -> Any:
    if name == "ZohoAuthTokenStore":
        from .token_store import ZohoAuthTokenStore

        return ZohoAuthTokenStore
    raise AttributeError(f"module 'zohoauth.sdk' has no attribute {name!r}")
