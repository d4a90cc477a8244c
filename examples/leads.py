"""Log a Zoho user in once, then work with their Leads on every later run.

    export ZOHOAUTH_CLIENT_ID=1000.XXXX ZOHOAUTH_CLIENT_SECRET=... \
           ZOHOAUTH_REDIRECT_URI=http://127.0.0.1:8000/redirect.html \
           ZOHOAUTH_ENCRYPTION_KEYS="$(zohoauth keys generate)"   # keep this key!
    python examples/leads.py you@example.com

The first run prints Zoho's login URL; after you accept, paste the address your browser was
sent to. The tokens are stored encrypted (SQLite in .zohoauth/ by default) and refreshed
silently from then on.
"""

from __future__ import annotations

import asyncio
import sys

from zohoauth import NotFoundError, ZohoAuth


async def main(email: str) -> None:
    async with ZohoAuth.from_settings(auto_migrate=True) as auth:
        try:
            conn = await auth.connection_for(email)
        except NotFoundError:
            pending = auth.start_login()
            print("Open this URL, log in, then paste the address you were sent to:")
            print(pending.url, flush=True)
            pasted = await asyncio.to_thread(input, "> ")
            conn = await auth.complete_login(pending, pasted.strip())
        print(f"Connected: {conn.email} in {conn.org_name} ({conn.dc})")

        crm = auth.crm(conn.id)
        async for lead in crm.iter_records("Leads", ["Last_Name", "Email"], limit=5):
            print(lead["id"], lead.get("Last_Name"), lead.get("Email"))
        [result] = await crm.create("Leads", [{"Last_Name": "Lovelace", "Company": "Engines"}])
        print("created", result["status"], result["details"]["id"])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
