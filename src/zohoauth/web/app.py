"""The web app: `create_app(settings | auth)` builds it, `app_factory()` is uvicorn's entry.

    browser ─► RequestContext (request id, headers, access log, 500 guard)
            ─► TrustedHosts (400 for a Host header not ours: DNS rebinding)
            ─► BodyLimit (413) ─► BodyTimeout (408 for a body too slow to arrive)
            ─► SessionMiddleware (the signed session cookie in, with the browser's binding id;
               out again if it changed)
            ─► CSRFMiddleware (403 on unsafe calls without proof bound to that browser)
            ─► RateLimit (429 on /login and the callback over the per-address limits)
            ─► routes: pages and ops · Login with Zoho and accounts · CRM records

The app owns the `ZohoAuth` it is given: opened on start-up, closed on shutdown. It keeps no
state of its own between requests: sessions live in signed cookies, tokens in the shared store,
so any number of workers and hosts can serve the same users (`zohoauth serve --workers N`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .. import Settings, ZohoAuth, __version__
from ..errors import ConfigError
from ..logs import configure_logging
from . import errors, routes_api_v1, routes_auth, routes_ops, routes_records
from .context import WebContext
from .csrf import CSRFMiddleware, CSRFTokens, origin_of
from .middleware import BodyLimit, BodyTimeout, RequestContext, TrustedHosts, trusted_hosts
from .ratelimit import RateLimit, parse_rate
from .server import PROTOCOL_PATH, configure, header_timeout_protocol, start_metrics_server
from .server import tune_gc as server_tune_gc
from .session import CookieCodec, SessionMiddleware

#: Request bodies above this are refused with 413 (100 records of a busy module fit easily).
MAX_BODY_BYTES = 1024 * 1024
#: Set by `zohoauth serve` so that every worker process configures logging the same way.
LOG_FORMAT_ENV = "ZOHOAUTH_LOG_FORMAT"
LOG_LEVEL_ENV = "ZOHOAUTH_LOG_LEVEL"
#: Set by `zohoauth serve --api-only`: workers mount only /api/v1 and the health checks.
API_ONLY_ENV = "ZOHOAUTH_API_ONLY"

_SECRET_HELP = (
    "ZOHOAUTH_SESSION_SECRET is not set: the web app signs its cookies with it. Generate one "
    'with `python -c "import secrets; print(secrets.token_urlsafe(32))"`, keep it secret, and '
    "give every worker and host the same value"
)


def create_app(
    settings: Settings | None = None,
    *,
    auth: ZohoAuth | None = None,
    session_secret: str | None = None,
    auto_migrate: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    api_only: bool = False,
    tune_gc: bool = False,
) -> FastAPI:
    """The FastAPI app. Pass `settings` (a `ZohoAuth` is built from them), or a ready `auth`
    plus `session_secret` (the web app's own settings, such as trusted hosts, then come from
    `settings` if given, else their defaults). Cookies are `Secure` and named `__Host-…` when
    the redirect URI is https. `api_only`: only the token service (/api/v1) and the health
    checks, no pages or browser API. `tune_gc`: once started, freeze the heap and raise the
    collector's threshold (`server.tune_gc`; `serve`'s workers, not an app inside another
    program)."""
    if auth is None:
        settings = settings or Settings.load()
        auth = ZohoAuth.from_settings(settings, auto_migrate=auto_migrate)
    options = settings if settings is not None else Settings.model_construct()
    secret = session_secret or options.session_secret.get_secret_value()
    if not secret:
        raise ConfigError(_SECRET_HELP)
    if len(secret) < 16:
        raise ConfigError("ZOHOAUTH_SESSION_SECRET is too short; use at least 32 random characters")
    redirect_uri = auth.client.redirect_uri
    secure = redirect_uri.startswith("https://")
    metrics_port = options.metrics_port
    ctx = WebContext(
        auth=auth,
        cookies=CookieCodec(secret, secure=secure),
        metrics_here=metrics_port is None,
        metrics_token=options.metrics_token.get_secret_value(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await auth.open()
        auth.service.start()  # audit log writer and webhook deliveries, in the background
        # `serve --refresher` (ZOHOAUTH_REFRESHER): tokens kept fresh from this process too.
        refresher = auth.refresher(options) if options.refresher else None
        if refresher is not None:
            refresher.start()
        if tune_gc:
            server_tune_gc(options.gc_threshold)
        try:
            stop_metrics = (
                start_metrics_server(options.metrics_host, metrics_port)
                if metrics_port is not None
                else None
            )
            try:
                yield
            finally:
                if stop_metrics is not None:
                    stop_metrics()
        finally:
            if refresher is not None:
                await refresher.aclose()  # hands back claimed rows while the store is open
            await auth.aclose()

    app = FastAPI(
        title="zohoauth web app",
        version=__version__,
        summary="Login with Zoho for many users and data centers, and their CRM records.",
        description=(
            'Errors are `{"error": "<code>", "message": "<what to do>"}`. State-changing '
            "calls need the `X-CSRF-Token` header equal to the `zohoauth_csrf` cookie "
            "(`__Host-zohoauth_csrf` when the app is served over https), except under /api/v1 "
            "(the token service), where every call carries `Authorization: Bearer <service key>` "
            "instead."
        ),
        docs_url=None,  # Swagger UI loads script from a CDN, which our CSP forbids
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = ctx
    app.state.static = routes_ops.load_static()
    errors.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.describe_validation_errors(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
    # Routes are tried in order on every request: the record calls, by far the most frequent,
    # come first (no path overlaps between the routers, so the order changes nothing else).
    if api_only:
        app.include_router(routes_api_v1.health_router)
    else:
        app.include_router(routes_records.router)
        app.include_router(routes_ops.router)
        app.include_router(routes_auth.router)
    app.include_router(routes_api_v1.router)
    # Added innermost first: the last one added runs first. The session (and so the browser's
    # binding id) is loaded before the CSRF check, which needs it; only calls that passed the
    # check count against the login rate limits.
    rates = {
        "login": parse_rate(options.login_rate_limit),
        "callback": parse_rate(options.callback_rate_limit),
    }
    app.add_middleware(RateLimit, rates=rates)
    app.add_middleware(
        CSRFMiddleware,
        tokens=CSRFTokens(secret),
        public_origin=origin_of(redirect_uri),
        secure=secure,
    )
    app.add_middleware(SessionMiddleware, cookies=ctx.cookies)
    app.add_middleware(BodyTimeout, seconds=options.body_timeout)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(TrustedHosts, hosts=trusted_hosts(options.trusted_hosts, redirect_uri))
    app.add_middleware(RequestContext, hsts=secure)
    return app


def app_factory() -> FastAPI:
    """uvicorn's `--factory` entry: each worker process builds its own app from the settings
    (`ZOHOAUTH_*` environment / `.env`) and configures logging as `zohoauth serve` asked."""
    configure_logging(
        os.environ.get(LOG_FORMAT_ENV, "console"), os.environ.get(LOG_LEVEL_ENV, "INFO")
    )
    settings = Settings.load()
    configure(settings.header_timeout)  # this worker's HeaderTimeoutProtocol (server.py)
    return create_app(settings, api_only=os.environ.get(API_ONLY_ENV) == "1", tune_gc=True)


def uvicorn_options(settings: Settings | None = None, *, factory: bool = False) -> dict[str, Any]:
    """Options every way of running the app shares: uvicorn's own logging off (our redacting
    pipeline handles its records), no access log (RequestContext writes one, without query
    strings), no server header, and slow clients timed out (server.py): idle kept-alive
    connections after `keep_alive_timeout`, request heads after `header_timeout`. `factory`:
    for `serve`, whose worker processes import the protocol class by name and set its timeout
    in `app_factory`.

    `X-Forwarded-For`/`-Proto` are believed only from the proxies `forwarded_allow_ips` names
    (`ZOHOAUTH_FORWARDED_ALLOW_IPS`, `serve --forwarded-allow-ips`). uvicorn on its own
    believes them from 127.0.0.1 (or its FORWARDED_ALLOW_IPS variable): then anyone on this
    machine could pick the client address the login rate limits count."""
    s = settings if settings is not None else Settings.model_construct()
    options: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": s.keep_alive_timeout,
        "http": PROTOCOL_PATH if factory else header_timeout_protocol(s.header_timeout),
    }
    if s.forwarded_allow_ips.strip():
        options.update(proxy_headers=True, forwarded_allow_ips=s.forwarded_allow_ips.strip())
    else:
        options["proxy_headers"] = False
    return options
