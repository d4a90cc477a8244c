"""Helpers shared by the tests; conftest files hold only fixtures and import from here.

- `aio`: `arun`, async code from a plain test.
- `tokens`: `zoho_token()` and the shape of Zoho's tokens.
- `zoho`: a ZohoAuth wired to the emulator, logins without a browser, the emulator's counters
  and clock.
- `store`: keys, token sets and logins for the store's tests.
- `databases`: scratch databases on real servers, raw SQL, dumps of zohoauth's tables.
- `cli`: one installation's settings and the CLI run with exactly those.
- `crm`: a Self Client login and a token provider for the CRM client's tests.
- `web`: the web app on a real port and a cookie-keeping `Browser`.
- `logs`: captured log events, the app's logging setup into a buffer.
- `sdk`, `storm`, `trap`: the official SDK in a subprocess, refresh-storm worker processes,
  a server that proves nothing reached it.
"""
