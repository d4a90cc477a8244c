"""The CRM v8 records client: async `CRMClient`, its blocking twin `SyncCRMClient`, and
`criteria` for search filters.

    async with ZohoAuth.from_settings() as auth:
        page = await auth.crm(conn_id).list_records("Leads", ["Last_Name", "Email"])

Inside: `client` (records API), `sync` (the blocking facade on a loop thread), `criteria` (safe
filter building), `_transport` (one request: token, retries, metrics), `_params` (request
parameters and their checks), `_responses` (Zoho's answers and failures to the error tree).
`check_fields` is public so that apps check field names from their users the way the client
does (ValueError naming the bad one) before anything is sent.
"""

from . import criteria
from ._params import check_fields
from .client import CRMClient, Page, Record
from .sync import SyncCRMClient

__all__ = ["CRMClient", "Page", "Record", "SyncCRMClient", "check_fields", "criteria"]
