"""Operations and pages: /healthz, /readyz, /metrics, and the static files of the UI.

The pages are plain files shipped in the package (`web/static/`), read once at start-up and
served from memory: no build step, no template engine, nothing rendered from user input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..errors import ZohoAuthError
from .context import web
from .errors import error_body
from .responses import json_response

router = APIRouter()

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: URL path → file in web/static.
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/redirect.html": "redirect.html",
    "/script.js": "script.js",
    "/styles.css": "styles.css",
    "/favicon.svg": "favicon.svg",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def load_static() -> dict[str, StaticFile]:
    """Every page, keyed by URL path (from the installed package, wheel or source tree)."""
    root = resources.files("zohoauth.web") / "static"
    files: dict[str, StaticFile] = {}
    for url, name in PAGES.items():
        body = (root / name).read_bytes()
        suffix = name[name.rfind(".") :]
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        files[url] = StaticFile(body, _TYPES[suffix], etag)
    return files


def static_route(url: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        page: StaticFile = request.app.state.static[url]
        # redirect.html's URL carries a grant code: never cache it anywhere.
        cache = "no-store" if url == "/redirect.html" else "no-cache"
        headers = {"Cache-Control": cache, "ETag": page.etag}
        if request.headers.get("if-none-match") == page.etag and cache == "no-cache":
            return Response(status_code=304, headers=headers)
        return Response(page.body, media_type=page.media_type, headers=headers)

    serve.__name__ = f"page_{PAGES[url].replace('.', '_')}"
    return serve


for _url in PAGES:
    router.add_api_route(_url, static_route(_url), methods=["GET"], include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is up (liveness)."""
    return json_response({"status": "ok"})


@router.get("/readyz", responses={503: {"description": "`store_unavailable`"}})
async def readyz(request: Request) -> JSONResponse:
    """The token store answers (readiness)."""
    try:
        await web(request).auth.store.get_connection("conn_readiness_probe")
    except ZohoAuthError as exc:
        return json_response(error_body("store_unavailable", str(exc)), 503)
    except Exception as exc:  # a probe answers "not ready" for anything, never a 500
        message = f"the token store failed ({type(exc).__name__})"
        return json_response(error_body("store_unavailable", message), 503)
    return json_response({"status": "ok"})


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics of this process (refreshes, lease waits, CRM calls, logins)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
