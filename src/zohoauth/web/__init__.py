"""The web app: "Login with Zoho" done properly, and the CRM records of every logged-in user.

`create_app(settings | auth)` builds the FastAPI app; `app_factory()` is what `zohoauth serve`
gives uvicorn (one app per worker process). Pages live in `static/` (plain HTML, CSS and
JavaScript, no build step); the HTTP API is described in the README and served at /openapi.json.
"""

from __future__ import annotations

from .app import app_factory, create_app

__all__ = ["app_factory", "create_app"]
