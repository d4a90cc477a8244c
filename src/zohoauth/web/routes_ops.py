"""Operations and pages: /healthz, /readyz, /metrics, and the static files of the UI.

The pages are plain files shipped in the package (`web/static/`), read once at start-up and
served from memory: no build step, no template engine, nothing rendered from user input.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .context import web
from .errors import STORE_RETRY_AFTER, STORE_UNAVAILABLE, error_body, log
from .responses import json_response

router = APIRouter()

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_STATIC = resources.files("zohoauth.web") / "static"
#: The pages' ES modules, web/static/js/*.js, each served as /js/<name>: whatever is there is
#: what the browser runs (no build step), so the folder itself is the list.
SCRIPTS = sorted(f.name for f in (_STATIC / "js").iterdir() if f.name.endswith(".js"))
#: URL path → file in web/static. index.html loads /script.js, its entry module, which imports
#: the others from /js/; redirect.html loads /js/redirect.js and what it imports.
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/redirect.html": "redirect.html",
    "/script.js": "script.js",
    "/styles.css": "styles.css",
    "/favicon.svg": "favicon.svg",
    **{f"/js/{name}": f"js/{name}" for name in SCRIPTS},
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def load_static() -> dict[str, StaticFile]:
    """Every page, keyed by URL path (from the installed package, wheel or source tree)."""
    files: dict[str, StaticFile] = {}
    for url, name in PAGES.items():
        target = _STATIC
        for part in name.split("/"):
            target = target / part
        body = target.read_bytes()
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

    serve.__name__ = "page_" + PAGES[url].replace(".", "_").replace("/", "_")
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
    health = await web(request).auth.health()  # never raises: "not ready" is an answer
    if not health.ok:  # what failed is the operator's to read, in the log, not the caller's
        log.warning("not ready", error="store_unavailable", detail=health.message)
        return json_response(
            error_body("store_unavailable", STORE_UNAVAILABLE),
            503,
            {"Retry-After": str(STORE_RETRY_AFTER)},
        )
    return json_response({"status": "ok"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        401: {"description": "`unauthorized`: ZOHOAUTH_METRICS_TOKEN is set; send it as Bearer"},
        404: {"description": "`not_found`: the metrics are served on ZOHOAUTH_METRICS_PORT"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process (refreshes, lease waits, CRM calls, logins)."""
    ctx = web(request)
    if not ctx.metrics_here:
        return json_response(error_body("not_found", "no such page or API endpoint"), 404)
    if ctx.metrics_token and not _bearer_is(request, ctx.metrics_token):
        return json_response(
            error_body("unauthorized", _METRICS_TOKEN),
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


_METRICS_TOKEN = "the metrics need `Authorization: Bearer <ZOHOAUTH_METRICS_TOKEN>`"


def _bearer_is(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
